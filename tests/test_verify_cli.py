"""`mirrorkit verify` on the command line: exit codes, messages, --json and --report."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mirrorkit.bundle import generate_keypair, seal_bundle


@pytest.fixture()
def sealed(tmp_path: Path):
    root = tmp_path / "bundle"
    (root / "images").mkdir(parents=True)
    (root / "images" / "mirror_000001.tar").write_bytes(b"archive" * 1000)
    (root / "imageset-config.yaml").write_text("kind: ImageSetConfiguration\n")
    private, public, fp = generate_keypair(tmp_path / "k")
    seal_bundle(root, profile="demo", sign_key=private, cache_file=False, progress=False)
    return root, public, fp


def test_verify_ok(cli_run, sealed):
    root, public, fp = sealed
    code, out, err = cli_run("verify", root, "--verify-key", public)
    assert code == 0, out + err
    assert f"signed by {fp}" in out and out.strip().splitlines()[-1].startswith("OK: ")


def test_verify_without_key_refuses_in_one_line(cli_run, sealed, monkeypatch):
    monkeypatch.delenv("MIRRORKIT_VERIFY_KEY", raising=False)
    code, out, _ = cli_run("verify", sealed[0])
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1 and "signature" in failed[0]
    assert "--verify-key" in failed[0] and "MIRRORKIT_VERIFY_KEY" in failed[0] and "--allow-unsigned" in failed[0]


def test_verify_without_key_allow_unsigned_warns_unauthenticated(cli_run, sealed, monkeypatch):
    monkeypatch.delenv("MIRRORKIT_VERIFY_KEY", raising=False)
    code, out, _ = cli_run("verify", sealed[0], "--allow-unsigned")
    assert code == 0
    assert "WARNING signature" in out and "UNAUTHENTICATED" in out


def test_verify_key_defaults_from_the_environment(cli_run, sealed, monkeypatch):
    root, public, fp = sealed
    monkeypatch.setenv("MIRRORKIT_VERIFY_KEY", str(public))
    code, out, _ = cli_run("verify", root)
    assert code == 0, out
    assert f"signed by {fp}" in out
    monkeypatch.setenv("MIRRORKIT_VERIFY_KEY", str(public) + ".missing")
    code, _, err = cli_run("verify", root)
    assert code == 2 and "MIRRORKIT_VERIFY_KEY" in err


def test_tampered_archive_exit_1_names_file_expected_actual(cli_run, sealed, tmp_path: Path):
    root, public, _ = sealed
    p = root / "images" / "mirror_000001.tar"
    p.write_bytes(b"Archive" + p.read_bytes()[7:])
    code, out, _ = cli_run("verify", root, "--verify-key", public, "--report", tmp_path / "rep")
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("FAILED"))
    assert "images/mirror_000001.tar" in line and "expected size 7000, sha256" in line and "actual size 7000" in line
    html = (tmp_path / "rep" / "report.html").read_text()
    HTMLParser().feed(html)
    assert "images/mirror_000001.tar" in html and "FAILED" in html
    doc = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert doc["ok"] is False and doc["items"][0]["subject"] == "images/mirror_000001.tar"


def test_verify_json_output(cli_run, sealed):
    root, public, fp = sealed
    code, out, _ = cli_run("verify", root, "--verify-key", public, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is True and doc["signer_fingerprint"] == fp
    assert doc["bundle"]["profile"] == "demo"


def test_verify_missing_bundle_is_input_error(cli_run, tmp_path: Path):
    code, _, err = cli_run("verify", tmp_path / "nope")
    assert code == 2 and "does not exist" in err


def test_verify_parts_and_reassemble(cli_run, tmp_path: Path):
    import shutil

    root = tmp_path / "bundle"
    (root / "images").mkdir(parents=True)
    (root / "images" / "mirror_000001.tar").write_bytes(bytes(range(256)) * 300)
    private, public, _ = generate_keypair(tmp_path / "k")
    seal_bundle(root, sign_key=private, split_size=20_000, cache_file=False, progress=False)
    carried = tmp_path / "carried"
    carried.mkdir()
    for name in ("manifest.json", "manifest.json.sig"):
        shutil.copy(root / name, carried / name)
    shutil.copytree(root / "parts", carried / "parts")
    code, out, err = cli_run("verify", carried, "--verify-key", public, "--reassemble", tmp_path / "tree")
    assert code == 0, out + err
    assert (tmp_path / "tree" / "images" / "mirror_000001.tar").read_bytes() == (
        root / "images" / "mirror_000001.tar"
    ).read_bytes()
    code, _, err = cli_run("verify", root, "--verify-key", public, "--reassemble", tmp_path / "tree")
    assert code == 2 and "already exists" in err


@pytest.mark.parametrize(
    "args",
    [
        ("verify", "{b}", "--report", "{b}/reports"),
        ("verify", "{b}", "--reassemble", "{b}"),
        ("push", "{b}", "--target-registry", "127.0.0.1:9", "--target-npm", "http://127.0.0.1:9", "--output", "{b}/install"),
        ("push", "{b}", "--target-registry", "127.0.0.1:9", "--target-npm", "http://127.0.0.1:9", "--output", "{b}"),
        (
            "push",
            "{b}",
            "--target-registry",
            "127.0.0.1:9",
            "--target-npm",
            "http://127.0.0.1:9",
            "--output",
            "{t}/out",
            "--cache-dir",
            "{b}/images/cache",
        ),
    ],
)
def test_nothing_is_ever_written_inside_the_bundle(cli_run, sealed, args):
    root, public, _ = sealed
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    code, out, err = cli_run(*(a.format(b=root, t=root.parent) for a in args))
    assert code == 2 and "is inside the bundle" in err, out + err
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    assert cli_run("verify", root, "--verify-key", public)[0] == 0


def test_push_refuses_a_garbage_registry_before_reading_the_bundle(cli_run, sealed, tmp_path):
    root, _public, _ = sealed
    code, _out, err = cli_run(
        "push",
        root,
        "--target-registry",
        "https://not a host",
        "--target-npm",
        "http://127.0.0.1:9",
        "--output",
        tmp_path / "out",
        "-q",
    )
    assert code == 2 and "--target-registry: scheme https:// is not docker://" in err and not (tmp_path / "out").exists()
