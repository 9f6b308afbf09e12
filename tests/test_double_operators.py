"""The oc-mirror test double mirrors operators as shared/reference/oc-mirror-v2.md says: a real-shaped
FBC catalog (tests/services/catalog.py) in a real local registry, filtered, its bundle and related
images copied by digest, the catalog rebuilt, cluster resources written. The double is run as a
process (it never imports mirrorkit); what reaches the target is read back with skopeo."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mirrorkit.ocmirror.parser import parse_line
from mirrorkit.ocmirror.result import CategoryCount
from tests.services.catalog import (
    STALE_PACKAGE,
    BuiltCatalog,
    build_catalog,
    bundle_versions,
    channel_entries,
    parse_fbc,
    read_catalog,
    rhdh_like_packages,
    unreachable_related_packages,
)
from tests.services.images import push_image
from tests.services.process import free_port
from tests.services.registry import LocalRegistry

pytestmark = pytest.mark.integration

ANSI = re.compile(r"\x1b\[[0-9;]*m")
INDEX = "redhat/redhat-operator-index"


@pytest.fixture(scope="module")
def source(registry_factory: Callable[..., LocalRegistry]) -> LocalRegistry:
    return registry_factory()


@pytest.fixture(scope="module")
def target(registry_factory: Callable[..., LocalRegistry]) -> LocalRegistry:
    return registry_factory()


@pytest.fixture(scope="module")
def catalog(source: LocalRegistry, skopeo: str) -> BuiltCatalog:
    return build_catalog(source.host, INDEX, "v4.19", rhdh_like_packages())


@pytest.fixture(scope="module")
def broken(source: LocalRegistry, skopeo: str) -> BuiltCatalog:
    """A catalog whose only bundle names a related image that does not exist."""
    return build_catalog(source.host, "broken/index", "v1", unreachable_related_packages())


class Run:
    """One run of the double: exit code, output without colours, its working-dir."""

    def __init__(self, proc: subprocess.CompletedProcess[str], working: Path, cache: str) -> None:
        self.code = proc.returncode
        self.out = ANSI.sub("", proc.stdout + proc.stderr)
        self.raw = proc.stdout
        self.working = working
        self.cache = cache  # the local cache registry this run served on, localhost:PORT

    def mapping(self) -> list[tuple[str, str]]:
        text = (self.working / "dry-run" / "mapping.txt").read_text()
        return [tuple(line.split("=", 1)) for line in text.splitlines()]  # type: ignore[misc]

    def filtered(self) -> dict[str, list[dict]]:
        """{package: objects} of the one filtered catalog this run saved in working-dir."""
        folders = list(self.working.glob("operator-catalogs/*/*/filtered-catalogs/*/catalog-config"))
        assert len(folders) == 1, folders
        found: dict[str, list[dict]] = {}
        for path in sorted(folders[0].rglob("*.json")):
            for obj in parse_fbc(path.name, path.read_bytes()):
                package = obj["name"] if obj.get("schema") == "olm.package" else obj.get("package")
                found.setdefault(package, []).append(obj)
        return found

    def results(self) -> dict[str, CategoryCount]:
        events = [parse_line(line) for line in self.raw.splitlines()]
        return {e.kind: e for e in events if isinstance(e, CategoryCount)}


@pytest.fixture
def run(oc_mirror_double: Path, skopeo: str, tmp_path: Path) -> Callable[..., Run]:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}

    def go(mirror: str, *args: str, name: str = "isc.yaml") -> Run:
        isc = tmp_path / name
        isc.write_text("apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n" + mirror)
        # Never oc-mirror's default 55000: any other process on the host (or a registry a fixture started
        # on an ephemeral port) may hold it, and the run would stop with "55000 is already bound".
        port = free_port()
        proc = subprocess.run(
            [
                str(oc_mirror_double),
                "--v2",
                "-c",
                str(isc),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--port",
                str(port),
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                *args,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        folder = next((a for a in reversed(args) if a.startswith("file://")), "")
        return Run(proc, Path(folder[len("file://") :]) / "working-dir", f"localhost:{port}")

    return go


def operators_isc(catalog: BuiltCatalog, body: str = "", **extra: str) -> str:
    lines = [f"  operators:\n  - catalog: {catalog.ref}\n"]
    lines += [f"    {k}: {v}\n" for k, v in extra.items()]
    return "".join(lines) + body


def plan(run: Callable[..., Run], tmp_path: Path, mirror: str) -> Run:
    """Mirror to disk dry run: the catalog is pulled and filtered, nothing is copied."""
    result = run(mirror, "--dry-run", f"file://{tmp_path / 'plan'}")
    return result


def versions(found: dict[str, list[dict]]) -> dict[str, set[str]]:
    return {package: bundle_versions(found, package) for package in found}


def remote_digest(ref: str) -> str:
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], capture_output=True, check=True
    ).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def exists(ref: str) -> bool:
    return (
        subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], capture_output=True).returncode
        == 0
    )


# -- filtering ---------------------------------------------------------------------------------------------


def test_head_only_comes_from_the_graph_not_file_order(run, catalog, tmp_path) -> None:
    # serverless stable is written 1.36.0, 1.36.1, 1.35.0 (head in the middle); rhdh fast-1.7's head only
    # skips 1.7.0 (no replaces); logic alpha has its head first.
    result = plan(
        run,
        tmp_path,
        operators_isc(
            catalog,
            "    packages:\n    - name: serverless-operator\n"
            "    - name: logic-operator-rhel8\n"
            "    - name: rhdh\n      channels: [{name: fast}, {name: fast-1.7}]\n",
        ),
    )
    assert result.code == 0, result.out
    found = result.filtered()
    assert versions(found) == {
        "serverless-operator": {"1.36.1", "1.35.0"},
        "logic-operator-rhel8": {"1.36.0"},
        "rhdh": {"1.8.1", "1.7.1"},
    }
    assert channel_entries(found, "serverless-operator") == {
        "stable": {"serverless-operator.v1.36.1"},
        "stable-1.35": {"serverless-operator.v1.35.0"},
    }
    assert channel_entries(found, "rhdh") == {"fast": {"rhdh.v1.8.1"}, "fast-1.7": {"rhdh.v1.7.1"}}


def test_channel_range_keeps_the_chain_and_drops_unlisted_channels(run, catalog, tmp_path) -> None:
    result = plan(
        run,
        tmp_path,
        operators_isc(
            catalog, "    packages:\n    - name: serverless-operator\n      channels: [{name: stable, minVersion: 1.36.0}]\n"
        ),
    )
    assert result.code == 0, result.out
    found = result.filtered()
    assert versions(found) == {"serverless-operator": {"1.36.0", "1.36.1"}}
    assert channel_entries(found, "serverless-operator") == {
        "stable": {"serverless-operator.v1.36.0", "serverless-operator.v1.36.1"}
    }


def test_package_range_applies_to_every_channel(run, catalog, tmp_path) -> None:
    result = plan(
        run,
        tmp_path,
        operators_isc(catalog, "    packages:\n    - name: rhdh\n      minVersion: 1.7.1\n      maxVersion: 1.8.0\n"),
    )
    assert result.code == 0, result.out
    found = result.filtered()
    assert versions(found) == {"rhdh": {"1.7.1", "1.8.0"}}
    assert channel_entries(found, "rhdh") == {
        "fast": {"rhdh.v1.8.0", "rhdh.v1.7.1"},
        "fast-1.7": {"rhdh.v1.7.1"},
        "fast-1.8": {"rhdh.v1.8.0"},
    }


def test_package_range_drops_a_channel_it_empties(run, catalog, tmp_path) -> None:
    result = plan(
        run, tmp_path, operators_isc(catalog, "    packages:\n    - name: serverless-operator\n      minVersion: 1.36.0\n")
    )
    assert result.code == 0, result.out
    assert set(channel_entries(result.filtered(), "serverless-operator")) == {"stable"}


def test_full_with_packages_keeps_every_bundle_of_the_selected_channels(run, catalog, tmp_path) -> None:
    result = plan(
        run,
        tmp_path,
        operators_isc(
            catalog,
            "    packages:\n    - name: rhdh\n      channels: [{name: fast-1.8}]\n      defaultChannel: fast-1.8\n",
            full="true",
        ),
    )
    assert result.code == 0, result.out
    found = result.filtered()
    assert versions(found) == {"rhdh": {"1.8.0", "1.8.1"}}
    package = next(o for o in found["rhdh"] if o["schema"] == "olm.package")
    assert package["defaultChannel"] == "fast-1.8"


def test_no_packages_keeps_the_head_of_every_channel_and_honours_whiteouts(run, catalog, tmp_path) -> None:
    result = plan(run, tmp_path, operators_isc(catalog))
    assert result.code == 0, result.out
    assert versions(result.filtered()) == {
        "logic-operator-rhel8": {"1.36.0"},
        "serverless-operator": {"1.36.1", "1.35.0"},
        "rhdh": {"1.8.1", "1.7.1"},
        "decoy-operator": {"2.0.0"},
        "another-decoy": {"0.1.0"},
    }
    assert STALE_PACKAGE not in result.filtered()  # whited out in the catalog's last layer


def test_full_without_packages_mirrors_the_original_catalog(run, catalog, tmp_path) -> None:
    result = plan(run, tmp_path, operators_isc(catalog, full="true"))
    assert result.code == 0, result.out
    assert not list(result.working.glob("operator-catalogs/*/*/filtered-catalogs/*"))
    pairs = dict(result.mapping())
    assert pairs[f"docker://{catalog.by_digest}"] == f"docker://{result.cache}/{INDEX}:v4.19"
    every = {f"docker://{image}" for image in catalog.all_images()}
    assert every <= set(pairs)


def test_unknown_package_selects_nothing_and_is_not_an_error(run, catalog, tmp_path) -> None:
    result = plan(
        run, tmp_path, operators_isc(catalog, "    packages:\n    - name: no-such-operator\n    - name: logic-operator-rhel8\n")
    )
    assert result.code == 0, result.out
    assert versions(result.filtered()) == {"logic-operator-rhel8": {"1.36.0"}}


@pytest.mark.parametrize(
    ("body", "extra", "message"),
    [
        (
            "    packages:\n    - name: rhdh\n      channels: [{name: fast-1.8}]\n",
            {},
            'failed to filter catalog: invalid default channel configuration for package "rhdh": the default channel "fast" '
            "was filtered out, a new default channel must be configured for this package",
        ),
        (
            "    packages:\n    - name: rhdh\n      defaultChannel: fast-1.7\n      channels: [{name: fast-1.8}]\n",
            {},
            'specified default channel override "fast-1.7" does not exist in the filtered output',
        ),
        (
            "    packages:\n    - name: serverless-operator\n      channels: [{name: stable, minVersion: 9.0.0}]\n",
            {},
            'package "serverless-operator" channel "stable" has version range ">=9.0.0" that results in an empty channel',
        ),
        (
            "    packages:\n    - name: logic-operator-rhel8\n      minVersion: 1.35.0\n",
            {"full": "true"},
            "failed to filter catalog: Full: true cannot be mixed with versionRange",
        ),
    ],
    ids=["default-filtered-out", "default-override-missing", "range-empties-default", "full-and-range"],
)
def test_collection_errors_stop_before_any_copy(run, catalog, tmp_path, body, extra, message) -> None:
    archive = tmp_path / "a"
    result = run(operators_isc(catalog, body, **extra), f"file://{archive}")
    assert result.code == 4, result.out
    assert "[ERROR]  : [Executor] collection error: collect catalog" in result.out and message in result.out
    assert "images to copy" not in result.out and not list(archive.glob("mirror_*.tar"))
    cached = tmp_path / "cache" / ".oc-mirror" / ".cache"
    assert not (cached / "docker-dir").exists() and not (cached / "docker" / "registry").exists()


def test_platform_stays_refused(run, tmp_path) -> None:
    result = run("  platform:\n    channels:\n    - {name: stable-4.19}\n", f"file://{tmp_path / 'a'}")
    assert result.code == 1 and "release payloads" in result.out


def test_operator_isc_mistakes_are_config_errors(run, catalog, tmp_path) -> None:
    both = run(
        operators_isc(
            catalog,
            "    packages:\n    - name: rhdh\n      minVersion: 1.7.0\n      channels: [{name: fast, minVersion: 1.7.0}]\n",
        ),
        f"file://{tmp_path / 'a'}",
    )
    assert both.code == 1 and "exclusive" in both.out
    unknown = run(
        operators_isc(catalog, "    packages:\n    - name: rhdh\n      bundles: [{name: x}]\n"), f"file://{tmp_path / 'b'}"
    )
    assert unknown.code == 1 and 'unknown field "bundles"' in unknown.out


# -- dry run -------------------------------------------------------------------------------------------------


def test_dry_run_mapping_lists_bundles_related_and_catalog(run, catalog, tmp_path) -> None:
    result = plan(run, tmp_path, operators_isc(catalog, "    packages:\n    - name: logic-operator-rhel8\n"))
    assert result.code == 0, result.out
    logic = catalog.bundle("logic-operator-rhel8", "1.36.0")

    def cached(image: str) -> str:
        repo, digest = image.split("/", 1)[1].split("@")
        return f"docker://{result.cache}/{repo}:{digest.replace(':', '-')}"

    expected = [(f"docker://{image}", cached(image)) for image in logic.related]
    expected += [(f"docker://{logic.image}", cached(logic.image))]
    expected += [(f"docker://{catalog.by_digest}", f"docker://{result.cache}/{INDEX}:v4.19")]
    assert result.mapping() == expected  # copy order: related, bundles, catalogs
    assert [s for s, _ in result.mapping()] == (result.working / "dry-run" / "missing.txt").read_text().replace(
        "=", "\n"
    ).splitlines()[::2]
    # the ConfigMap's images are not relatedImages: oc-mirror does not mirror them
    text = (result.working / "dry-run" / "mapping.txt").read_text()
    assert logic.config_images and not any(extra.rpartition(":")[0] in text for extra in logic.config_images)


def test_mirror_to_mirror_dry_run_writes_cluster_resources(run, catalog, target, tmp_path) -> None:
    result = run(
        operators_isc(catalog, "    packages:\n    - name: logic-operator-rhel8\n"),
        "--dry-run",
        "--workspace",
        f"file://{tmp_path / 'ws'}",
        f"docker://{target.host}/plan",
    )
    assert result.code == 0, result.out
    pairs = dict(result.mapping())
    assert pairs[f"docker://{catalog.by_digest}"] == f"docker://{target.host}/plan/{INDEX}:v4.19"
    folder = result.working / "cluster-resources"
    assert sorted(p.name for p in folder.iterdir()) == [
        "cc-redhat-operator-index-v4-19.yaml",
        "cs-redhat-operator-index-v4-19.yaml",
        "idms-oc-mirror.yaml",
    ]
    assert not exists(f"{target.host}/plan/{INDEX}:v4.19")  # nothing copied


# -- round trip --------------------------------------------------------------------------------------------------


def test_mirror_to_disk_then_disk_to_mirror(run, catalog, source, target, tmp_path) -> None:
    selection = operators_isc(
        catalog,
        "    packages:\n    - name: logic-operator-rhel8\n"
        "    - name: serverless-operator\n      channels: [{name: stable, minVersion: 1.36.0}]\n",
    )
    extra = push_image(source.host, "ocm/extra", "1.0")
    isc = selection + f"  additionalImages:\n  - name: {extra.ref}\n"
    m2d = run(isc, f"file://{tmp_path / 'a'}")
    assert m2d.code == 0, m2d.out
    kept = catalog.images_of("logic-operator-rhel8", "1.36.0") | catalog.images_of("serverless-operator", "1.36.0", "1.36.1")
    assert f"images to copy {len(kept) + 2} " in m2d.out  # bundles + related + additional + catalog
    assert {k: (r.mirrored, r.total) for k, r in m2d.results().items()} == {
        "operator": (len(kept) + 1, len(kept) + 1),
        "additional": (1, 1),
    }
    pinned = list(m2d.working.glob("isc_pinned_*.yaml"))
    assert pinned and catalog.digest in pinned[0].read_text()
    digest_file = next(m2d.working.glob("operator-catalogs/redhat-operator-index/*/filtered-catalogs/*/digest"))
    assert digest_file.parent.name == digest_file.parent.name.lower() and len(digest_file.parent.name) == 32
    assert digest_file.parent.parent.parent.name == catalog.digest

    carried = tmp_path / "carried"
    carried.mkdir()
    (carried / "mirror_000001.tar").write_bytes((tmp_path / "a" / "mirror_000001.tar").read_bytes())
    d2m = run(isc, "--from", f"file://{carried}", f"docker://{target.host}/mir")
    assert d2m.code == 0, d2m.out
    for image in kept:
        repo, digest = image.split("/", 1)[1].split("@")
        assert remote_digest(f"{target.host}/mir/{repo}@{digest}") == digest
        assert remote_digest(f"{target.host}/mir/{repo}:{digest.replace(':', '-')}") == digest
    dropped = (
        catalog.images_of("logic-operator-rhel8", "1.35.0") | catalog.images_of("rhdh") | catalog.images_of("decoy-operator")
    )
    for image in dropped - kept:
        repo, digest = image.split("/", 1)[1].split("@")
        assert not exists(f"{target.host}/mir/{repo}@{digest}"), image
    # the ConfigMap-only images are not mirrored (the RHDH docs add them to additionalImages by hand)
    for extra_image in catalog.bundle("logic-operator-rhel8", "1.36.0").config_images:
        assert not exists(f"{target.host}/mir/{extra_image.split('/', 1)[1]}")

    # the rebuilt catalog: only the kept bundles, the original's label, digest as recorded
    mirrored = f"{target.host}/mir/{INDEX}:v4.19"
    assert remote_digest(mirrored).split(":")[1] == digest_file.read_text().strip()
    assert remote_digest(mirrored) != catalog.digest
    served = read_catalog(mirrored)
    assert {p: bundle_versions(served, p) for p in served} == {
        "logic-operator-rhel8": {"1.36.0"},
        "serverless-operator": {"1.36.0", "1.36.1"},
    }
    config = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--config", "--tls-verify=false", f"docker://{mirrored}"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    )
    assert config["config"]["Labels"]["operators.operatorframework.io.index.configs.v1"] == "/configs"
    assert config["config"]["Cmd"][:2] == ["serve", "/configs"]

    folder = d2m.working / "cluster-resources"
    assert sorted(p.name for p in folder.iterdir()) == [
        "cc-redhat-operator-index-v4-19.yaml",
        "cs-redhat-operator-index-v4-19.yaml",
        "idms-oc-mirror.yaml",
        "itms-oc-mirror.yaml",
    ]
    cs = yaml.safe_load((folder / "cs-redhat-operator-index-v4-19.yaml").read_text())
    assert cs["apiVersion"] == "operators.coreos.com/v1alpha1" and cs["kind"] == "CatalogSource"
    assert cs["metadata"]["name"] == "cs-redhat-operator-index-v4-19"
    assert cs["metadata"]["namespace"] == "openshift-marketplace"
    assert cs["spec"] == {"image": mirrored, "sourceType": "grpc"}
    assert cs["metadata"]["annotations"]["createdBy"] == "oc-mirror v2" and "createdAt" in cs["metadata"]["annotations"]
    cc = yaml.safe_load((folder / "cc-redhat-operator-index-v4-19.yaml").read_text())
    assert cc["apiVersion"] == "olm.operatorframework.io/v1" and cc["kind"] == "ClusterCatalog"
    assert "namespace" not in cc["metadata"] and cc["spec"] == {"source": {"type": "Image", "image": {"ref": mirrored}}}
    idms = {d["metadata"]["name"]: d for d in yaml.safe_load_all((folder / "idms-oc-mirror.yaml").read_text())}
    assert set(idms) == {"idms-operator-0"}  # the additional image is by tag: ITMS only
    assert idms["idms-operator-0"]["spec"]["imageDigestMirrors"] == [
        {"mirrors": [f"{target.host}/mir/openshift-serverless-1"], "source": f"{source.host}/openshift-serverless-1"}
    ]
    itms = [d["metadata"]["name"] for d in yaml.safe_load_all((folder / "itms-oc-mirror.yaml").read_text())]
    assert itms == ["itms-generic-0"]


def test_mirror_to_mirror_with_target_catalog_and_tag(run, catalog, target, tmp_path) -> None:
    result = run(
        operators_isc(catalog, "    packages:\n    - name: another-decoy\n", targetCatalog="mirrored/my-index", targetTag="v1"),
        "--workspace",
        f"file://{tmp_path / 'ws'}",
        f"docker://{target.host}/direct",
    )
    assert result.code == 0, result.out
    served = read_catalog(f"{target.host}/direct/mirrored/my-index:v1")
    assert set(served) == {"another-decoy"}
    names = sorted(p.name for p in (result.working / "cluster-resources").glob("c[sc]-*.yaml"))
    assert names == ["cc-my-index-v1.yaml", "cs-my-index-v1.yaml"]
    for image in catalog.images_of("another-decoy"):
        repo, digest = image.split("/", 1)[1].split("@")
        assert remote_digest(f"{target.host}/direct/{repo}@{digest}") == digest


def test_catalog_by_digest_gets_the_rebuilt_digest_as_tag(run, catalog, target, tmp_path) -> None:
    mirror = f"  operators:\n  - catalog: {catalog.by_digest}\n    packages:\n    - name: another-decoy\n"
    result = run(mirror, "--workspace", f"file://{tmp_path / 'ws'}", f"docker://{target.host}/bydigest")
    assert result.code == 0, result.out
    rebuilt = next(result.working.glob("operator-catalogs/*/*/filtered-catalogs/*/digest")).read_text().strip()
    ref = f"{target.host}/bydigest/{INDEX}:sha256-{rebuilt}"
    assert remote_digest(ref) == f"sha256:{rebuilt}"
    cs = list((result.working / "cluster-resources").glob("cs-*.yaml"))
    assert [p.name for p in cs] == [f"cs-redhat-operator-index-sha256-{rebuilt[:5]}.yaml"]
    assert yaml.safe_load(cs[0].read_text())["spec"]["image"] == ref


# -- failures ----------------------------------------------------------------------------------------------------


def test_failed_related_image_skips_its_bundle(run, broken, source, target, tmp_path) -> None:
    missing_extra = f"{source.host}/ocm/not-there:1"
    mirror = (
        f"  operators:\n  - catalog: {broken.ref}\n    packages:\n    - name: broken-operator\n"
        f"    - name: fine-operator\n  additionalImages:\n  - name: {missing_extra}\n"
    )
    result = run(mirror, "--workspace", f"file://{tmp_path / 'ws'}", f"docker://{target.host}/fail")
    assert result.code == 4 | 8, result.out
    bad = broken.bundle("broken-operator", "1.0.0")
    absent = next(image for image in bad.related if "missing-sidecar" in image)
    assert f"[ERROR]  : Failed to copy operatorRelatedImage docker://{absent}" in result.out
    assert f"[ERROR]  : Failed to copy operatorBundle docker://{bad.image}" in result.out
    assert f"[ERROR]  : Failed to copy generic {missing_extra}" in result.out
    assert not exists(f"{target.host}/fail/{bad.image.split('/', 1)[1]}")  # skipped, never copied
    fine = broken.bundle("fine-operator", "2.0.0")  # its bundle image is only in the `image` field
    for image in fine.images:
        assert exists(f"{target.host}/fail/{image.split('/', 1)[1]}"), image
    errors = next((result.working / "logs").glob("mirroring_errors_*.txt")).read_text().splitlines()
    assert (
        f"error mirroring image docker://{absent} (Operator bundles: [broken-operator.v1.0.0] - "
        f"Operators: [broken-operator]) error: "
    ) in errors[0]
    assert any(
        line.startswith(f"error mirroring image docker://{bad.image} ") and "skipping operator bundle" in line for line in errors
    )
    assert any(line.startswith(f"error mirroring image {missing_extra} error: ") for line in errors)
    operator_total = len(bad.images) + len(fine.images) + 1
    results = result.results()
    assert (results["operator"].mirrored, results["operator"].total, results["operator"].ok) == (
        operator_total - 2,
        operator_total,
        False,
    )
    assert (results["additional"].mirrored, results["additional"].total) == (0, 1)
    assert f"[Worker] error mirroring image docker://{absent} (Operator bundles:" in result.out


# -- helm alongside operators (tests/ocmirror_double/helm.py renders the charts) -----------------------------


@pytest.fixture(scope="module")
def charts(source: LocalRegistry, tmp_path_factory: pytest.TempPathFactory):
    from tests.services.helmrepo import default_charts, expected_images, push_default_images, start_helm_repo

    push_default_images(source.host)
    with start_helm_repo(tmp_path_factory.mktemp("charts"), default_charts(source.host)) as served:
        yield served, expected_images(source.host)


def helm_isc(url: str, version: str = "1.8.0") -> str:
    return (
        f"  helm:\n    repositories:\n    - name: openshift-charts\n      url: {url}\n"
        f'      charts:\n      - {{name: redhat-developer-hub, version: "{version}"}}\n'
    )


def test_helm_and_operators_round_trip(run, catalog, charts, target, tmp_path) -> None:
    served, expected = charts
    isc = operators_isc(catalog, "    packages:\n    - name: another-decoy\n") + helm_isc(served.url)
    m2d = run(isc, f"file://{tmp_path / 'a'}")
    assert m2d.code == 0, m2d.out
    chart_images = expected["redhat-developer-hub", "1.8.0"]
    for image in chart_images:
        assert f"Success copying docker://{image} ➡️ cache" in m2d.out
    assert (m2d.working / "helm" / "charts" / "redhat-developer-hub-1.8.0.tgz").is_file()
    d2m = run(isc, "--from", f"file://{tmp_path / 'a'}", f"docker://{target.host}/helm")
    assert d2m.code == 0, d2m.out
    assert {k: (r.mirrored, r.total) for k, r in d2m.results().items()} == {
        "operator": (len(catalog.images_of("another-decoy")) + 1,) * 2,
        "helm": (len(chart_images),) * 2,
    }
    for image in chart_images:
        assert exists(f"{target.host}/helm/{image.split('/', 1)[1]}"), image
    itms = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all((d2m.working / "cluster-resources" / "itms-oc-mirror.yaml").read_text())
    }
    assert set(itms) == {"itms-generic-0"}  # chart images are in the generic group
    sources = {m["source"] for m in itms["itms-generic-0"]["spec"]["imageTagMirrors"]}
    assert sources == {image.rpartition(":")[0].rsplit("/", 1)[0] for image in chart_images}


def test_helm_collection_error_and_failed_chart_image(run, charts, source, target, tmp_path) -> None:
    served, _ = charts
    missing = run(helm_isc(served.url, "9.9.9"), f"file://{tmp_path / 'a'}")
    assert missing.code == 16 and "collection error: " in missing.out and "images to copy" not in missing.out
    # a chart whose image is absent from the registry: exit 16, the image named with its type
    from tests.services.helmrepo import rhdh_chart

    served.add(rhdh_chart(f"{source.host}/absent", "1.9.0"))
    failed = run(helm_isc(served.url, "1.9.0"), "--workspace", f"file://{tmp_path / 'ws'}", f"docker://{target.host}/h")
    assert failed.code == 16, failed.out
    assert f"Failed to copy helmImage docker://{source.host}/absent/" in failed.out
    assert not failed.results()["helm"].ok
