"""oc-mirror workflows end to end: the oc-mirror test double (tests/ocmirror_double, see its README)
really copies images with skopeo between two real local registries; mirrorkit drives it."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from mirrorkit.errors import ConfigError, InputError
from mirrorkit.ocmirror import (
    DiskToMirrorOptions,
    MirrorToDiskOptions,
    MirrorToMirrorOptions,
    OcMirror,
    disk_to_mirror,
    dry_run,
    find_oc_mirror,
    mirror_to_disk,
    mirror_to_mirror,
)
from tests.services.images import PushedImage, push_image, push_index
from tests.services.process import free_port
from tests.services.registry import LocalRegistry

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def source(registry_factory: Callable[..., LocalRegistry]) -> LocalRegistry:
    return registry_factory()


@pytest.fixture(scope="module")
def target(registry_factory: Callable[..., LocalRegistry]) -> LocalRegistry:
    return registry_factory()


@pytest.fixture(scope="module")
def images(source: LocalRegistry) -> dict[str, PushedImage]:
    """A Docker single-arch image by tag, an OCI multi-arch index by digest, a Docker manifest list by tag."""
    return {
        "app": push_image(source.host, "ocm/app", "1.0", docker=True),
        "multi": push_index(source.host, "ocm/multi", "2.0"),
        "dlist": push_index(source.host, "ocm/tools/dlist", "3.1", docker=True),
    }


@pytest.fixture
def double_on_path(oc_mirror_double: Path, skopeo: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The double first on PATH, with this venv's python3 (it has pyyaml) right behind it."""
    monkeypatch.delenv("MIRRORKIT_OC_MIRROR", raising=False)
    path = os.pathsep.join([str(oc_mirror_double.parent), str(Path(sys.executable).parent), os.environ["PATH"]])
    monkeypatch.setenv("PATH", path)
    return oc_mirror_double


@pytest.fixture
def tool(double_on_path: Path) -> OcMirror:
    return find_oc_mirror()


def write_isc(path: Path, names: list[str], extra: str = "") -> Path:
    entries = "".join(f"  - name: {name}\n" for name in names)
    path.write_text(
        f"apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  additionalImages:\n{entries}{extra}"
    )
    return path


def isc_for(tmp_path: Path, imgs: dict[str, PushedImage]) -> Path:
    return write_isc(tmp_path / "isc.yaml", [imgs["app"].ref, imgs["multi"].by_digest, imgs["dlist"].ref])


def remote_digest(ref: str) -> str:
    """The digest of the top manifest at *ref*, read with skopeo (independent of mirrorkit)."""
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], capture_output=True, check=True
    ).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def test_find_oc_mirror_reads_version(tool: OcMirror, oc_mirror_double: Path) -> None:
    assert tool.path == oc_mirror_double
    assert tool.version == "4.19.0-mirrorkit-test-double"
    assert tool.exits_nonzero_on_mirror_errors


def test_mirror_to_disk_then_disk_to_mirror(
    tool: OcMirror, images: dict[str, PushedImage], target: LocalRegistry, tmp_path: Path
) -> None:
    isc = isc_for(tmp_path, images)
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "mirror_000007.tar").write_bytes(b"stale archive from an older run")
    common = dict(config=isc, cache_dir=tmp_path / "cache", src_tls_verify=False, dest_tls_verify=False)

    m2d = mirror_to_disk(tool, MirrorToDiskOptions(archive_dir=archive, **common), progress=False)
    assert m2d.ok, m2d.summary
    assert m2d.exit_code == 0 and m2d.images_total == 3 and len(m2d.copied) == 3
    assert sorted(p.name for p in archive.glob("mirror_*.tar")) == ["mirror_000001.tar"]
    assert m2d.cluster_resources == ()
    log_text = m2d.log_file.read_text(encoding="utf-8")
    assert "Success copying" in log_text and "\x1b[" in log_text  # raw output, colours included
    # oc-mirror's own log file gets the same bytes as its stdout (an io.MultiWriter), colours included
    own_log = next((archive / "working-dir" / "logs").glob("oc-mirror-*.log")).read_text(encoding="utf-8")
    assert "\x1b[1;54m [INFO] \x1b[0m  : " in own_log and "=== Results ===" in own_log
    assert m2d.summary.startswith("oc-mirror mirror to disk succeeded: 3 / 3 images copied")

    # The bastion side: a fresh cache, only the archive folder carried over.
    carried = tmp_path / "carried"
    carried.mkdir()
    (carried / "mirror_000001.tar").write_bytes((archive / "mirror_000001.tar").read_bytes())
    d2m = disk_to_mirror(
        tool,
        DiskToMirrorOptions(
            archive_dir=carried,
            target=f"docker://{target.host}/mirrored",
            config=isc,
            cache_dir=tmp_path / "bastion-cache",
            src_tls_verify=False,
            dest_tls_verify=False,
        ),
        progress=False,
    )
    assert d2m.ok, d2m.summary
    assert len(d2m.copied) == 3
    # oc-mirror pushes a digest-only additional image to the tag sha256-<hex> (never by digest only)
    multi = images["multi"]
    assert remote_digest(f"{target.host}/mirrored/{multi.repo}:{multi.digest.replace(':', '-')}") == multi.digest
    for image in images.values():
        mirrored = f"{target.host}/mirrored/{image.repo}"
        ref = f"{mirrored}@{image.digest}" if image is images["multi"] else f"{mirrored}:{image.tag}"
        assert remote_digest(ref) == image.digest == remote_digest(image.by_digest)

    kinds = {(r.kind, r.name): r for r in d2m.cluster_resources}
    assert set(kinds) == {("ImageDigestMirrorSet", "idms-generic-0"), ("ImageTagMirrorSet", "itms-generic-0")}
    # oc-mirror scopes each entry to the namespace (the path without its last component) when the
    # mirror path ends with the source path; digest-only references go to the IDMS, tags to the ITMS.
    idms = yaml.safe_load(kinds[("ImageDigestMirrorSet", "idms-generic-0")].path.read_text())
    assert idms["apiVersion"] == "config.openshift.io/v1"
    assert idms["spec"]["imageDigestMirrors"] == [
        {"mirrors": [f"{target.host}/mirrored/ocm"], "source": f"{images['multi'].host}/ocm"}
    ]
    itms = yaml.safe_load(kinds[("ImageTagMirrorSet", "itms-generic-0")].path.read_text())
    assert {m["source"]: m["mirrors"] for m in itms["spec"]["imageTagMirrors"]} == {
        f"{images['app'].host}/ocm": [f"{target.host}/mirrored/ocm"],
        f"{images['dlist'].host}/ocm/tools": [f"{target.host}/mirrored/ocm/tools"],
    }
    assert d2m.to_dict()["clusterResources"][0]["path"].endswith("-oc-mirror.yaml")


def test_mirror_to_mirror(tool: OcMirror, images: dict[str, PushedImage], target: LocalRegistry, tmp_path: Path) -> None:
    result = mirror_to_mirror(
        tool,
        MirrorToMirrorOptions(
            workspace=tmp_path / "ws",
            target=f"{target.host}/direct",
            config=isc_for(tmp_path, images),
            cache_dir=tmp_path / "cache",
            src_tls_verify=False,
            dest_tls_verify=False,
        ),
        progress=False,
    )
    assert result.ok, result.summary
    # oc-mirror's success line names the ISC origin and the destination namespace (`host/ns/`)
    assert {(c.source, c.destination) for c in result.copied} == {
        (images["app"].ref, f"{target.host}/direct/ocm/"),
        (images["multi"].by_digest, f"{target.host}/direct/ocm/"),
        (images["dlist"].ref, f"{target.host}/direct/ocm/tools/"),
    }
    for image in images.values():
        mirrored = f"{target.host}/direct/{image.repo}"
        assert (
            remote_digest(f"{mirrored}@{image.digest}" if image is images["multi"] else f"{mirrored}:{image.tag}") == image.digest
        )
    assert result.working_dir == tmp_path / "ws" / "working-dir"
    assert {r.kind for r in result.cluster_resources} == {"ImageDigestMirrorSet", "ImageTagMirrorSet"}


def test_dry_run_plans_as_oc_mirror_writes_it(tool: OcMirror, images: dict[str, PushedImage], tmp_path: Path) -> None:
    port = free_port()  # the local cache registry's --port (oc-mirror's default is 55000)
    plan = dry_run(
        tool,
        MirrorToDiskOptions(
            archive_dir=tmp_path / "a",
            config=isc_for(tmp_path, images),
            cache_dir=tmp_path / "empty",
            src_tls_verify=False,
            port=port,
        ),
        progress=False,
    )
    assert plan.result.ok, plan.result.summary
    # oc-mirror resolves nothing for additionalImages: a tag stays a tag, a digest-only image goes to
    # the tag sha256-<hex> of the local cache.
    multi = images["multi"]
    expected = {
        (images["app"].ref, f"localhost:{port}/{images['app'].repo}:{images['app'].tag}"),
        (multi.by_digest, f"localhost:{port}/{multi.repo}:{multi.digest.replace(':', '-')}"),
        (images["dlist"].ref, f"localhost:{port}/{images['dlist'].repo}:{images['dlist'].tag}"),
    }
    assert set(plan.mapping) == expected
    assert set(plan.missing) == {src for src, _ in expected}  # nothing cached yet: all will be downloaded
    assert not list((tmp_path / "a").glob("mirror_*.tar"))  # a dry run copies nothing


def test_missing_image_is_reported_with_its_reason(
    tool: OcMirror, images: dict[str, PushedImage], source: LocalRegistry, tmp_path: Path
) -> None:
    missing = f"{source.host}/ocm/not-there:9.9"
    isc = write_isc(tmp_path / "isc.yaml", [images["app"].ref, missing])
    result = mirror_to_disk(
        tool,
        MirrorToDiskOptions(archive_dir=tmp_path / "a", config=isc, cache_dir=tmp_path / "c", src_tls_verify=False),
        progress=False,
    )
    assert not result.ok
    assert result.exit_code == 8 and result.failed_categories == ("additional",)
    assert [f.image for f in result.failed] == [missing]
    assert result.failed[0].kind == "additional" and "manifest unknown" in result.failed[0].reason
    assert [c.source for c in result.copied] == [images["app"].ref]
    assert not list((tmp_path / "a").glob("mirror_*.tar"))  # oc-mirror 4.19+ archives nothing after copy errors
    assert result.categories[0].mirrored == 1 and result.categories[0].total == 2
    assert "exit 8 (additional images failed)" in result.summary and missing in result.summary


def test_old_oc_mirror_exit_0_still_fails(
    tool: OcMirror, source: LocalRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OC_MIRROR_DOUBLE_LEGACY_EXIT", "1")
    missing = f"{source.host}/ocm/gone:1"
    result = mirror_to_disk(
        tool,
        MirrorToDiskOptions(
            archive_dir=tmp_path / "a",
            config=write_isc(tmp_path / "isc.yaml", [missing]),
            cache_dir=tmp_path / "c",
            src_tls_verify=False,
        ),
        progress=False,
    )
    assert result.exit_code == 0
    assert not result.ok and [f.image for f in result.failed] == [missing]
    assert list((tmp_path / "a" / "working-dir" / "logs").glob("mirroring_errors_*.txt"))


def test_wrong_target_unreachable_registry(tool: OcMirror, images: dict[str, PushedImage], tmp_path: Path) -> None:
    result = mirror_to_mirror(
        tool,
        MirrorToMirrorOptions(
            workspace=tmp_path / "ws",
            target=f"docker://127.0.0.1:{free_port()}/x",
            config=write_isc(tmp_path / "isc.yaml", [images["app"].ref]),
            cache_dir=tmp_path / "c",
            src_tls_verify=False,
            dest_tls_verify=False,
            retry_times=0,
        ),
        progress=False,
    )
    # oc-mirror checks the destination before copying anything: a generic error (exit 1)
    assert not result.ok and result.exit_code == 1 and result.failed_categories == ("generic",)
    assert result.copied == () and result.failed == ()
    assert "checking registry" in result.summary and "onnection refused" in result.summary


def test_unparseable_config(tool: OcMirror, oc_mirror_double: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: ImageSetConfiguration\nmirror: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        mirror_to_disk(tool, MirrorToDiskOptions(archive_dir=tmp_path / "a", config=broken), progress=False)
    # The double refuses it the way oc-mirror does (generic error, exit 1).
    proc = subprocess.run(
        [str(oc_mirror_double), "--v2", "-c", str(broken), "--port", str(free_port()), f"file://{tmp_path / 'b'}"],
        capture_output=True,
        text=True,
    )
    # Before working-dir/logs exists oc-mirror's log (Go's log package) still writes to stderr.
    assert proc.returncode == 1 and "[ERROR]" in proc.stderr and "imagesetconfig" in proc.stderr
    assert not (tmp_path / "b" / "working-dir" / "logs").exists()
    # A config mirrorkit can read but oc-mirror refuses: oc-mirror's own message reaches the result.
    unknown = write_isc(tmp_path / "unknown.yaml", ["127.0.0.1:1/a/b:1"], extra="  foo: bar\n")
    result = mirror_to_disk(
        tool, MirrorToDiskOptions(archive_dir=tmp_path / "c", config=unknown, cache_dir=tmp_path / "cache"), progress=False
    )
    assert result.exit_code == 1 and not result.ok and result.failed_categories == ("generic",)
    assert 'unknown field "foo"' in result.summary


def test_disk_to_mirror_without_archive_is_an_input_error(tool: OcMirror, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no mirror_"):
        disk_to_mirror(
            tool,
            DiskToMirrorOptions(
                archive_dir=tmp_path, target="docker://127.0.0.1:5000", config=write_isc(tmp_path / "isc.yaml", [])
            ),
        )


def _wait_for(path: Path, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_killed_oc_mirror(
    tool: OcMirror, images: dict[str, PushedImage], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("OC_MIRROR_DOUBLE_SLEEP", "30")
    monkeypatch.setenv("OC_MIRROR_DOUBLE_PIDFILE", str(pidfile))
    oc_log = tmp_path / "a" / "working-dir" / "logs"

    def kill_once_counted() -> None:
        pid = _wait_for(pidfile)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any("images to copy" in p.read_text() for p in oc_log.glob("oc-mirror-*.log")):
                break
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_once_counted, daemon=True)
    killer.start()
    started = time.monotonic()
    result = mirror_to_disk(
        tool,
        MirrorToDiskOptions(
            archive_dir=tmp_path / "a", config=isc_for(tmp_path, images), cache_dir=tmp_path / "c", src_tls_verify=False
        ),
        progress=False,
    )
    assert time.monotonic() - started < 20
    assert result.killed and result.exit_code == -signal.SIGKILL and not result.ok
    assert "killed by SIGKILL" in result.summary and "0 / 3 images copied" in result.summary


@pytest.fixture
def cli_env(double_on_path: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def _cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mirrorkit", *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_cli_workflows_and_exit_codes(
    cli_env: dict[str, str], images: dict[str, PushedImage], source: LocalRegistry, target: LocalRegistry, tmp_path: Path
) -> None:
    isc = isc_for(tmp_path, images)
    common = ["-c", str(isc), "--cache-dir", str(tmp_path / "c"), "--no-tls-verify", "--no-progress"]
    done = _cli(cli_env, "mirror", "to-disk", "--archive-dir", str(tmp_path / "a"), *common)
    assert done.returncode == 0, done.stderr
    assert "mirror to disk succeeded: 3 / 3" in done.stdout
    pushed = _cli(
        cli_env,
        "mirror",
        "to-mirror",
        "--from",
        str(tmp_path / "a"),
        "--target-registry",
        f"docker://{target.host}/cli",
        "--json",
        *common,
    )
    assert pushed.returncode == 0, pushed.stderr
    import json

    report = json.loads(pushed.stdout)
    assert report["ok"] and len(report["copied"]) == 3
    assert {r["kind"] for r in report["clusterResources"]} == {"ImageDigestMirrorSet", "ImageTagMirrorSet"}

    planned = _cli(
        cli_env,
        "mirror",
        "direct",
        "--dry-run",
        "--workspace",
        str(tmp_path / "plan"),
        "--target-registry",
        f"docker://{target.host}/cli",
        *common,
    )
    assert planned.returncode == 0, planned.stderr
    assert "3 images planned" in planned.stdout and "0 missing" in planned.stdout
    mapping = (tmp_path / "plan" / "working-dir" / "dry-run" / "mapping.txt").read_text()
    multi = images["multi"]
    assert f"docker://{multi.by_digest}=docker://{target.host}/cli/ocm/multi:{multi.digest.replace(':', '-')}\n" in mapping

    # Missing image: exit 1, the image and the reason on one line, no traceback.
    bad_isc = write_isc(tmp_path / "bad.yaml", [f"{source.host}/ocm/absent:0"])
    failed = _cli(
        cli_env,
        "mirror",
        "direct",
        "--workspace",
        str(tmp_path / "w"),
        "--target-registry",
        f"docker://{target.host}/cli",
        *common[2:],
        "-c",
        str(bad_isc),
    )
    assert failed.returncode == 1
    assert f"{source.host}/ocm/absent:0 (" in failed.stderr and "manifest unknown" in failed.stderr
    assert "Traceback" not in failed.stderr

    # Wrong target syntax: exit 2 before oc-mirror runs.
    wrong = _cli(cli_env, "mirror", "direct", "--workspace", str(tmp_path / "w"), "--target-registry", "https://x", *common)
    assert wrong.returncode == 2 and "scheme https:// is not docker://" in wrong.stderr and "HOST[:PORT][/PREFIX]" in wrong.stderr

    # Unparseable config: exit 2 with the file named.
    broken = tmp_path / "broken.yaml"
    broken.write_text("mirror: [\n")
    unparsed = _cli(cli_env, "mirror", "to-disk", "--archive-dir", str(tmp_path / "z"), "-c", str(broken))
    assert unparsed.returncode == 2 and str(broken) in unparsed.stderr and "Traceback" not in unparsed.stderr

    # oc-mirror missing: exit 2 with install hints.
    absent = _cli(
        cli_env,
        "mirror",
        "to-disk",
        "--archive-dir",
        str(tmp_path / "z"),
        "-c",
        str(isc),
        "--oc-mirror",
        str(tmp_path / "no-such-oc-mirror"),
    )
    assert absent.returncode == 2 and "mirror.openshift.com" in absent.stderr


def test_cli_ctrl_c_stops_oc_mirror_and_says_how_to_resume(
    cli_env: dict[str, str], images: dict[str, PushedImage], tmp_path: Path
) -> None:
    pidfile = tmp_path / "pid"
    env = {**cli_env, "OC_MIRROR_DOUBLE_SLEEP": "30", "OC_MIRROR_DOUBLE_PIDFILE": str(pidfile)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mirrorkit",
            "mirror",
            "to-disk",
            "--archive-dir",
            str(tmp_path / "a"),
            "-c",
            str(isc_for(tmp_path, images)),
            "--cache-dir",
            str(tmp_path / "c"),
            "--no-tls-verify",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        child = _wait_for(pidfile)
        time.sleep(0.3)  # let mirrorkit reach its read loop
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err.lower() and "Traceback" not in err
    assert not _alive(child), "oc-mirror was left running"
    logs = list((tmp_path / "a" / "mirrorkit-logs").glob("oc-mirror-mirrorToDisk-*.log"))
    assert logs and "interrupted by the user" in logs[0].read_text()


def test_oc_mirror_cache_env_is_dropped_when_cache_dir_is_given(
    tool: OcMirror, oc_mirror_double: Path, images: dict[str, PushedImage], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """oc-mirror refuses OC_MIRROR_CACHE together with --cache-dir; mirrorkit passes --cache-dir, so it
    removes the variable from oc-mirror's environment."""
    monkeypatch.setenv("OC_MIRROR_CACHE", str(tmp_path / "env-cache"))
    isc = write_isc(tmp_path / "isc.yaml", [images["app"].ref])
    direct = subprocess.run(
        [
            str(oc_mirror_double),
            "--v2",
            "-c",
            str(isc),
            "--cache-dir",
            str(tmp_path / "c"),
            "--port",
            str(free_port()),
            "--dry-run",
            f"file://{tmp_path / 'x'}",
        ],
        capture_output=True,
        text=True,
    )
    assert direct.returncode == 1 and "either OC_MIRROR_CACHE or --cache-dir can be used but not both" in direct.stderr
    plan = dry_run(
        tool,
        MirrorToDiskOptions(archive_dir=tmp_path / "a", config=isc, cache_dir=tmp_path / "c", src_tls_verify=False),
        progress=False,
    )
    assert plan.result.ok, plan.result.summary


def test_dry_run_refuses_a_folder_holding_archives(tool: OcMirror, images: dict[str, PushedImage], tmp_path: Path) -> None:
    """oc-mirror's mirror to disk deletes mirror_*.tar in its folder before it starts, dry runs included."""
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "mirror_000001.tar").write_bytes(b"precious")
    options = MirrorToDiskOptions(archive_dir=folder, config=isc_for(tmp_path, images), cache_dir=tmp_path / "c")
    with pytest.raises(InputError, match="deletes mirror_"):
        dry_run(tool, options, progress=False)
    assert (folder / "mirror_000001.tar").read_bytes() == b"precious"


def test_disk_to_mirror_dry_run_plans_from_the_archive(
    tool: OcMirror, images: dict[str, PushedImage], target: LocalRegistry, tmp_path: Path
) -> None:
    """oc-mirror plans disk to mirror too: it unpacks the archives and maps its cache to the target."""
    isc = isc_for(tmp_path, images)
    archive = tmp_path / "archive"
    m2d = mirror_to_disk(
        tool,
        MirrorToDiskOptions(archive_dir=archive, config=isc, cache_dir=tmp_path / "c", src_tls_verify=False),
        progress=False,
    )
    assert m2d.ok, m2d.summary
    port = free_port()
    options = DiskToMirrorOptions(
        archive_dir=archive,
        target=f"docker://{target.host}/planned",
        config=isc,
        cache_dir=tmp_path / "c2",
        dest_tls_verify=False,
        port=port,
    )
    plan = dry_run(tool, options, progress=False)
    assert plan.result.ok, plan.result.summary
    app, multi = images["app"], images["multi"]
    assert (f"localhost:{port}/{app.repo}:{app.tag}", f"{target.host}/planned/{app.repo}:{app.tag}") in plan.mapping
    hex_tag = multi.digest.replace(":", "-")
    assert (f"localhost:{port}/{multi.repo}:{hex_tag}", f"{target.host}/planned/{multi.repo}:{hex_tag}") in plan.mapping
    assert plan.missing == ()  # missing.txt is a mirror to disk file only
    assert not exists_remote(f"{target.host}/planned/{app.repo}:{app.tag}")  # nothing copied
    # the dry run writes the cluster resources of every planned image
    assert (archive / "working-dir" / "cluster-resources" / "itms-oc-mirror.yaml").is_file()


def exists_remote(ref: str) -> bool:
    proc = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], capture_output=True)
    return proc.returncode == 0
