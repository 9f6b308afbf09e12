"""Issue 25: every everyday mistake or fault gets one true, actionable line and the right exit code,
and arguments are checked (all at once) before any network, disk or hash work."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirrorkit.commands._shared import show_progress
from mirrorkit.http import RetryPolicy
from mirrorkit.ocmirror.result import MirrorResult

SHORT = RetryPolicy(attempts=2, backoff=0.05, max_backoff=0.05, timeout=(0.5, 0.5))


def _error(err: str) -> str:
    [line] = [line for line in err.splitlines() if line.startswith("mirrorkit: error:")]
    return line


# -- argument validation first --------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [("keygen", "-o", ""), ("imageset", "build", "--profile", "rhdh-orchestrator-1.8", "-o", ""), ("sbom", ".", "-o", "")],
)
def test_an_empty_output_is_a_usage_error_not_an_internal_one(cli_run, argv):
    code, _, err = cli_run(*argv)
    assert code == 2
    assert "--output is empty: give a file path" in _error(err) and "internal error" not in err


def test_push_names_every_missing_option_in_one_run(cli_run, tmp_path):
    code, _, err = cli_run("push", tmp_path)
    assert code == 2
    assert _error(err) == (
        "mirrorkit: error: 3 problems: missing --target-registry HOST[:PORT][/PREFIX]; missing --target-npm URL; "
        "missing --output DIRECTORY (see 'mirrorkit push --help')"
    )


def test_push_refuses_an_npm_url_without_scheme_before_reading_the_bundle(cli_run, tmp_path):
    out = tmp_path / "out"
    code, _, err = cli_run("push", tmp_path, "--target-registry", "127.0.0.1:9", "--target-npm", "127.0.0.1:4873", "-o", out)
    assert code == 2
    assert "--target-npm '127.0.0.1:4873' has no scheme: write http://127.0.0.1:4873 or https://127.0.0.1:4873" in _error(err)
    assert not out.exists()  # nothing written, nothing verified


def test_pack_checks_its_output_folder_before_any_catalog_is_read(cli_run, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    started = time.monotonic()
    code, _, err = cli_run("pack", "--profile", "rhdh-orchestrator-1.8", "-o", out, "--unsigned", "-q")
    assert code == 2 and time.monotonic() - started < 5
    assert f"--output {out} is not empty and is not a mirrorkit bundle" in _error(err)


def test_pack_refuses_to_write_an_unsigned_bundle_unless_told(cli_run, tmp_path):
    code, _, err = cli_run("pack", "--profile", "rhdh-orchestrator-1.8", "-o", tmp_path / "b")
    assert code == 2
    assert "pack signs the bundle: pass --sign-key KEY.pem" in _error(err) and "--unsigned" in _error(err)
    assert not (tmp_path / "b").exists()


def test_every_argument_problem_is_named_at_once(cli_run, tmp_path):
    code, _, err = cli_run("pack", "-o", "", "--source-npm", "npm.local", "--split-size", "lots")
    assert code == 2
    line = _error(err)
    assert line.startswith("mirrorkit: error: 5 problems: ")
    for part in ("--output is empty", "pass exactly one of --profile or --config", "--sign-key", "--source-npm 'npm.local'"):
        assert part in line, line
    assert "--split-size" in line


def test_old_spellings_still_work_with_a_deprecation_warning(cli_run, tmp_path):
    code, _, err = cli_run("push", tmp_path, "--registry", "127.0.0.1:9", "--npm-registry", "npm.local", "-o", "")
    assert code == 2
    assert "mirrorkit: warning: --registry is deprecated in 'mirrorkit push'; use --target-registry" in err
    assert "mirrorkit: warning: --npm-registry is deprecated in 'mirrorkit push'; use --target-npm" in err
    assert "--target-npm 'npm.local' has no scheme" in _error(err)


# -- network errors classified truly ------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A socket that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def short_client(monkeypatch):
    from mirrorkit.commands import bundle_images
    from mirrorkit.oci.client import OciClient

    monkeypatch.setattr(bundle_images, "make_client", lambda authfile, tls: OciClient(authfile, tls_verify=tls, policy=SHORT))


def test_a_name_that_does_not_resolve_is_called_dns_without_a_tls_hint(cli_run):
    code, _, err = cli_run("bundle-images", "registry.example.invalid/ns/bundle:1")
    assert code == 1
    line = _error(err)
    assert "could not connect: the name registry.example.invalid does not resolve (DNS)" in line
    assert "Check the host name and this host's DNS" in line and "--no-tls-verify" not in line


def test_a_registry_that_never_answers_times_out_and_says_so(cli_run, short_client, silent_port):
    started = time.monotonic()
    code, _, err = cli_run("bundle-images", f"127.0.0.1:{silent_port}/ns/bundle:1", "--no-tls-verify")
    assert code == 1 and time.monotonic() - started < 10
    line = _error(err)
    assert f"timed out: 127.0.0.1:{silent_port} accepted the connection but sent no answer within 0.5 s" in line
    assert "refused" not in line and "--no-tls-verify" not in line


def test_a_refused_connection_is_called_refused(cli_run, short_client):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    code, _, err = cli_run("bundle-images", f"127.0.0.1:{port}/ns/bundle:1")
    assert code == 1
    assert f"could not connect: 127.0.0.1:{port} refused the connection (nothing listens there)" in _error(err)


def test_a_slow_connection_says_what_it_waits_for_on_a_terminal(cli_run, short_client, silent_port, monkeypatch):
    from mirrorkit import http

    monkeypatch.setattr(http, "_on_terminal", lambda: True)
    fast = RetryPolicy(attempts=1, timeout=(2.0, 2.0))
    from mirrorkit.commands import bundle_images
    from mirrorkit.oci.client import OciClient

    monkeypatch.setattr(bundle_images, "make_client", lambda authfile, tls: OciClient(authfile, tls_verify=tls, policy=fast))
    code, _, err = cli_run("bundle-images", f"127.0.0.1:{silent_port}/ns/bundle:1")
    assert code == 1
    assert f"mirrorkit: waiting for registry 127.0.0.1:{silent_port} to answer (gives up after 2 s" in err


class _Status(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def plain_http() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_an_http_status_is_reported_as_such(cli_run, short_client, plain_http):
    code, _, err = cli_run("bundle-images", f"127.0.0.1:{plain_http}/ns/bundle:1")
    assert code == 1
    assert f"HTTP 503 from http://127.0.0.1:{plain_http}/v2/" in _error(err)


def test_preflight_decides_http_or_https_as_oc_mirror_will(plain_http, tmp_path):
    """oc-mirror's --dest-tls-verify=true is https only, loopback too: the pre-flight must fail where
    oc-mirror would, with the hint that fits (a plain-http registry)."""
    from mirrorkit.preflight import Targets, registry_item

    targets = Targets(registry=f"127.0.0.1:{plain_http}", npm_registry="http://x", cache_dir=tmp_path, output=tmp_path)
    item = registry_item(targets)
    assert item.failed
    assert f"TLS handshake with 127.0.0.1:{plain_http} failed: it answers in plain http" in item.detail
    assert "Pass --no-tls-verify" in item.detail
    relaxed = registry_item(Targets(**{**targets.__dict__, "tls_verify": False}))
    assert "plain http" not in relaxed.detail  # http is allowed now: the 503 is what is left


# -- oc-mirror's failure -------------------------------------------------------------------------


def test_oc_mirror_failure_shows_its_cause_and_the_full_log(tmp_path):
    long_cause = (
        "[Executor] collection error: pinging container registry registry.redhat.io: Get "
        '"https://registry.redhat.io/v2/": ' + "proxy negotiation " * 30 + "dial tcp: lookup registry.redhat.io: no such host"
    )
    working = tmp_path / "working-dir"
    (working / "logs").mkdir(parents=True)
    (working / "logs" / "oc-mirror-20250101_000000.log").write_text("...\n")
    result = MirrorResult(
        "mirrorToDisk", 1, None, (), (), (), ("some earlier error", long_cause), tmp_path / "run.log", working, 1.0
    )
    summary = result.summary
    assert summary.startswith("oc-mirror mirror to disk failed, ")
    assert "cause: collection error: pinging container registry" in summary and summary.count("no such host") == 1
    assert summary.index("no such host") < summary.index("full log:")
    assert f"full log: {tmp_path / 'run.log'} (oc-mirror's own: {working / 'logs' / 'oc-mirror-20250101_000000.log'})" in summary
    assert summary.index("full log:") < 300  # what a cut line keeps: the cause and where the log is


# -- progress ------------------------------------------------------------------------------------


def test_progress_only_on_a_terminal_unless_forced():
    assert show_progress(None, quiet=False) is False  # pytest's stderr is not a terminal
    assert show_progress(True, quiet=False) is True
    assert show_progress(True, quiet=True) is False
    assert show_progress(None, quiet=False, as_json=True) is False


def test_help_speaks_the_vocabulary(cli_run):
    for argv, flags in (
        (("push", "--help"), ("--target-registry", "--target-npm", "--npm-token", "--progress / --no-progress", "-j, --jobs")),
        (("verify", "--help"), ("--target-registry", "--target-npm", "-q, --quiet", "-j, --jobs", "--json")),
        (("pack", "--help"), ("--source-npm", "--plugin", "--discover / --no-discover", "--unsigned", "-q, --quiet")),
        (("npm", "publish", "--help"), ("--target-npm", "--npm-token")),
        (("npm", "pull", "--help"), ("--source-npm", "--npm-token")),
        (("mirror", "direct", "--help"), ("--target-registry", "--tls-verify / --no-tls-verify", "-q, --quiet")),
        (("imageset", "build", "--help"), ("--discover / --no-discover",)),
    ):
        code, out, _ = cli_run(*argv)
        assert code == 0
        for flag in flags:
            assert flag in out, (argv, flag)
        for old in ("--npm-registry", "--inspect-bundles", "--src-tls-verify", "--no-helm"):
            assert old not in out, (argv, old)


def test_sizes_are_in_human_units(tmp_path: Path):
    from mirrorkit.sizes import human

    assert human(5 * 1024**3) == "5.0 GiB"
