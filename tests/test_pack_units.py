"""pack's planning helpers against a real registry: the space estimate and archive reuse rules."""

from __future__ import annotations

import os

import pytest

from mirrorkit.bundle.manifest import ImageEntry
from mirrorkit.oci.client import OciClient
from mirrorkit.pack import _image_bytes, work_dir_for
from tests.services.images import make_layer, push_image, push_index


@pytest.mark.integration
def test_space_estimate_counts_every_platform_of_an_index(registry):
    big = 200_000
    layers = {
        ("linux", "amd64"): [make_layer({"blob": os.urandom(big)})],
        ("linux", "arm64"): [make_layer({"blob": os.urandom(big)})],
    }
    multi = push_index(registry.host, "estimate/multi", "v1", layers_for=layers)
    single = push_image(registry.host, "estimate/single", "v1", [make_layer({"blob": os.urandom(big)})])
    client = OciClient(tls_verify=False)
    images = [
        ImageEntry(f"{registry.host}/estimate/multi:v1", multi.digest),
        ImageEntry(f"{registry.host}/estimate/single:v1", single.digest),
    ]
    estimate = _image_bytes(images, client, jobs=2)
    assert 3 * big <= estimate < 3 * big + 64 * 1024  # gzip of random bytes adds a little; manifests are small


def test_work_dir_is_a_hidden_sibling(tmp_path):
    work = work_dir_for(tmp_path / "bundle")
    assert work.parent == tmp_path and work.name.startswith(".bundle") and work != tmp_path / "bundle"


def test_options_never_show_the_npm_token_or_the_passphrase(tmp_path):
    from mirrorkit.pack import PackOptions
    from mirrorkit.push import PushOptions

    packed = PackOptions(output=tmp_path, profile="p", npm_token="npm_SECRETTOKEN", passphrase=b"hunter2-pass")
    pushed = PushOptions(
        bundle=tmp_path, registry="r:5000", npm_registry="http://n", output=tmp_path, npm_token="npm_SECRETTOKEN"
    )
    for text in (repr(packed), str(packed), repr(pushed)):
        assert "SECRETTOKEN" not in text and "hunter2" not in text


def test_pack_refuses_an_oc_mirror_cache_inside_the_bundle(tmp_path, cli_run):
    isc = tmp_path / "isc.yaml"
    isc.write_text("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror: {}\n")
    code, _out, err = cli_run(
        "pack", "--config", isc, "--output", tmp_path / "b", "--cache-dir", tmp_path / "b" / "cache", "--unsigned", "-q"
    )
    assert code == 2 and "--cache-dir" in err and "inside the bundle" in err
    assert not (tmp_path / "b").exists()


def test_steps_name_the_interrupted_step_also_when_oc_mirror_was_stopped():
    from mirrorkit.errors import Interrupted
    from mirrorkit.steps import Steps

    said: list[str] = []
    with pytest.raises(Interrupted) as exc, Steps("push", "Run it again", said.append) as step:
        step("loading images", "loading images into r:5000")
        raise Interrupted("interrupted: oc-mirror was stopped", hint="log: x.log")
    assert str(exc.value) == "push interrupted while loading images: interrupted: oc-mirror was stopped. Run it again"
    assert exc.value.exit_code == 130 and said == ["loading images into r:5000"]
    with pytest.raises(ValueError):  # anything else passes through untouched
        with Steps("pack", "again"):
            raise ValueError("bug")
