"""Target checks follow the IDMS/ITMS oc-mirror wrote (renamed repositories included), falling back to
the path convention only for images no mirror set covers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mirrorkit.bundle import ImageEntry, seal_bundle
from mirrorkit.bundle.mirrorsets import MirrorSets
from mirrorkit.bundle.targets import image_locations
from mirrorkit.errors import InputError
from tests.services.images import make_layer, push_image

DIGEST = "sha256:" + "a" * 64


def _write(folder: Path, name: str, kind: str, key: str, entries: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"apiVersion": "config.openshift.io/v1", "kind": kind, "metadata": {"name": name.split(".")[0]}, "spec": {key: entries}}
    (folder / name).write_text(yaml.safe_dump(doc))


def test_longest_source_wins_and_the_rest_of_the_path_is_kept(tmp_path):
    _write(
        tmp_path,
        "idms-oc-mirror.yaml",
        "ImageDigestMirrorSet",
        "imageDigestMirrors",
        [
            {"source": "registry.redhat.io/rhdh", "mirrors": ["mirror.local:5000/flat"]},
            {"source": "registry.redhat.io/rhdh/hub-rhel9", "mirrors": ["mirror.local:5000/renamed/hub", "backup.local/hub"]},
        ],
    )
    _write(
        tmp_path,
        "itms-oc-mirror.yaml",
        "ImageTagMirrorSet",
        "imageTagMirrors",
        [
            {"source": "registry.redhat.io/rhdh/hub-rhel9", "mirrors": ["tags.local/hub"]},
        ],
    )
    (tmp_path / "cs-catalog.yaml").write_text(
        "apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata: {name: cs}\nspec: {sourceType: grpc}\n"
    )
    sets = MirrorSets.load(tmp_path)
    hub = sets.match("registry.redhat.io/rhdh/hub-rhel9")
    assert hub is not None and hub.repositories == ("mirror.local:5000/renamed/hub", "backup.local/hub")
    assert hub.rule.kind == "ImageDigestMirrorSet"  # a digest mirror set beats a tag one on a tie
    nested = sets.match("registry.redhat.io/rhdh/operator/bundle")
    assert nested is not None and nested.repositories == ("mirror.local:5000/flat/operator/bundle",)
    assert sets.match("registry.redhat.io/rhdhx/other") is None  # prefixes end at a '/'
    assert sets.match("quay.io/rhdh/hub-rhel9") is None


def test_images_without_a_rule_fall_back_to_the_path_convention(tmp_path):
    _write(
        tmp_path / "cluster-resources",
        "idms-oc-mirror.yaml",
        "ImageDigestMirrorSet",
        "imageDigestMirrors",
        [{"source": "quay.io/a/app", "mirrors": ["m:5000/pfx/renamed/app"]}],
    )
    sets = MirrorSets.load(tmp_path)  # push's output folder is accepted as well as its cluster-resources/
    covered = ImageEntry("quay.io/a/app:1", DIGEST, "localhost:55000/a/app")
    other = ImageEntry("quay.io/b/tool:2", DIGEST)
    assert image_locations(covered, "m:5000/pfx", sets) == (
        (f"m:5000/pfx/renamed/app@{DIGEST}",),
        "ImageDigestMirrorSet idms-oc-mirror (idms-oc-mirror.yaml)",
    )
    locations, via = image_locations(other, "docker://m:5000/pfx", sets)
    assert locations == (f"m:5000/pfx/b/tool@{DIGEST}",) and via.startswith("path convention")
    assert image_locations(other, None, sets)[0] == ()


@pytest.mark.parametrize(
    "content, why",
    [
        ("kind: ImageDigestMirrorSet\nmetadata: {name: x}\nspec: {}\n", "no spec.imageDigestMirrors"),
        ("kind: ImageDigestMirrorSet\nmetadata: {name: x}\nspec: {imageDigestMirrors: [{source: a/b}]}\n", "non-empty 'mirrors'"),
        ("kind: [unclosed\n", "not valid YAML"),
    ],
)
def test_malformed_mirror_sets_are_refused_naming_the_file(tmp_path, content, why):
    (tmp_path / "idms-oc-mirror.yaml").write_text(content)
    with pytest.raises(InputError) as exc:
        MirrorSets.load(tmp_path)
    assert "idms-oc-mirror.yaml" in str(exc.value) and why in str(exc.value)


def test_a_folder_without_mirror_sets_is_refused(tmp_path, cli_run):
    (tmp_path / "bundle").mkdir()
    seal_bundle(tmp_path / "bundle", images=[ImageEntry("quay.io/a/app:1", DIGEST)], cache_file=False, progress=False)
    (tmp_path / "empty").mkdir()
    code, _out, err = cli_run("verify", tmp_path / "bundle", "--cluster-resources", tmp_path / "empty")
    assert code == 2 and "no ImageDigestMirrorSet or ImageTagMirrorSet" in err and "Traceback" not in err


def test_garbage_registry_is_an_input_error_before_any_hashing(tmp_path, cli_run):
    (tmp_path / "bundle").mkdir()
    seal_bundle(tmp_path / "bundle", images=[ImageEntry("quay.io/a/app:1", DIGEST)], cache_file=False, progress=False)
    code, out, err = cli_run("verify", tmp_path / "bundle", "--target-registry", "ftp://what ever")
    assert code == 2 and "--target-registry: scheme ftp:// is not docker://" in err and out == ""


@pytest.mark.integration
def test_push_and_verify_follow_the_idms_of_a_renamed_repository(
    registry_factory, verdaccio_factory, oc_mirror_double, skopeo, tmp_path, cli_run
):
    source, target = registry_factory(), registry_factory()
    pushed = push_image(source.host, "team/app", "1.0", [make_layer({"app": b"renamed by targetRepo"})])
    isc = tmp_path / "isc.yaml"
    isc.write_text(
        yaml.safe_dump(
            {
                "kind": "ImageSetConfiguration",
                "apiVersion": "mirror.openshift.io/v2alpha1",
                "mirror": {
                    "additionalImages": [{"name": f"{source.host}/team/app@{pushed.digest}", "targetRepo": "elsewhere/app"}]
                },
            }
        )
    )
    env = {
        **os.environ,
        "PATH": f"{oc_mirror_double.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
    }

    def mirrorkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mirrorkit", *map(str, args)], env=env, capture_output=True, text=True, timeout=300
        )

    bundle, out = tmp_path / "bundle", tmp_path / "install"
    packed = mirrorkit("pack", "--config", isc, "--output", bundle, "--no-tls-verify", "--unsigned", "-q")
    assert packed.returncode == 0, packed.stderr
    npm = verdaccio_factory()
    pushed_run = mirrorkit(
        "push",
        bundle,
        "--target-registry",
        f"{target.host}/mirror",
        "--target-npm",
        npm.url,
        "--output",
        out,
        "--no-tls-verify",
        "--allow-unsigned",
        "-q",
    )
    assert pushed_run.returncode == 0, pushed_run.stdout + pushed_run.stderr
    idms = yaml.safe_load((out / "cluster-resources" / "idms-oc-mirror.yaml").read_text())
    assert idms["spec"]["imageDigestMirrors"] == [
        {"mirrors": [f"{target.host}/mirror/elsewhere/app"], "source": f"{source.host}/team/app"}
    ]
    items = [i for i in json.loads((out / "report.json").read_text())["items"] if i["category"] == "image"]
    assert len(items) == 1 and items[0]["status"] == "passed"
    assert items[0]["expected"] == f"{target.host}/mirror/elsewhere/app@{pushed.digest} present"
    assert "ImageDigestMirrorSet idms-generic-0" in items[0]["detail"]

    # A bundle that does not record the destination (the convention then guesses team/app): only
    # the IDMS knows the image was renamed.
    bare = tmp_path / "bare"
    bare.mkdir()
    seal_bundle(bare, images=[ImageEntry(f"{source.host}/team/app:1.0", pushed.digest)], cache_file=False, progress=False)
    code, stdout, _ = cli_run("verify", bare, "--target-registry", f"{target.host}/mirror", "--no-tls-verify", "--json")
    image_items = [i for i in json.loads(stdout)["items"] if i["category"] == "image"]
    assert code == 1 and [i["actual"] for i in image_items] == ["absent"]
    code, stdout, err = cli_run(
        "verify",
        bare,
        "--target-registry",
        f"{target.host}/mirror",
        "--cluster-resources",
        out,
        "--no-tls-verify",
        "--allow-unsigned",
        "--json",
    )
    assert code == 0, stdout + err
    # Without --registry the mirror sets alone say where to look.
    code, stdout, err = cli_run(
        "verify", bare, "--cluster-resources", out / "cluster-resources", "--no-tls-verify", "--allow-unsigned"
    )
    assert code == 0, stdout + err
