"""Issue 14: nothing unauthenticated, inconsistent or hostile reaches a target; every failure leaves a report.

Targets are real local services (docker-registry, Verdaccio from tests/conftest.py); the one
hand-written HTTP server below only slows transfers down, to interrupt them mid-flight.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests

from mirrorkit.bundle import ImageEntry, NpmPackage, generate_keypair, seal_bundle, verify_bundle
from mirrorkit.bundle.consistency import snapshot_npm
from mirrorkit.bundle.manifest import Manifest
from mirrorkit.bundle.signing import verify_signature
from mirrorkit.errors import BundleError
from mirrorkit.npm.index import IndexEntry, NpmIndex, write_index
from mirrorkit.ocmirror.runner import log_tail
from mirrorkit.report.openssl import FINGERPRINT_RECIPE, OPENSSL_VERIFY

ISC = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror: {}\n"


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def make_tgz(name: str, version: str, extra: int = 2000) -> bytes:
    """A real npm tarball: package/package.json plus some incompressible bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member, data in (
            ("package/package.json", json.dumps({"name": name, "version": version}).encode()),
            ("package/blob.bin", os.urandom(extra)),
        ):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def build_bundle(root: Path, key: Path | None, names: list[str], *, images: bool = False, extra: int = 2000) -> Path:
    root.mkdir(parents=True)
    (root / "imageset-config.yaml").write_text(ISC)
    entries, packages = [], []
    for name in names:
        data = make_tgz(name, "1.0.0", extra)
        path = f"{name}-1.0.0.tgz"
        (root / "npm").mkdir(exist_ok=True)
        (root / "npm" / path).write_bytes(data)
        entries.append(
            IndexEntry(name, "1.0.0", sri(data), hashlib.sha1(data).hexdigest(), len(data), path, f"https://src/{path}")
        )
        packages.append(NpmPackage(name, "1.0.0", sri(data), f"npm/{path}"))
    write_index(NpmIndex(root / "npm", tuple(entries)))
    image_entries = []
    if images:
        (root / "images").mkdir()
        (root / "images" / "mirror_000001.tar").write_bytes(os.urandom(5000))
        image_entries = [ImageEntry("quay.io/demo/app:1", "sha256:" + "b" * 64, "")]
    seal_bundle(
        root,
        profile="demo",
        imageset_config=ISC,
        npm=packages,
        images=image_entries,
        sign_key=key,
        cache_file=False,
        progress=False,
    )
    return root


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path, str]:
    return generate_keypair(tmp_path / "keys" / "k")


def unique(prefix: str = "plugin") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def served(npm_url: str, name: str) -> bool:
    return requests.get(f"{npm_url}/{name}", timeout=30).status_code == 200


# -- signatures anyone can check ---------------------------------------------------------------


def test_openssl_verifies_the_signature_pack_writes_and_recomputes_the_fingerprint(tmp_path, keys):
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl is not installed; scripts/setup.sh installs it")
    private, public, fp = keys
    bundle = build_bundle(tmp_path / "b", private, [unique()])
    assert len((bundle / "manifest.json.sig").read_bytes()) == 64  # raw Ed25519 signature
    shutil.copy(public, bundle.parent / "NAME.pub")
    cmd = OPENSSL_VERIFY.replace("NAME.pub", str(bundle.parent / "NAME.pub"))
    ok = subprocess.run(cmd, shell=True, cwd=bundle, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout, ok.stdout + ok.stderr
    manifest = bundle / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b'"demo"', b'"dem0"'))
    bad = subprocess.run(cmd, shell=True, cwd=bundle, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    recipe = subprocess.run(
        ["bash", "-c", FINGERPRINT_RECIPE.replace("NAME.pub", str(public))], capture_output=True, text=True, timeout=60
    )
    assert recipe.stdout.strip() == fp


def test_old_base64_signatures_still_verify(tmp_path, keys):
    private, public, _ = keys
    bundle = build_bundle(tmp_path / "b", private, [unique()])
    sig = bundle / "manifest.json.sig"
    sig.write_bytes(base64.b64encode(sig.read_bytes()) + b"\n")
    assert verify_bundle(bundle, verify_key=public, progress=False).ok


def test_keygen_shows_the_fingerprint_recipe(cli_run, tmp_path):
    code, out, _ = cli_run("keygen", "-o", tmp_path / "k")
    assert code == 0 and "openssl pkey -pubin" in out and str(tmp_path / "k.pub") in out


# -- authentication by default -----------------------------------------------------------------


def _forge_unsigned(bundle: Path) -> None:
    """An attacker's bundle: content changed, every checksum recomputed, the signature removed."""
    (bundle / "manifest.json.sig").unlink()
    seal_bundle(
        bundle,
        profile="evil",
        imageset_config=ISC,
        npm=Manifest.from_bytes((bundle / "manifest.json").read_bytes()).npm,
        cache_file=False,
        progress=False,
    )


def test_forged_unsigned_bundle_is_refused_and_targets_untouched(cli_run, tmp_path, keys, verdaccio, npm_token, monkeypatch):
    monkeypatch.delenv("MIRRORKIT_VERIFY_KEY", raising=False)
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    name = unique()
    bundle = build_bundle(tmp_path / "b", keys[0], [name])
    _forge_unsigned(bundle)
    out = tmp_path / "out"
    code, stdout, _ = cli_run(
        "push", bundle, "--target-registry", "127.0.0.1:9", "--target-npm", verdaccio.url, "--output", out, "-q"
    )
    assert code == 1
    assert "--allow-unsigned" in stdout and "nothing was pushed" in stdout
    assert not served(verdaccio.url, name)
    assert json.loads((out / "report.json").read_text())["ok"] is False
    code, stdout, _ = cli_run("verify", bundle)
    assert code == 1 and "--allow-unsigned" in stdout
    # the same forged bundle with the real key given: refused as unsigned, nothing parsed beyond the signature
    code, stdout, _ = cli_run("verify", bundle, "--verify-key", keys[1])
    assert code == 1 and "no signature" in stdout


def test_allow_unsigned_pushes_and_keeps_the_warning(cli_run, tmp_path, verdaccio, npm_token, monkeypatch):
    monkeypatch.delenv("MIRRORKIT_VERIFY_KEY", raising=False)
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    name = unique()
    bundle = build_bundle(tmp_path / "b", None, [name])
    out = tmp_path / "out"
    code, stdout, err = cli_run(
        "push",
        bundle,
        "--target-registry",
        "127.0.0.1:9",
        "--target-npm",
        verdaccio.url,
        "--output",
        out,
        "-q",
        "--allow-unsigned",
    )
    assert code == 0, stdout + err
    assert served(verdaccio.url, name)
    report = json.loads((out / "report.json").read_text())
    assert any(i["category"] == "signature" and i["status"] == "warning" for i in report["items"])


# -- consistency inside a signed bundle --------------------------------------------------------


@pytest.mark.parametrize("change", ["integrity", "extra entry", "missing entry", "shasum"])
def test_resigned_inconsistent_npm_index_is_refused(change, cli_run, tmp_path, keys, verdaccio, npm_token, monkeypatch):
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    names = [unique(), unique()]
    bundle = build_bundle(tmp_path / "b", keys[0], names)
    index_path = bundle / "npm" / "index.json"
    doc = json.loads(index_path.read_text())
    if change == "integrity":
        doc["packages"][0]["integrity"] = sri(b"other bytes")
    elif change == "shasum":
        doc["packages"][0]["shasum"] = "0" * 40
    elif change == "extra entry":
        extra = dict(doc["packages"][0], name=unique("smuggled"))
        doc["packages"].append(extra)
    else:
        doc["packages"].pop()
    index_path.write_text(json.dumps(doc))
    manifest = Manifest.from_bytes((bundle / "manifest.json").read_bytes())
    seal_bundle(bundle, profile="demo", imageset_config=ISC, npm=manifest.npm, sign_key=keys[0], cache_file=False, progress=False)
    code, stdout, _ = cli_run("verify", bundle, "--verify-key", keys[1])
    assert code == 1 and "FAILED npm-index" in stdout, stdout
    code, stdout, _ = cli_run(
        "push",
        bundle,
        "--target-registry",
        "127.0.0.1:9",
        "--target-npm",
        verdaccio.url,
        "--verify-key",
        keys[1],
        "--output",
        tmp_path / "out",
        "-q",
    )
    assert code == 1 and "nothing was pushed" in stdout
    assert not any(served(verdaccio.url, n) for n in names)


def test_push_publishes_the_bytes_it_verified(tmp_path, keys):
    """No check-then-use: a tarball swapped after verification is refused when copied for publishing."""
    bundle = build_bundle(tmp_path / "b", keys[0], [unique()])
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    assert report.ok
    manifest = Manifest.from_bytes((bundle / "manifest.json").read_bytes())
    tarball = next((bundle / "npm").glob("*.tgz"))
    tarball.write_bytes(make_tgz("swapped", "1.0.0"))
    with pytest.raises(BundleError, match="does not agree"):
        snapshot_npm(bundle, manifest, tmp_path / "copy")
    assert not list((tmp_path / "copy").glob("*.tgz")) if (tmp_path / "copy").exists() else True


# -- pre-flight before any write ---------------------------------------------------------------


def _push(cli_run, bundle: Path, out: Path, npm_url: str, pub: Path, registry: str = "127.0.0.1:9", *extra: str):
    return cli_run(
        "push",
        bundle,
        "--target-registry",
        registry,
        "--target-npm",
        npm_url,
        "--verify-key",
        pub,
        "--output",
        out,
        "--no-tls-verify",
        "-q",
        *extra,
    )


def _preflight_failures(out: Path) -> list[dict]:
    report = json.loads((out / "report.json").read_text())
    return [i for i in report["items"] if i["category"] == "preflight" and i["status"] == "failed"]


def test_unreachable_npm_server_is_found_before_any_write(cli_run, tmp_path, keys, monkeypatch):
    monkeypatch.setenv("NPM_TOKEN", "whatever")
    bundle = build_bundle(tmp_path / "b", keys[0], [unique()])
    out = tmp_path / "out"
    started = time.monotonic()
    code, stdout, _ = _push(cli_run, bundle, out, "http://127.0.0.1:9", keys[1])
    assert code == 1 and time.monotonic() - started < 20
    assert "pre-flight" in stdout and len([line for line in stdout.splitlines() if line.startswith("FAILED ")]) == 1
    assert [i["subject"] for i in _preflight_failures(out)] == ["npm server http://127.0.0.1:9"]
    # nothing but the report (and the SBOM it links to, copied beside it)
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "report.md", "sbom.cdx.json"]


def test_bad_npm_token_is_found_before_any_write(cli_run, tmp_path, keys, verdaccio, monkeypatch):
    monkeypatch.setenv("NPM_TOKEN", "not-a-token-the-server-knows")
    name = unique()
    bundle = build_bundle(tmp_path / "b", keys[0], [name])
    out = tmp_path / "out"
    code, stdout, _ = _push(cli_run, bundle, out, verdaccio.url, keys[1])
    assert code == 1 and "--npm-token" in stdout and "not-a-token" not in stdout
    assert [i["actual"] for i in _preflight_failures(out)] == ["refused"]
    assert not served(verdaccio.url, name)


def test_npm_body_limit_too_small_is_found_before_any_write(cli_run, tmp_path, keys, verdaccio_factory, monkeypatch):
    small = verdaccio_factory(max_body_size="50kb")
    monkeypatch.setenv("NPM_TOKEN", small.add_user("bastion", "pw-bastion-long"))
    name = unique()
    bundle = build_bundle(tmp_path / "b", keys[0], [name], extra=200_000)
    out = tmp_path / "out"
    code, stdout, _ = _push(cli_run, bundle, out, small.url, keys[1])
    assert code == 1 and "max_body_size" in stdout
    assert not served(small.url, name)


def test_registry_refusing_the_credentials_is_found_before_any_write(
    cli_run, tmp_path, keys, registry_factory, verdaccio, npm_token, monkeypatch
):
    from tests.services.htpasswd import write_htpasswd

    guarded = registry_factory(htpasswd=write_htpasswd(tmp_path / "htpasswd", {"admin": "right-password"}))
    authfile = tmp_path / "auth.json"
    wrong = base64.b64encode(b"admin:wrong-password").decode()
    authfile.write_text(json.dumps({"auths": {guarded.host: {"auth": wrong}}}))
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    name = unique()
    bundle = build_bundle(tmp_path / "b", keys[0], [name], images=True)
    out = tmp_path / "out"
    code, stdout, _ = _push(cli_run, bundle, out, verdaccio.url, keys[1], guarded.host, "--authfile", str(authfile))
    assert code == 1 and "refused" in stdout and "wrong-password" not in stdout
    assert [i["subject"] for i in _preflight_failures(out)] == [f"registry {guarded.host}"]
    assert not served(verdaccio.url, name)


def test_too_little_disk_for_oc_mirror_is_found_before_any_write(cli_run, tmp_path, keys, verdaccio, npm_token, monkeypatch):
    import mirrorkit.preflight as preflight

    real = shutil.disk_usage
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda p: real(p)._replace(free=10))
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    bundle = build_bundle(tmp_path / "b", keys[0], [unique()], images=True)
    out = tmp_path / "out"
    code, stdout, _ = _push(cli_run, bundle, out, verdaccio.url, keys[1])
    assert code == 1 and "disk" in stdout and "--cache-dir" in stdout


def test_a_failure_after_preflight_still_writes_the_report(cli_run, tmp_path, keys, verdaccio, npm_token, monkeypatch):
    """The target already has the version with other bytes: publishing fails, the report says so."""
    monkeypatch.setenv("NPM_TOKEN", npm_token)
    name = unique()
    other = build_bundle(tmp_path / "other", keys[0], [name])
    code, stdout, err = _push(cli_run, other, tmp_path / "first", verdaccio.url, keys[1])
    assert code == 0, stdout + err
    bundle = build_bundle(tmp_path / "b", keys[0], [name])  # same name@version, other bytes
    out = tmp_path / "out"
    code, stdout, err = _push(cli_run, bundle, out, verdaccio.url, keys[1])
    assert code == 1 and "different content" in err
    assert err.count(f"{name}@1.0.0: {name}@1.0.0") == 0  # never repeated
    report = json.loads((out / "report.json").read_text())
    assert any(
        i["category"] == "push" and i["status"] == "failed" and "different content" in i["detail"] for i in report["items"]
    )
    assert any(i["category"] == "written" for i in report["items"])


# -- hostile and huge input --------------------------------------------------------------------


@pytest.mark.parametrize("content", ["deep", "huge"])
def test_hostile_manifests_are_refused_fast_with_short_output(content, cli_run, tmp_path):
    bundle = tmp_path / "b"
    bundle.mkdir()
    if content == "deep":
        data = b"[" * 200_000
    else:  # 500,000 entries
        entry = '{"path":"images/f%07d","size":1,"sha256":"' + "0" * 64 + '"}'
        data = (
            '{"format":"mirrorkit-bundle","format_version":1,"files":[' + ",".join(entry % n for n in range(500_000)) + "]}"
        ).encode()
    (bundle / "manifest.json").write_bytes(data)
    started = time.monotonic()
    code, stdout, err = cli_run("verify", bundle, "--allow-unsigned", "--report", tmp_path / "rep")
    assert time.monotonic() - started < 1.0
    assert code == 1 and "internal error" not in err
    assert len(stdout.splitlines()) <= 4 and len(stdout) < 2000, stdout
    assert ("nested" if content == "deep" else "MiB") in stdout
    assert (tmp_path / "rep" / "report.json").is_file()


def test_long_failure_lists_are_summarised(cli_run, tmp_path, keys):
    bundle = build_bundle(tmp_path / "b", keys[0], [unique()])
    for n in range(45):
        (bundle / "npm" / f"extra-{n}.bin").write_bytes(b"x")
    code, stdout, _ = cli_run("verify", bundle, "--verify-key", keys[1], "--report", tmp_path / "rep")
    assert code == 1
    assert len([line for line in stdout.splitlines() if line.startswith("FAILED ")]) == 20
    assert "... and 25 more" in stdout
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert report["summary"]["failed"] == 45


def test_profile_strings_in_reports_are_capped(tmp_path, keys):
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "imageset-config.yaml").write_text(ISC)
    seal_bundle(bundle, profile="p" * 100_000, imageset_config=ISC, sign_key=keys[0], cache_file=False, progress=False)
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    assert report.ok and len(report.identity.profile) <= 300


# -- faults ------------------------------------------------------------------------------------


class _Slow(BaseHTTPRequestHandler):
    """An npm server that drips tarballs and reads uploads slowly (fault injection: time)."""

    names: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.strip("/").split("/")[0]
        if "/-/" in self.path:
            self.send_response(200)
            self.send_header("Content-Length", str(10_000_000))
            self.end_headers()
            try:
                for _ in range(10_000):
                    self.wfile.write(b"x" * 1000)
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
            return
        if name not in self.names:
            self.send_response(404)
            self.end_headers()
            return
        host = f"http://{self.headers['Host']}"
        doc = {
            "name": name,
            "dist-tags": {"latest": "1.0.0"},
            "versions": {"1.0.0": {"dist": {"tarball": f"{host}/{name}/-/{name}-1.0.0.tgz", "shasum": "0" * 40}}},
        }
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        try:
            left = int(self.headers.get("Content-Length", "0"))
            while left > 0:
                left -= len(self.rfile.read(min(left, 1000)))
                time.sleep(0.05)
        except OSError:
            return
        self.send_response(201)
        self.end_headers()


@pytest.fixture()
def slow_npm():
    _Slow.names = [f"slow-{n}" for n in range(6)]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _interrupt_after(proc: subprocess.Popen[str], seconds: float) -> tuple[float, str]:
    time.sleep(seconds)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = proc.communicate(timeout=30)
    return time.monotonic() - started, err


def test_ctrl_c_during_npm_pull_stops_within_2s_and_keeps_nothing_half_written(slow_npm, tmp_path):
    out = tmp_path / "mirror"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrorkit", "npm", "pull", *_Slow.names, "--source-npm", slow_npm, "-o", str(out), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    took, err = _interrupt_after(proc, 1.5)
    assert took < 2.0, f"took {took:.1f}s to stop"
    assert proc.returncode == 130 and "run the same command again" in err.lower(), err
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")], "a half-written download was left"


def test_ctrl_c_during_npm_publish_stops_within_2s(slow_npm, tmp_path):
    mirror = tmp_path / "mirror"
    entries = []
    for n in range(6):
        name = f"pub-{n}"
        data = make_tgz(name, "1.0.0", 3_000_000)
        (mirror / f"{name}-1.0.0.tgz").parent.mkdir(parents=True, exist_ok=True)
        (mirror / f"{name}-1.0.0.tgz").write_bytes(data)
        entries.append(IndexEntry(name, "1.0.0", sri(data), hashlib.sha1(data).hexdigest(), len(data), f"{name}-1.0.0.tgz", ""))
    write_index(NpmIndex(mirror, tuple(entries)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrorkit", "npm", "publish", str(mirror), "--target-npm", slow_npm, "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    took, err = _interrupt_after(proc, 1.5)
    assert took < 2.0, f"took {took:.1f}s to stop"
    assert proc.returncode == 130 and "run the same command again" in err.lower(), err


def test_oc_mirror_failure_shows_the_log_tail(tmp_path):
    from mirrorkit.ocmirror.result import MirrorResult

    log = tmp_path / "oc-mirror.log"
    log.write_text(
        "# mirrorkit ran: oc-mirror ...\n"
        + "info: copying\n" * 50
        + "error: write /cache/blobs/sha256/ab: no space left on device\n"
        + "info: cleaning up\n"
    )
    assert any("no space left on device" in line for line in log_tail(log))
    result = MirrorResult("diskToMirror", 1, None, (), (), (), (), log, tmp_path, 1.0)
    assert "no space left on device" in result.summary


def test_signature_of_64_raw_bytes_is_checked_not_decoded(keys):
    from mirrorkit.bundle.signing import load_public_key, sign

    content, _ = sign(b"manifest\n", keys[0])
    assert len(content) == 64 and verify_signature(b"manifest\n", content, load_public_key(keys[1]))
