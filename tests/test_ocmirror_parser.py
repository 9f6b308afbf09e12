"""Unit tests for mirrorkit.ocmirror: output parsing, options -> argument lists, results, working-dir files."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from mirrorkit.errors import InputError, MirrorError, ToolNotFound
from mirrorkit.ocmirror import (
    DiskToMirrorOptions,
    MirrorResult,
    MirrorToDiskOptions,
    MirrorToMirrorOptions,
    Target,
    build_args,
    find_oc_mirror,
    parse_version,
    raise_for_result,
)
from mirrorkit.ocmirror.parser import (
    CategoryCount,
    ErrorMessage,
    ImagesToCopy,
    ResultsStarted,
    parse_error_file_line,
    parse_line,
    strip_ansi,
)
from mirrorkit.ocmirror.resources import read_cluster_resources, read_error_files, read_mapping, read_missing
from mirrorkit.ocmirror.result import CopiedImage, FailedImage, describe_exit, failed_categories
from mirrorkit.ocmirror.workflows import _Collector

DIGEST = "sha256:" + "ab" * 32

# Captured-style oc-mirror v2 output (colour codes as oc-mirror writes them without a terminal).
SAMPLE_LOG = f"""\
2025/04/27 23:01:30  \x1b[36m[INFO]\x1b[0m   : 👋 Hello, welcome to oc-mirror
2025/04/27 23:01:30  \x1b[36m[INFO]\x1b[0m   : ⚙️  setting up the environment for you...
2025/04/27 23:01:31  \x1b[36m[INFO]\x1b[0m   : 🔀 workflow mode: mirrorToMirror
2025/04/27 23:01:33  \x1b[36m[INFO]\x1b[0m   : 🔍 collecting additional images...
2025/04/27 23:01:34  \x1b[36m[INFO]\x1b[0m   : images to copy 4
2025/04/27 23:01:40  \x1b[36m[INFO]\x1b[0m   : Success copying registry.redhat.io/rhdh/rhdh-hub-rhel9@{DIGEST} ➡️  mirror.local:5000/rhdh/rhdh/rhdh-hub-rhel9@{DIGEST}
2025/04/27 23:01:41  \x1b[36m[INFO]\x1b[0m   : Success copying docker://quay.io/ns/tool:1.2 ➡️  docker://mirror.local:5000/rhdh/ns/tool:1.2
2025/04/27 23:01:42  \x1b[31m[ERROR]\x1b[0m  : [Worker] error mirroring image docker://registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0 error: initializing source docker://registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0: reading manifest 1.36.0 in registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8: manifest unknown
2025/04/27 23:01:42  \x1b[31m[ERROR]\x1b[0m  : Failed to copy additional image docker://registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0
2025/04/27 23:01:43  \x1b[31m[ERROR]\x1b[0m  : Failed to copy operator image quay.io/ns/op-bundle:v1: unauthorized: access to the requested resource is not authorized
2025/04/27 23:01:44  \x1b[36m[INFO]\x1b[0m   : 📄 Generating IDMS file...
=== Results ===
\x1b[32m✓\x1b[0m  575 / 575 release images mirrored successfully
\x1b[31m✗\x1b[0m  272 / 281 operator images mirrored: Some operator images failed to be mirrored - please check the logs
\x1b[31m✗\x1b[0m  1 / 2 additional images mirrored: Some additional images failed to be mirrored - please check the logs
2025/04/27 23:01:45  \x1b[31m[ERROR]\x1b[0m  : some operator images failed, see mirroring_errors_20250427_230145.txt
"""


def test_strip_ansi_removes_colour_and_cursor_codes() -> None:
    assert strip_ansi("\x1b[1;31m[ERROR]\x1b[0m  : x\x1b[2K\r\n") == "[ERROR]  : x"
    assert strip_ansi("\x1b]0;title\x07plain") == "plain"


def test_parse_sample_log_yields_every_event_kind() -> None:
    events = [e for e in map(parse_line, SAMPLE_LOG.splitlines()) if e is not None]
    assert ImagesToCopy(4) in events
    assert (
        CopiedImage(f"registry.redhat.io/rhdh/rhdh-hub-rhel9@{DIGEST}", f"mirror.local:5000/rhdh/rhdh/rhdh-hub-rhel9@{DIGEST}")
        in events
    )
    assert CopiedImage("docker://quay.io/ns/tool:1.2", "docker://mirror.local:5000/rhdh/ns/tool:1.2") in events
    worker = [e for e in events if isinstance(e, FailedImage) and not e.kind]
    assert worker == [
        FailedImage(
            image="docker://registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0",
            reason="initializing source docker://registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0:"
            " reading manifest 1.36.0 in registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8: manifest unknown",
        )
    ]
    typed = [e for e in events if isinstance(e, FailedImage) and e.kind]
    assert typed[0] == FailedImage(
        "docker://registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0", kind="additional", reason=""
    )
    assert typed[1].image == "quay.io/ns/op-bundle:v1"
    assert typed[1].kind == "operator"
    assert typed[1].reason.startswith("unauthorized")
    assert ResultsStarted() in events
    results = [e for e in events if isinstance(e, CategoryCount)]
    assert results == [
        CategoryCount("release", 575, 575, True, ""),
        CategoryCount("operator", 272, 281, False, "Some operator images failed to be mirrored - please check the logs"),
        CategoryCount("additional", 1, 2, False, "Some additional images failed to be mirrored - please check the logs"),
    ]
    assert isinstance(events[-1], ErrorMessage)
    assert "mirroring_errors_" in events[-1].text


def test_info_lines_without_events_are_ignored() -> None:
    assert parse_line("2025/04/27 23:01:30  [INFO]   : 🔀 workflow mode: mirrorToDisk") is None
    assert parse_line("") is None
    assert parse_line("\x1b[0m") is None


def test_collector_merges_duplicate_failures_and_keeps_reasons() -> None:
    seen = []
    collector = _Collector(seen.append)
    for line in SAMPLE_LOG.splitlines():
        collector.feed(line)
    assert collector.images_total == 4
    assert len(collector.copied) == 2
    failed = {f.image: f for f in collector.failed.values()}
    swf = failed["registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0"]
    assert swf.kind == "additional" and "manifest unknown" in swf.reason
    assert failed["quay.io/ns/op-bundle:v1"].kind == "operator"
    assert len(failed) == 2
    assert len(seen) >= 10


def test_error_file_lines() -> None:
    assert parse_error_file_line("error mirroring image docker://a.io/b/c:1 error: manifest unknown") == FailedImage(
        "docker://a.io/b/c:1", reason="manifest unknown"
    )
    assert parse_error_file_line("a.io/b/c@" + DIGEST + " timeout") == FailedImage("a.io/b/c@" + DIGEST, reason="timeout")
    assert parse_error_file_line("   ") is None


@pytest.mark.parametrize(
    ("output", "version"),
    [
        (
            'Client Version: version.Info{Major:"", Minor:"", GitVersion:"4.19.0-202507292137.p0.gf4d5ba3.assembly.stream.el9-f4d5ba3", GitCommit:"f4d5ba3"}',
            "4.19.0-202507292137.p0.gf4d5ba3.assembly.stream.el9-f4d5ba3",
        ),
        ("clientVersion:\n  gitVersion: 4.17.3\n", "4.17.3"),
        ("oc-mirror v4.16.0", "4.16.0"),
        ("no idea", "unknown"),
    ],
)
def test_parse_version(output: str, version: str) -> None:
    assert parse_version(output) == version


def test_target_parse_and_errors() -> None:
    assert Target.parse("docker://mirror.example.com:5000/rhdh/x") == Target("mirror.example.com", 5000, "rhdh/x")
    assert str(Target.parse("127.0.0.1:5000")) == "docker://127.0.0.1:5000"
    assert Target.parse("docker://localhost").registry == "localhost"
    for bad in ("http://host:5000", "docker://host:99999", "docker://", "docker://host/UPPER", "docker://ho st"):
        with pytest.raises(InputError) as info:
            Target.parse(bad)
        assert "docker://HOST" in str(info.value)


def test_build_args_for_each_workflow(tmp_path: Path) -> None:
    isc = tmp_path / "isc.yaml"
    m2d = build_args(
        MirrorToDiskOptions(
            config=isc,
            archive_dir=tmp_path / "a",
            since="2025-06-30",
            parallel_images=3,
            retry_times=2,
            retry_delay_s=1.5,
            src_tls_verify=False,
            cache_dir=tmp_path / "c",
        )
    )
    assert m2d[:3] == ["--v2", "-c", str(isc)]
    assert m2d[-1] == f"file://{tmp_path / 'a'}"
    assert m2d[m2d.index("--since") : m2d.index("--since") + 2] == ["--since", "2025-06-30"]
    assert "--src-tls-verify=false" in m2d and "--dest-tls-verify=true" in m2d
    assert m2d[m2d.index("--retry-delay") + 1] == "1500ms"
    assert m2d[m2d.index("--cache-dir") + 1] == str(tmp_path / "c")
    d2m = build_args(
        DiskToMirrorOptions(
            config=isc,
            archive_dir=tmp_path / "a",
            target="docker://reg:5000/p",
            authfile=tmp_path / "auth.json",
            dry_run=False,
            max_nested_paths=2,
        )
    )
    assert d2m[d2m.index("--from") + 1] == f"file://{tmp_path / 'a'}"
    assert d2m[-1] == "docker://reg:5000/p"
    assert d2m[d2m.index("--authfile") + 1] == str(tmp_path / "auth.json")
    assert d2m[d2m.index("--max-nested-paths") + 1] == "2"
    m2m = build_args(
        MirrorToMirrorOptions(config=isc, workspace=tmp_path / "w", target="reg:5000", dry_run=True, log_level="debug")
    )
    assert m2m[m2m.index("--workspace") + 1] == f"file://{tmp_path / 'w'}"
    assert "--dry-run" in m2m and m2m[m2m.index("--log-level") + 1] == "debug"
    assert "--since" not in d2m + m2m


@pytest.mark.parametrize(
    "kwargs",
    [{"parallel_images": 11}, {"parallel_layers": 0}, {"since": "30/06/2025"}, {"retry_times": -1}, {"log_level": "loud"}],
)
def test_options_refuse_bad_values(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(InputError):
        MirrorToDiskOptions(config=tmp_path / "isc.yaml", archive_dir=tmp_path, **kwargs)


def test_exit_bitmask() -> None:
    assert failed_categories(0) == ()
    assert failed_categories(12) == ("operator", "additional")
    assert failed_categories(1) == ("generic",)
    assert failed_categories(-9) == ("generic",)
    assert describe_exit(10) == "exit 10 (release, additional images failed)"
    assert describe_exit(-9) == "killed by SIGKILL"


def _result(tmp_path: Path, **kw: object) -> MirrorResult:
    base: dict = dict(
        workflow="diskToMirror",
        exit_code=0,
        images_total=2,
        copied=(CopiedImage("a/b:1", "t/a/b:1"),),
        failed=(),
        categories=(),
        errors=(),
        log_file=tmp_path / "x.log",
        working_dir=tmp_path,
        duration_s=1.0,
    )
    base.update(kw)
    return MirrorResult(**base)


def test_result_ok_summary_and_raise(tmp_path: Path) -> None:
    ok = _result(tmp_path, images_total=1)
    assert ok.ok and raise_for_result(ok) is ok
    assert ok.summary.startswith("oc-mirror disk to mirror succeeded: 1 / 1 images copied")
    # oc-mirror < 4.19 exits 0 with failures: the failures alone make it not ok.
    legacy = _result(tmp_path, failed=(FailedImage("q.io/x/y:1", "manifest unknown", "additional"),))
    assert not legacy.ok
    with pytest.raises(MirrorError) as info:
        raise_for_result(legacy)
    assert info.value.exit_code == 1
    message = str(info.value)
    assert "q.io/x/y:1 (manifest unknown)" in message and "run the same command again" in message
    generic = _result(tmp_path, exit_code=1, copied=(), errors=('json: unknown field "foo"',))
    assert 'cause: json: unknown field "foo"' in generic.summary
    assert generic.to_dict()["failedCategories"] == ["generic"]


def test_mapping_and_missing_files(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.txt"
    mapping.write_text(
        f"docker://registry.redhat.io/a/b@{DIGEST}=docker://localhost:55000/a/b@{DIGEST}\n\n"
        "docker://quay.io/c/d:1=docker://mirror:5000/p/c/d:1\n"
    )
    assert read_mapping(mapping) == (
        (f"registry.redhat.io/a/b@{DIGEST}", f"localhost:55000/a/b@{DIGEST}"),
        ("quay.io/c/d:1", "mirror:5000/p/c/d:1"),
    )
    missing = tmp_path / "missing.txt"
    missing.write_text("docker://quay.io/c/d:1=docker://localhost:55000/c/d:1\nquay.io/e/f:2\n")
    assert read_missing(missing) == ("quay.io/c/d:1", "quay.io/e/f:2")
    assert read_missing(tmp_path / "absent.txt") == ()


def test_cluster_resources_checked_as_kubernetes_yaml(tmp_path: Path) -> None:
    folder = tmp_path / "cluster-resources"
    folder.mkdir()
    (folder / "idms-oc-mirror.yaml").write_text(
        "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: idms-operator-0\n"
        "spec:\n  imageDigestMirrors: []\n---\napiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\n"
        "metadata:\n  name: idms-release-0\n"
    )
    (folder / "cs-redhat-operator-index-v4-19.yaml").write_text(
        "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata:\n  name: cs-redhat-operator-index-v4-19\n"
        "  namespace: openshift-marketplace\nspec:\n  sourceType: grpc\n"
    )
    (folder / "signature-configmap.json").write_text(
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mirrored-release-signatures"}}'
    )
    (folder / "updateService.yaml").write_text("apiVersion: x/v1\nkind: UpdateService\nmetadata: {}\n")
    (folder / "cc-broken.yaml").write_text("kind: [unclosed\n")
    resources, problems = read_cluster_resources(tmp_path)
    assert sorted((r.kind, r.name) for r in resources) == [
        ("CatalogSource", "cs-redhat-operator-index-v4-19"),
        ("ConfigMap", "mirrored-release-signatures"),
        ("ImageDigestMirrorSet", "idms-operator-0"),
        ("ImageDigestMirrorSet", "idms-release-0"),
    ]
    assert [r.namespace for r in resources if r.kind == "CatalogSource"] == ["openshift-marketplace"]
    assert len(problems) == 2
    assert any(p.startswith("cc-broken.yaml is not valid YAML") for p in problems)
    assert any(p.startswith("updateService.yaml has an object without") for p in problems)


def test_error_files_only_from_this_run(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    old = logs / "mirroring_errors_20250101_000000.txt"
    old.write_text("error mirroring image docker://a.io/old:1 error: stale\n")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    start = time.time() - 1
    (logs / "mirroring_errors_20250427_230145.txt").write_text(
        "error mirroring image docker://a.io/new:1 error: manifest unknown\n"
    )
    assert [f.image for f in read_error_files(tmp_path, newer_than=start)] == ["docker://a.io/new:1"]


def test_find_oc_mirror_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIRRORKIT_OC_MIRROR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFound) as info:
        find_oc_mirror()
    assert info.value.exit_code == 2 and "mirror.openshift.com" in str(info.value)
    with pytest.raises(ToolNotFound, match="not found at"):
        find_oc_mirror(tmp_path / "nope")
    script = tmp_path / "oc-mirror"
    script.write_text("#!/bin/sh\necho 'Client Version: version.Info{GitVersion:\"4.18.2\"}'\n")
    with pytest.raises(ToolNotFound, match="chmod"):
        find_oc_mirror(script)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("MIRRORKIT_OC_MIRROR", str(script))
    tool = find_oc_mirror()
    assert tool.path == script and tool.version == "4.18.2" and not tool.exits_nonzero_on_mirror_errors
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(ToolNotFound, match="exit code 3"):
        find_oc_mirror(broken)


# Lines as oc-mirror's own sources print them without a terminal (batch worker, logResult): the
# Success line names the ISC origin and `cache` or `host/namespace/`; the image type is oc-mirror's
# ImageType name (`generic` for additionalImages); 4.18 printed `Failed copying image REF` and no
# arrow; releases before the spinner marks used ✅/❌.
@pytest.mark.parametrize(
    ("line", "event"),
    [
        (
            "2025/06/01 10:00:00  [INFO]   : Success copying quay.io/ns/tool:1.2 ➡️ cache",
            CopiedImage("quay.io/ns/tool:1.2", "cache"),
        ),
        (
            "2025/06/01 10:00:00  [INFO]   : Success copying quay.io/ns/tool:1.2 ➡️ mirror.local:5000/rhdh/ns/",
            CopiedImage("quay.io/ns/tool:1.2", "mirror.local:5000/rhdh/ns/"),
        ),
        (
            "2025/01/30 14:14:04  [INFO]   : Success copying oci:///home/u/redhat-operator-index",
            CopiedImage("oci:///home/u/redhat-operator-index", ""),
        ),
        (
            "2025/01/30 14:14:05  [ERROR]  : Failed copying image registry.redhat.io/invalid/invalid:latest",
            FailedImage("registry.redhat.io/invalid/invalid:latest"),
        ),
        (
            "2025/06/01 10:00:00  [ERROR]  : Failed to copy generic quay.io/ns/missing:1.0",
            FailedImage("quay.io/ns/missing:1.0", kind="additional"),
        ),
        (
            "2025/06/01 10:00:00  [ERROR]  : Failed to copy operatorRelatedImage quay.io/ns/op@" + DIGEST,
            FailedImage("quay.io/ns/op@" + DIGEST, kind="operator"),
        ),
        (
            "2025/06/01 10:00:00  [ERROR]  : Failed to copy ocpReleaseContent quay.io/ocp/art@" + DIGEST,
            FailedImage("quay.io/ocp/art@" + DIGEST, kind="release"),
        ),
        (
            "2024/07/26 12:48:38  [INFO]   : ✅ 185 / 185 release images mirrored successfully",
            CategoryCount("release", 185, 185, True),
        ),
        (
            "2024/07/26 12:48:38  [INFO]   : ❌ 1 / 2 additional images mirrored: Some additional images failed",
            CategoryCount("additional", 1, 2, False, "Some additional images failed"),
        ),
        (
            "2025/06/01 10:00:00  [INFO]   : \x1b[1;92m ✓ \x1b[0m 3 / 3 additional images mirrored successfully",
            CategoryCount("additional", 3, 3, True),
        ),
        ("2025/06/01 10:00:00  [INFO]   : === Results ===", ResultsStarted()),
        ("2025/06/01 10:00:00  [INFO]   : 📌 images to copy 8", ImagesToCopy(8)),
    ],
)
def test_parse_line_matches_oc_mirror_source_formats(line: str, event: object) -> None:
    assert parse_line(line) == event


# The exact bytes oc-mirror v2 prints (microlib/simple's logger: the colour code comes BEFORE the
# level and is reset before the padding; batch/concurrent_chan_worker.go, batch/common.go, main.go).
RAW_INFO = "2025/06/01 10:00:00 \x1b[1;54m [INFO] \x1b[0m  : "
RAW_ERROR = "2025/06/01 10:00:00 \x1b[1;91m [ERROR] \x1b[0m : "
RAW_WARN = "2025/06/01 10:00:00 \x1b[1;93m [WARN] \x1b[0m  : "


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (RAW_INFO + "📌 images to copy 3 ", ImagesToCopy(3)),
        (RAW_INFO + "Success copying quay.io/ns/a:1 ➡️ cache", CopiedImage("quay.io/ns/a:1", "cache")),
        # hostNamespace keeps the only path element (tag included) when the path has one
        (RAW_INFO + "Success copying quay.io/a:1 ➡️ mirror.local:5000/a:1/", CopiedImage("quay.io/a:1", "mirror.local:5000/a:1/")),
        (RAW_ERROR + "Failed to copy helmImage docker://quay.io/ns/h:1", FailedImage("docker://quay.io/ns/h:1", kind="helm")),
        (
            RAW_ERROR + "Failed to copy cincinnatiGraph docker://localhost:55000/openshift/graph-image:latest",
            FailedImage("docker://localhost:55000/openshift/graph-image:latest", kind="release"),
        ),
        (RAW_INFO + "=== Results ===", ResultsStarted()),
        (
            RAW_INFO
            + "\x1b[1;91m ✗ \x1b[0m 1 / 2 helm images mirrored: Some helm images failed to be mirrored - please check the logs",
            CategoryCount("helm", 1, 2, False, "Some helm images failed to be mirrored - please check the logs"),
        ),
        (
            RAW_ERROR
            + "[Worker] error mirroring image docker://q.io/ns/b@"
            + DIGEST
            + " (Operator bundles: [b.v1 c.v2] - Operators: [b c]) error: manifest unknown",
            FailedImage("docker://q.io/ns/b@" + DIGEST, reason="manifest unknown"),
        ),
        (
            RAW_ERROR + "[Executor] 55000 is already bound and cannot be used ",
            ErrorMessage("[Executor] 55000 is already bound and cannot be used"),
        ),
        (RAW_WARN + "since flag is only taken into account during mirrorToDisk workflow", None),
    ],
)
def test_parse_line_reads_oc_mirror_raw_bytes(line: str, event: object) -> None:
    assert parse_line(line) == event


def test_kubevirt_failure_without_a_type_name_is_still_a_failure() -> None:
    # TypeKubeVirtContainer has no name in imageTypeStrings: oc-mirror prints two spaces and no type.
    event = parse_line(RAW_ERROR + "Failed to copy  docker://quay.io/kv/disk:1")
    assert event == FailedImage("docker://quay.io/kv/disk:1", kind="release")


def test_batch_error_block_keeps_its_first_line_only() -> None:
    # main() logs the batch error after `[Executor] `; its continuation lines carry no prefix.
    first = parse_line(RAW_ERROR + "[Executor] [Worker] some errors occurred during the mirroring.")
    assert first == ErrorMessage("[Executor] [Worker] some errors occurred during the mirroring.")
    assert (
        parse_line("\t Please review /w/working-dir/logs/mirroring_errors_20250601_100000.txt for a list of mirroring errors.")
        is None
    )
    assert parse_line("\t * mirroring the failing images manually, if retries also fail. ") is None


def test_summary_when_log_level_error_hides_the_counts(tmp_path: Path) -> None:
    result = MirrorResult(
        workflow="mirrorToDisk",
        exit_code=0,
        images_total=None,
        copied=(),
        failed=(),
        categories=(),
        errors=(),
        log_file=tmp_path / "l.log",
        working_dir=tmp_path,
        duration_s=1.0,
        counts_logged=False,
    )
    assert result.ok and "--log-level error hides" in result.summary and "stopped before" not in result.summary
