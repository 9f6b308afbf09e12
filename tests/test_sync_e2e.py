"""The partially disconnected flow end to end (issue 27): `mirrorkit sync` on the curated profile's
content (an FBC catalog, Helm charts from a Helm repository over HTTP, additional images, npm
plugins), real registries and Verdaccio servers, the oc-mirror double, driven through the CLI.

The point is sameness: sync and pack + push run on the same content into two pairs of empty targets
must leave the same images in the registries and write the same values.yaml, ConfigMap, cluster
resources, charts and INSTALL.md, and their reports must pass the same target checks. The only
differences allowed are the ones that name the run: the target hosts, the output folder, the
manifest (a signed bundle against an unsigned record) and the runbook's lines that name the bundle
or the record and the command that wrote it.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from mirrorkit.oci.reference import ImageReference
from tests.test_e2e_orchestrator import (  # noqa: F401 (the module's fixtures, shared)
    Packed,
    _push,
    helm_flow,
    in_target,
    keys,
    mirrorkit,
    operator_flow,
    sources,
)

pytestmark = pytest.mark.integration

#: The categories of a push report that check the bundle itself (sync has no bundle to check).
BUNDLE_CATEGORIES = {"signature", "manifest", "file", "npm-index", "archive", "chart", "sbom", "part", "part-file"}


@dataclass(frozen=True)
class Run:
    out: Path
    registry: str
    npm: str
    report: dict


def _sync(packed: Packed, target, target_npm, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**packed.env, "NPM_TOKEN": target_npm.add_user("bastion", "pw-bastion")}
    return mirrorkit(
        "sync",
        "--profile",
        str(packed.profile),
        "--install",
        packed.install,
        "--target-registry",
        f"{target.host}/mirror",
        "--target-npm",
        target_npm.url,
        "--output",
        str(out),
        "--no-tls-verify",
        "-q",
        *extra,
        env=env,
    )


def _both(packed: Packed, registry_factory, verdaccio_factory, tmp_path: Path) -> tuple[Run, Run]:
    """pack + push (the module fixture's bundle) and sync, each into its own empty targets."""
    a_reg, a_npm, b_reg, b_npm = registry_factory(), verdaccio_factory(), registry_factory(), verdaccio_factory()
    pushed = Run(tmp_path / "pushed", a_reg.host, a_npm.url, _push(packed, a_reg, a_npm, tmp_path / "pushed"))
    proc = _sync(packed, b_reg, b_npm, tmp_path / "synced")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    synced = Run(tmp_path / "synced", b_reg.host, b_npm.url, json.loads((tmp_path / "synced" / "report.json").read_text()))
    return pushed, synced


def _normal(text: str, run: Run) -> str:
    """*text* with what names the run replaced: the target hosts, the npm token, the output folder, the
    Operator flow's random backend secret and the time (oc-mirror stamps its cluster resources)."""
    text = text.replace(run.npm, "NPM").replace(run.npm.split("//", 1)[1], "NPM").replace(run.registry, "REGISTRY")
    text = re.sub(r"_authToken=\S+", "_authToken=TOKEN", text.replace(str(run.out), "OUT"))  # each server's own token
    text = re.sub(r"(BACKEND_SECRET): \S+", r"\1: RANDOM", text)  # made afresh for every install folder
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME", text)


def _install_files(run: Run) -> dict[str, str]:
    """Every file push or sync wrote for the administrator (not the reports or the record), normalised."""
    out = {}
    for path in sorted(run.out.rglob("*")):
        rel = path.relative_to(run.out).as_posix()
        if not path.is_file() or rel.startswith(("report", ".mirrorkit", "release/")):
            continue
        data = path.read_bytes()
        out[rel] = _normal(data.decode(), run) if not rel.endswith(".tgz") else data.hex()
    return out


def _runbook_differences(pushed: str, synced: str) -> list[tuple[str, str]]:
    return [(a, b) for a, b in zip(pushed.splitlines(), synced.splitlines(), strict=True) if a != b]


def _target_checks(report: dict, run: Run) -> set[tuple[str, str, str]]:
    """Every check of the targets, as (category, subject, status). The disk check is one item per
    file system whose subject lists the folders: push also needs room for oc-mirror to unpack the
    archives (--cache-dir), mirror to mirror does not, so only that it was checked is compared."""

    def subject(item: dict) -> str:
        return "disk" if item["subject"].startswith("disk (") else _normal(item["subject"], run)

    return {(i["category"], subject(i), i["status"]) for i in report["items"] if i["category"] not in BUNDLE_CATEGORIES}


def _assert_same(pushed: Run, synced: Run) -> None:
    assert synced.report["ok"] is True, [i for i in synced.report["items"] if i["status"] != "passed"]
    files_pushed, files_synced = _install_files(pushed), _install_files(synced)
    assert sorted(files_synced) == sorted(files_pushed)
    for name, text in files_pushed.items():
        if name == "sbom.cdx.json":  # the same components; the metadata names the bundle or the record
            a, b = json.loads(text), json.loads(files_synced[name])
            assert (b["components"], b["dependencies"]) == (a["components"], a["dependencies"])
        elif name != "INSTALL.md":
            assert files_synced[name] == text, f"{name} differs between pack + push and sync"
    # INSTALL.md: the same runbook; only the lines that name the bundle or the record differ
    differences = _runbook_differences(files_pushed["INSTALL.md"], files_synced["INSTALL.md"])
    assert len(differences) == 4, differences
    (head_p, head_s), (carried_p, carried_s), (where_p, where_s), (verify_p, verify_s) = differences
    assert head_p.startswith("Written by `mirrorkit push` for bundle")
    assert head_s.startswith("Written by `mirrorkit sync` for the release recorded in `release/`")
    assert carried_p.replace("The bundle", "The release").replace("push report", "sync report") == carried_s
    assert "bundle at hand" in where_p and "release record in `release/`" in where_s
    assert "--verify-key" in verify_p and "mirrorkit verify OUT/release --allow-unsigned" in verify_s
    # the report: the same target checks with the same results (push's bundle checks aside)
    checks_pushed, checks_synced = _target_checks(pushed.report, pushed), _target_checks(synced.report, synced)
    assert checks_synced == checks_pushed
    assert {c for c, _s, _r in checks_synced} >= {"preflight", "target", "target-tags", "image", "npm"}
    assert not [i for i in synced.report["items"] if i["category"] == "plan"], "the plan and oc-mirror's mapping agree"
    assert synced.report["summary"]["failed"] == 0


def _verify_as_runbook_says(run: Run, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The runbook's last step, run as written from the output folder."""
    text = (run.out / "INSTALL.md").read_text()
    (line,) = [ln for ln in text.splitlines() if ln.startswith("mirrorkit verify ")]
    argv = shlex.split(line)[1:]
    return subprocess.run(
        [sys.executable, "-m", "mirrorkit", *argv],
        env=env,
        cwd=run.out,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_sync_gives_the_same_images_install_files_runbook_and_checks_as_pack_and_push(
    helm_flow, registry_factory, verdaccio_factory, tmp_path
):
    pushed, synced = _both(helm_flow, registry_factory, verdaccio_factory, tmp_path)
    _assert_same(pushed, synced)
    manifest = helm_flow.manifest
    for image in manifest.images:  # every image of the bundle is in sync's registry by digest, under the same path
        if image.kind == "catalog":
            continue  # the rebuilt catalog: its digest is the run's own (checked by the target items)
        assert in_target(synced.registry, f"{ImageReference.parse(image.source).name}@{image.digest}"), image.source
    record = json.loads((synced.out / "release" / "manifest.json").read_text())
    assert sorted(i["digest"] for i in record["images"] if i["kind"] != "catalog") == sorted(
        i.digest for i in manifest.images if i.kind != "catalog"
    )
    assert not list((synced.out / "release").rglob("mirror_*.tar"))  # no image archive on disk
    proc = _verify_as_runbook_says(synced, helm_flow.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^OK: ", proc.stdout, re.M), proc.stdout


def test_sync_in_the_operator_flow_matches_pack_and_push_too(operator_flow, registry_factory, verdaccio_factory, tmp_path):
    pushed, synced = _both(operator_flow, registry_factory, verdaccio_factory, tmp_path)
    _assert_same(pushed, synced)
    assert not (synced.out / "charts").exists()
    resources = yaml.safe_load_all((synced.out / "operator" / "backstage.yaml").read_text())
    assert any(doc and doc.get("kind") == "Backstage" for doc in resources)


def test_sync_again_finishes_without_copying_anything_new(helm_flow, registry_factory, verdaccio_factory, tmp_path):
    target, target_npm = registry_factory(), verdaccio_factory()
    first = _sync(helm_flow, target, target_npm, tmp_path / "out")
    assert first.returncode == 0, first.stdout + first.stderr
    tags = requests.get(f"http://{target.host}/v2/_catalog", timeout=30).json()
    again = _sync(helm_flow, target, target_npm, tmp_path / "out")
    assert again.returncode == 0, again.stdout + again.stderr
    assert requests.get(f"http://{target.host}/v2/_catalog", timeout=30).json() == tags
    assert json.loads((tmp_path / "out" / "report.json").read_text())["ok"] is True


def test_sync_refuses_before_mirroring_when_the_npm_server_is_dead(helm_flow, registry_factory, tmp_path):
    target = registry_factory()
    proc = mirrorkit(
        "sync",
        "--profile",
        str(helm_flow.profile),
        "--target-registry",
        f"{target.host}/mirror",
        "--target-npm",
        "http://127.0.0.1:9",
        "--output",
        str(tmp_path / "out"),
        "--no-tls-verify",
        "-q",
        env=helm_flow.env,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "nothing was mirrored" in proc.stdout
    assert requests.get(f"http://{target.host}/v2/_catalog", timeout=30).json()["repositories"] == []
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    failed = [i for i in report["items"] if i["status"] == "failed"]
    assert failed and all(i["category"] == "preflight" for i in failed)
    assert any("127.0.0.1:9" in i["subject"] for i in failed)


def test_a_sync_that_fails_while_mirroring_writes_its_report_and_resumes(
    helm_flow, registry_factory, verdaccio_factory, tmp_path, monkeypatch, cli_run
):
    import mirrorkit.sync as syncing
    from mirrorkit.errors import MirrorError

    monkeypatch.setenv("PATH", helm_flow.env["PATH"])
    monkeypatch.setenv("XDG_CACHE_HOME", helm_flow.env["XDG_CACHE_HOME"])
    target, target_npm = registry_factory(), verdaccio_factory()
    monkeypatch.setenv("NPM_TOKEN", target_npm.add_user("bastion", "pw-bastion"))
    args = ("sync", "--profile", helm_flow.profile, "--target-registry", f"{target.host}/mirror", "--target-npm", target_npm.url)
    args += ("--output", tmp_path / "out", "--no-tls-verify", "-q")

    def dies(*_args, **_kwargs):  # oc-mirror failing mid-run (the registry died, say)
        raise MirrorError("oc-mirror gave up after 3 attempts per image", hint="run sync again")

    real = syncing.mirror_to_mirror
    monkeypatch.setattr(syncing, "mirror_to_mirror", dies)
    code, _out, err = cli_run(*args)
    assert code == 1 and "oc-mirror gave up" in err and len(err.strip().splitlines()) == 1, err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["title"] == "mirrorkit sync: FAILED (see the sync item)"
    (failed,) = [i for i in report["items"] if i["status"] == "failed"]
    assert failed["category"] == "sync" and "mirror-to-mirror" in failed["subject"] and "oc-mirror gave up" in failed["detail"]
    (rest,) = [i for i in report["items"] if i["subject"] == "the rest of the install files"]
    assert "run sync again" in rest["detail"]
    assert not (tmp_path / "out" / "INSTALL.md").exists()

    monkeypatch.setattr(syncing, "mirror_to_mirror", real)
    code, out, err = cli_run(*args)
    assert code == 0, out + err
    assert json.loads((tmp_path / "out" / "report.json").read_text())["ok"] is True
    assert (tmp_path / "out" / "INSTALL.md").is_file()
