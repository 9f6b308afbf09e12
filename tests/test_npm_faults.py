"""Fault injection: a tiny local npm server that misbehaves on purpose (tampered bytes, wrong integrity,
5xx, connection resets, 401, 409, 413). Every failure must name the package and the reason and leave
nothing half-written behind."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mirrorkit.http import RetryPolicy
from mirrorkit.npm import NpmSettings, publish_packages, pull_packages, read_index
from tests.services.npmpkg import NpmTarball, make_tarball

FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02, timeout=(5, 5))
TOKEN = "s3cr3t-token-value-123"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    reset_after: int | None = None  # send this many bytes of body, then drop the connection


@dataclass
class FakeNpm:
    """Routes map 'METHOD path' to a queue of replies; the last reply repeats."""

    url: str = ""
    routes: dict[str, list[Reply]] = field(default_factory=dict)
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[f"{method} {path}"] = list(replies)

    def next_reply(self, method: str, path: str) -> Reply:
        with self.lock:
            queue = self.routes.get(f"{method} {path}")
            if not queue:
                return Reply(404, b'{"error":"not found"}')
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def hits(self, method: str, path: str) -> int:
        return sum(1 for m, p, _, _ in self.seen if (m, p) == (method, path))

    # helpers to describe packages
    def serve_package(
        self,
        tarball: NpmTarball,
        *,
        integrity: str | None = None,
        shasum: str | None = None,
        tarball_replies: tuple[Reply, ...] | None = None,
    ) -> str:
        name = tarball.name
        escaped = name.replace("/", "%2f")
        tar_path = f"/{name}/-/{tarball.filename}"
        doc = {
            "name": name,
            "dist-tags": {"latest": tarball.version},
            "versions": {
                tarball.version: {
                    "name": name,
                    "version": tarball.version,
                    "dist": {
                        "tarball": self.url + tar_path,
                        "integrity": integrity or tarball.integrity,
                        "shasum": shasum or tarball.shasum,
                    },
                }
            },
        }
        self.on("GET", f"/{escaped}", Reply(body=json.dumps(doc).encode()))
        self.on("GET", tar_path, *(tarball_replies or (Reply(body=tarball.data, content_type="application/octet-stream"),)))
        return tar_path


@pytest.fixture
def fake_npm() -> Iterator[FakeNpm]:
    fake = FakeNpm()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def handle_any(self) -> None:
            self.path = self.path.replace("%2F", "%2f")  # requests upper-cases escapes
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with fake.lock:
                fake.seen.append((self.command, self.path, dict(self.headers), body))
            reply = fake.next_reply(self.command, self.path)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            if reply.reset_after is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            if reply.reset_after is not None:
                self.wfile.write(reply.body[: reply.reset_after])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(reply.body)

        do_GET = do_PUT = handle_any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def settings_for(fake: FakeNpm, token: str | None = None) -> NpmSettings:
    return NpmSettings.load(registry=fake.url, token=token, env={"HOME": "/nonexistent"})


def leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.name.endswith(".part")]


def test_tampered_tarball_fails_that_package_only(fake_npm, tmp_path):
    good = make_tarball("@acme/good", "1.0.0", payload_size=5000)
    bad = make_tarball("@acme/bad", "1.0.0", payload_size=5000)
    tampered = bytearray(bad.data)
    tampered[-10] ^= 0xFF
    fake_npm.serve_package(good)
    fake_npm.serve_package(bad, tarball_replies=(Reply(body=bytes(tampered)),))
    report = pull_packages(
        ["@acme/bad@1.0.0", "@acme/good@1.0.0"], tmp_path, settings=settings_for(fake_npm), policy=FAST, progress=False
    )
    assert [r.status for r in report.results] == ["failed", "downloaded"]
    reason = report.results[0].reason
    tampered_sri = "sha512-" + base64.b64encode(hashlib.sha512(bytes(tampered)).digest()).decode()
    assert "@acme/bad@1.0.0" in reason and bad.integrity in reason and tampered_sri in reason
    assert not (tmp_path / "@acme" / bad.filename).exists()
    assert (tmp_path / "@acme" / good.filename).read_bytes() == good.data
    assert leftovers(tmp_path) == []
    assert [e.name for e in read_index(tmp_path).entries] == ["@acme/good"]


def test_wrong_integrity_in_packument_names_both_values(fake_npm, tmp_path):
    pkg = make_tarball("plugin-x", "2.1.0", payload_size=100)
    wrong = "sha512-" + base64.b64encode(hashlib.sha512(b"something else").digest()).decode()
    fake_npm.serve_package(pkg, integrity=wrong)
    report = pull_packages(["plugin-x@2.1.0"], tmp_path, settings=settings_for(fake_npm), policy=FAST, progress=False)
    assert not report.ok
    reason = report.failed[0].reason
    assert "plugin-x@2.1.0" in reason and wrong in reason and pkg.integrity in reason
    assert not (tmp_path / pkg.filename).exists() and leftovers(tmp_path) == []


def test_wrong_shasum_is_refused_too(fake_npm, tmp_path):
    pkg = make_tarball("plugin-y", "1.0.0")
    fake_npm.serve_package(pkg, shasum="0" * 40)
    report = pull_packages(["plugin-y@1.0.0"], tmp_path, settings=settings_for(fake_npm), policy=FAST, progress=False)
    assert not report.ok and "shasum" in report.failed[0].reason and "0" * 40 in report.failed[0].reason


def test_500_then_success_is_retried(fake_npm, tmp_path):
    pkg = make_tarball("@acme/flaky", "1.0.0", payload_size=3000)
    path = fake_npm.serve_package(pkg, tarball_replies=(Reply(500, b"oops"), Reply(503, b"busy"), Reply(body=pkg.data)))
    report = pull_packages(["@acme/flaky@1.0.0"], tmp_path, settings=settings_for(fake_npm), policy=FAST, progress=False)
    assert report.ok, report.failed
    assert fake_npm.hits("GET", path) == 3
    assert (tmp_path / "@acme" / pkg.filename).read_bytes() == pkg.data


def test_connection_reset_mid_download_restarts_the_file(fake_npm, tmp_path):
    pkg = make_tarball("@acme/reset", "1.0.0", payload_size=200_000)
    half = len(pkg.data) // 2
    path = fake_npm.serve_package(pkg, tarball_replies=(Reply(body=pkg.data, reset_after=half), Reply(body=pkg.data)))
    report = pull_packages(["@acme/reset@1.0.0"], tmp_path, settings=settings_for(fake_npm), policy=FAST, progress=False)
    assert report.ok, report.failed
    assert fake_npm.hits("GET", path) == 2
    assert (tmp_path / "@acme" / pkg.filename).read_bytes() == pkg.data
    assert leftovers(tmp_path) == []


def test_connection_reset_every_time_fails_cleanly(fake_npm, tmp_path):
    pkg = make_tarball("@acme/broken", "1.0.0", payload_size=100_000)
    fake_npm.serve_package(pkg, tarball_replies=(Reply(body=pkg.data, reset_after=1000),))
    report = pull_packages(["@acme/broken@1.0.0"], tmp_path, settings=settings_for(fake_npm), policy=FAST, progress=False)
    reason = report.failed[0].reason
    assert "@acme/broken@1.0.0" in reason and "3 attempts" in reason
    assert list((tmp_path).rglob("*.tgz")) == [] and leftovers(tmp_path) == []


def test_401_names_registry_and_hides_token(fake_npm, tmp_path, cli_run):
    fake_npm.on("GET", "/@acme%2fprivate", Reply(401, b'{"error":"bad token ' + TOKEN.encode() + b'"}'))
    code, out, err = cli_run(
        "npm", "pull", "@acme/private@1.0.0", "-o", tmp_path, "--source-npm", fake_npm.url, "--npm-token", TOKEN, "-q"
    )
    assert code == 1
    assert "@acme/private@1.0.0" in err and fake_npm.url in err and "401" in err and "token" in err
    assert TOKEN not in out + err
    sent = [h for m, p, h, _ in fake_npm.seen if p == "/@acme%2fprivate"]
    assert sent and sent[0]["Authorization"] == f"Bearer {TOKEN}"


def test_cli_names_every_failed_package(fake_npm, tmp_path, cli_run):
    code, _, err = cli_run(
        "npm", "pull", "@acme/missing-a@1.0.0", "missing-b@^2", "-o", tmp_path, "--source-npm", fake_npm.url, "-q"
    )
    assert code == 1
    assert "failed: @acme/missing-a@1.0.0" in err and "failed: missing-b@^2" in err and "not found" in err
    assert "2 of 2 npm packages could not be pulled" in err


def test_bad_spec_is_a_usage_error_before_any_request(fake_npm, tmp_path, cli_run):
    code, _, err = cli_run("npm", "pull", "Bad Name@1.0.0", "-o", tmp_path, "--source-npm", fake_npm.url)
    assert code == 2 and "invalid npm package name" in err and fake_npm.seen == []


# -- publish ----------------------------------------------------------------------------------


def mirror_with(tmp_path: Path, fake: FakeNpm, pkg: NpmTarball) -> Path:
    fake.serve_package(pkg)
    mirror = tmp_path / "mirror"
    assert pull_packages([f"{pkg.name}@{pkg.version}"], mirror, settings=settings_for(fake), policy=FAST, progress=False).ok
    return mirror


def packument(pkg: NpmTarball, integrity: str) -> bytes:
    return json.dumps({"name": pkg.name, "versions": {pkg.version: {"dist": {"integrity": integrity}}}}).encode()


def test_publish_409_with_same_integrity_is_fine(fake_npm, tmp_path):
    pkg = make_tarball("@acme/dup", "1.0.0", payload_size=500)
    mirror = mirror_with(tmp_path, fake_npm, pkg)
    fake_npm.on("GET", "/@acme%2fdup", Reply(404, b"{}"), Reply(body=packument(pkg, pkg.integrity)))
    fake_npm.on("PUT", "/@acme%2fdup", Reply(409, b'{"error":"this package is already present"}'))
    report = publish_packages(mirror, fake_npm.url, token=TOKEN, policy=FAST)
    assert report.ok and report.results[0].status == "present"
    body = json.loads(next(b for m, p, _, b in fake_npm.seen if m == "PUT"))
    attachment = f"{pkg.name}-{pkg.version}.tgz"  # npm's name for it: the full, scoped package name
    assert list(body["versions"]) == ["1.0.0"] and list(body["_attachments"]) == [attachment]
    assert base64.b64decode(body["_attachments"][attachment]["data"]) == pkg.data
    assert body["versions"]["1.0.0"]["dist"]["integrity"] == pkg.integrity
    assert body["versions"]["1.0.0"]["description"] == "test package @acme/dup"  # from package.json


def test_publish_409_with_different_integrity_names_both(fake_npm, tmp_path):
    pkg = make_tarball("@acme/dup", "1.0.0", payload_size=500)
    other = make_tarball("@acme/dup", "1.0.0", payload_size=501)
    mirror = mirror_with(tmp_path, fake_npm, pkg)
    fake_npm.on("GET", "/@acme%2fdup", Reply(404, b"{}"), Reply(body=packument(pkg, other.integrity)))
    fake_npm.on("PUT", "/@acme%2fdup", Reply(409, b'{"error":"this package is already present"}'))
    report = publish_packages(mirror, fake_npm.url, token=TOKEN, policy=FAST)
    reason = report.failed[0].reason
    assert "@acme/dup@1.0.0" in reason and pkg.integrity in reason and other.integrity in reason


def test_publish_5xx_then_success_and_read_back(fake_npm, tmp_path):
    pkg = make_tarball("@acme/pub", "1.0.0", payload_size=500)
    mirror = mirror_with(tmp_path, fake_npm, pkg)
    fake_npm.on("GET", "/@acme%2fpub", Reply(404, b"{}"), Reply(body=packument(pkg, pkg.integrity)))
    fake_npm.on("PUT", "/@acme%2fpub", Reply(502, b"gateway"), Reply(201, b'{"ok":"created"}'))
    report = publish_packages(mirror, fake_npm.url, token=TOKEN, policy=FAST)
    assert report.ok and report.results[0].status == "published"
    puts = [(h, b) for m, p, h, b in fake_npm.seen if m == "PUT"]
    assert len(puts) == 2 and all(json.loads(b) == json.loads(puts[0][1]) for _, b in puts)
    assert puts[0][0]["Authorization"] == f"Bearer {TOKEN}"


def test_publish_read_back_mismatch_fails(fake_npm, tmp_path):
    pkg = make_tarball("@acme/liar", "1.0.0", payload_size=500)
    mirror = mirror_with(tmp_path, fake_npm, pkg)
    lie = make_tarball("@acme/liar", "1.0.0", payload_size=7).integrity
    fake_npm.on("GET", "/@acme%2fliar", Reply(404, b"{}"), Reply(body=packument(pkg, lie)))
    fake_npm.on("PUT", "/@acme%2fliar", Reply(201, b"{}"))
    report = publish_packages(mirror, fake_npm.url, token=TOKEN, policy=FAST)
    assert not report.ok and lie in report.failed[0].reason


def test_publish_401_and_413_explain_what_to_do(fake_npm, tmp_path, cli_run):
    pkg = make_tarball("@acme/big", "1.0.0", payload_size=500)
    mirror = mirror_with(tmp_path, fake_npm, pkg)
    fake_npm.on("GET", "/@acme%2fbig", Reply(404, b"{}"))
    fake_npm.on("PUT", "/@acme%2fbig", Reply(413, b'{"error":"request entity too large"}'))
    code, _, err = cli_run("npm", "publish", mirror, "--target-npm", fake_npm.url, "--npm-token", TOKEN, "-q")
    assert code == 1 and "413" in err and "max_body_size" in err and "@acme/big@1.0.0" in err
    fake_npm.on("PUT", "/@acme%2fbig", Reply(401, b'{"error":"unregistered users are not allowed to publish"}'))
    code, _, err = cli_run("npm", "publish", mirror, "--target-npm", fake_npm.url, "--npm-token", TOKEN, "-q")
    assert code == 1 and "401" in err and fake_npm.url in err and "token" in err and TOKEN not in err


def test_publish_refuses_a_file_changed_after_pull(fake_npm, tmp_path):
    pkg = make_tarball("@acme/changed", "1.0.0", payload_size=500)
    mirror = mirror_with(tmp_path, fake_npm, pkg)
    path = mirror / "@acme" / pkg.filename
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    report = publish_packages(mirror, fake_npm.url, token=TOKEN, policy=FAST)
    assert "does not match the mirror index" in report.failed[0].reason
    assert not [m for m, *_ in fake_npm.seen if m == "PUT"]
