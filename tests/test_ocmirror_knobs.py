"""oc-mirror's knobs (issue 27): one spelling on pack, push and mirror, checked before anything runs,
passed to oc-mirror as its own flags (and a registries.conf as $CONTAINERS_REGISTRIES_CONF), and a
run with all of them set succeeds against the test double, pulling through a registries.conf mirror."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mirrorkit.errors import InputError
from mirrorkit.ocmirror import (
    DiskToMirrorOptions,
    Knobs,
    MirrorToDiskOptions,
    MirrorToMirrorOptions,
    build_args,
    build_env,
    find_oc_mirror,
    mirror_to_disk,
)
from mirrorkit.ocmirror.knobs import parse_duration
from tests.services.images import push_image
from tests.services.registry import LocalRegistry

RAW = {
    "max_nested_paths": "2",
    "parallel_images": "3",
    "parallel_layers": "7",
    "retry_times": "9",
    "retry_delay": "1m30s",
    "image_timeout": "45m",
    "since": "2025-06-30",
}


def _conf(tmp_path: Path, body: str = "") -> Path:
    path = tmp_path / "registries.conf"
    path.write_text(body or "unqualified-search-registries = []\n", encoding="utf-8")
    return path


def test_durations_read_as_go_does() -> None:
    assert parse_duration("1m30s", "--x") == 90
    assert parse_duration("500ms", "--x") == 0.5
    assert parse_duration("2h", "--x") == 7200
    assert parse_duration("7", "--x") == 7  # mirror's --retry-delay took SECONDS
    for bad in ("", "10x", "1m 30s", "-3s", "s"):
        with pytest.raises(InputError):
            parse_duration(bad, "--x")


def test_every_knob_reaches_the_oc_mirror_command_line(tmp_path: Path) -> None:
    regd = tmp_path / "registries.d"
    regd.mkdir()
    knobs = Knobs.from_raw({**RAW, "registries_d": str(regd), "registries_conf": str(_conf(tmp_path))})
    common = {"config": tmp_path / "isc.yaml", "cache_dir": tmp_path / "cache"}
    m2d = knobs.apply(MirrorToDiskOptions(archive_dir=tmp_path / "a", **common))
    args = build_args(m2d)
    pairs = {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
    assert pairs["--max-nested-paths"] == "2"
    assert pairs["--parallel-images"] == "3" and pairs["--parallel-layers"] == "7"
    assert pairs["--retry-times"] == "9" and pairs["--retry-delay"] == "90s"
    assert pairs["--image-timeout"] == "2700s"
    assert pairs["--since"] == "2025-06-30"
    assert pairs["--registries.d"] == str(regd.resolve())
    assert build_env(m2d) == {"CONTAINERS_REGISTRIES_CONF": str((tmp_path / "registries.conf").resolve())}
    # disk to mirror and mirror to mirror take the same knobs, never --since (mirror to disk only)
    for options in (
        DiskToMirrorOptions(archive_dir=tmp_path / "a", target="reg.example:5000/x", **common),
        MirrorToMirrorOptions(workspace=tmp_path / "w", target="reg.example:5000/x", **common),
    ):
        other = build_args(knobs.apply(options))
        assert "--since" not in other and "--image-timeout" in other and "--registries.d" in other
    # unset knobs leave oc-mirror's (or push's) defaults alone
    plain = MirrorToDiskOptions(archive_dir=tmp_path / "a", retry_times=3, **common)
    assert Knobs().apply(plain) == plain
    assert "--image-timeout" not in build_args(plain) and build_env(plain) == {}


def test_bad_knobs_are_all_named_before_anything_runs(cli_run: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    bad_conf = _conf(tmp_path, "[[registry]\nprefix = 'x'\n")
    bad = [
        "--parallel-images", "11",
        "--parallel-layers", "zero",
        "--retry-times", "-1",
        "--retry-delay", "soon",
        "--image-timeout", "0s",
        "--max-nested-paths", "-2",
        "--registries-conf", str(bad_conf),
        "--registries-d", str(tmp_path / "nowhere"),
    ]  # fmt: skip
    expected = (
        "--parallel-images 11 is out of range",
        "--parallel-layers 'zero' is not a whole number",
        "--retry-times -1 is out of range",
        "--retry-delay 'soon' is not a duration",
        "--image-timeout 0 would stop every copy",
        "--max-nested-paths -2 is out of range",
        "is not valid TOML",
        "is not a folder",
    )
    commands = {
        "pack": ["pack", "--profile", "x", "-o", str(tmp_path / "b"), "--unsigned", "--since", "30/06/2025"],
        "push": ["push", str(tmp_path), "--target-registry", "r:5000", "--target-npm", "http://n", "-o", str(tmp_path / "o")],
        "mirror": ["mirror", "direct", "-c", str(bad_conf), "--workspace", str(tmp_path / "w"), "--target-registry", "r:5000"],
    }
    for name, args in commands.items():
        code, _, err = cli_run("--debug", *args, *bad)
        assert code == 2, (name, err)
        for text in expected:
            assert text in err, (name, text, err)
        if name == "pack":
            assert "--since '30/06/2025' is not a date" in err
    code, _, err = cli_run("push", str(tmp_path), "--since", "2025-01-01")
    assert code == 2 and "No such option '--since'" in err  # mirror to disk only


def test_knobs_in_help_of_every_command(cli_run: Callable[..., tuple[int, str, str]]) -> None:
    knobs = ("--max-nested-paths", "--parallel-images", "--parallel-layers", "--retry-times", "--retry-delay")
    knobs += ("--image-timeout", "--registries-conf", "--registries-d")
    for command in (["pack"], ["push"], ["mirror", "to-disk"], ["mirror", "to-mirror"], ["mirror", "direct"]):
        _, out, _ = cli_run(*command, "--help")
        for knob in knobs:
            assert knob in out, (command, knob)
        assert ("--since" in out) == (command[-1] in ("pack", "to-disk")), command


@pytest.mark.integration
def test_double_run_with_every_knob_pulls_through_a_registries_conf_mirror(
    oc_mirror_double: Path,
    skopeo: str,
    registry_factory: Callable[..., LocalRegistry],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ISC names a registry that does not exist; the registries.conf mirrors it to a real local
    registry. The copy can only succeed if oc-mirror (here the double's skopeo) read that file."""
    monkeypatch.delenv("MIRRORKIT_OC_MIRROR", raising=False)
    monkeypatch.setenv(
        "PATH", os.pathsep.join([str(oc_mirror_double.parent), str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    source = registry_factory()
    push_image(source.host, "knobs/app", "1.0", docker=True)
    conf = _conf(
        tmp_path,
        '[[registry]]\nprefix = "upstream.invalid"\nlocation = "upstream.invalid"\n'
        f'[[registry.mirror]]\nlocation = "{source.host}"\ninsecure = true\n',
    )
    regd = tmp_path / "registries.d"
    regd.mkdir()
    isc = tmp_path / "isc.yaml"
    isc.write_text(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n"
        "  additionalImages:\n  - name: upstream.invalid/knobs/app:1.0\n"
    )
    knobs = Knobs.from_raw({**RAW, "registries_d": str(regd), "registries_conf": str(conf)})
    options = knobs.apply(
        MirrorToDiskOptions(archive_dir=tmp_path / "a", config=isc, cache_dir=tmp_path / "c", src_tls_verify=False)
    )
    result = mirror_to_disk(find_oc_mirror(), options, progress=False)
    assert result.ok, result.summary
    assert len(result.copied) == 1 and any((tmp_path / "a").glob("mirror_*.tar"))
    ran = result.log_file.read_text(encoding="utf-8").splitlines()[0]
    for flag in ("--parallel-images 3", "--retry-delay 90s", "--image-timeout 2700s", "--registries.d", "--since 2025-06-30"):
        assert flag in ran, ran
