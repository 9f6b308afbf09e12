"""The streaming FBC reader against a real local registry: layers, compression, whiteouts, skipping, errors."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from mirrorkit.catalog import read_catalog
from mirrorkit.catalog.reader import CONFIGS_LABEL
from mirrorkit.errors import InputError, RegistryError
from mirrorkit.oci.client import OciClient
from tests.services.catalog import STALE_PACKAGE, build_catalog, rhdh_like_packages
from tests.services.images import make_layer, push_image

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(registry):
    return build_catalog(registry.host, "reader/redhat-operator-index", "v4.19", rhdh_like_packages())


@pytest.fixture
def client() -> OciClient:
    return OciClient(tls_verify=False)


def pkg_json(name: str, versions: tuple[str, ...] = ("1.0.0",), *, pad: int = 0) -> bytes:
    objs: list[dict] = [{"schema": "olm.package", "name": name, "defaultChannel": "stable"},
                        {"schema": "olm.channel", "name": "stable", "package": name,
                         "entries": [{"name": f"{name}.v{v}", **({"replaces": f"{name}.v{versions[i - 1]}"} if i else {})}
                                     for i, v in enumerate(versions)]}]
    for v in versions:
        objs.append({"schema": "olm.bundle", "name": f"{name}.v{v}", "package": name, "image": f"example.com/{name}/bundle:v{v}",
                     "properties": [{"type": "olm.package", "value": {"packageName": name, "version": v}},
                                    {"type": "olm.bundle.object", "value": {"data": "x" * pad}}],
                     "relatedImages": [{"name": "", "image": f"example.com/{name}/bundle:v{v}"},
                                       {"name": "op", "image": f"example.com/{name}/op:{v}"}]})
    return "".join(json.dumps(o, indent=2) + "\n" for o in objs).encode()


def tar_of(files: dict[str, bytes | None]) -> bytes:
    return make_layer(files, gzip_it=False)


def zstd_of(data: bytes) -> bytes:
    from backports import zstd  # the dependency mirrorkit uses before Python 3.14

    return zstd.compress(data)


def push_catalog(registry, repo: str, layers: list[bytes], label: str | None = "/configs") -> str:
    labels = {CONFIGS_LABEL: label} if label is not None else {}
    return push_image(registry.host, repo, "v1", layers, labels=labels).ref


def test_reads_only_selected_packages_and_honours_the_whiteout(built, client) -> None:
    catalog = read_catalog(client, built.ref, ["rhdh", "serverless-operator"])
    assert set(catalog.packages) == {"rhdh", "serverless-operator"}  # the YAML package too
    assert STALE_PACKAGE not in catalog.package_names  # deleted by the top layer's whiteout
    assert set(catalog.package_names) == {p.name for p in rhdh_like_packages()}
    assert catalog.skipped_files == 4  # logic, decoy, another-decoy and the stale package: never decoded
    rhdh = catalog.packages["rhdh"]
    assert rhdh.default_channel == "fast" and {c.name for c in rhdh.channels} == {"fast", "fast-1.7", "fast-1.8"}
    b = rhdh.bundle("rhdh.v1.8.1")
    assert b is not None and b.version == "1.8.1" and b.image == built.bundle("rhdh", "1.8.1").image
    assert {r.image for r in b.related_images} == built.images_of("rhdh", "1.8.1")
    assert catalog.digest == built.digest and catalog.configs_dir == "configs"
    yaml_bundle = catalog.packages["serverless-operator"].bundle("serverless-operator.v1.36.1")
    assert yaml_bundle is not None and yaml_bundle.where.file == "configs/serverless-operator/catalog.yaml"


def test_every_package_when_none_named(built, client) -> None:
    catalog = read_catalog(client, built.ref, None)
    assert set(catalog.packages) == {p.name for p in rhdh_like_packages()}
    assert catalog.skipped_files == 0


def test_zstd_and_gzip_layers_and_an_opaque_directory(registry, client) -> None:
    layers = [
        make_layer({"configs/old/catalog.json": pkg_json("old"), "configs/a/catalog.json": pkg_json("a", ("0.1.0",))}),
        zstd_of(tar_of({"configs/a/catalog.json": pkg_json("a", ("1.0.0", "1.1.0")), "configs/b/catalog.json": pkg_json("b")})),
        make_layer({"configs/.wh..wh..opq": b"", "configs/a/catalog.json": pkg_json("a", ("1.0.0", "1.1.0", "1.2.0")),
                    "configs/c/index.json": pkg_json("c")}),
    ]
    ref = push_catalog(registry, "reader/zstd-index", layers)
    catalog = read_catalog(client, ref, ["a", "c"])
    assert set(catalog.package_names) == {"a", "c"}  # old and b hidden by the opaque whiteout
    assert {b.version for b in catalog.packages["a"].bundles} == {"1.0.0", "1.1.0", "1.2.0"}
    only_zstd = push_catalog(registry, "reader/zstd-only", [zstd_of(tar_of({"configs/b/catalog.json": pkg_json("b")}))])
    assert set(read_catalog(client, only_zstd, ["b"]).packages) == {"b"}


def test_an_unselected_malformed_package_is_not_parsed(registry, client) -> None:
    layers = [make_layer({"configs/good/catalog.json": pkg_json("good"),
                          "configs/broken/catalog.json": b'{"schema": "olm.package", "name": "broken",,,',
                          "configs/broken2/catalog.yaml": b"schema: [unclosed\n"})]
    ref = push_catalog(registry, "reader/malformed-index", layers)
    catalog = read_catalog(client, ref, ["good"])
    assert set(catalog.packages) == {"good"} and catalog.skipped_files == 2
    with pytest.raises(InputError) as exc:
        read_catalog(client, ref, ["broken"])
    assert "malformed FBC object in the catalog at configs/broken/catalog.json line 1: not valid JSON" in str(exc.value)
    assert exc.value.exit_code == 2
    with pytest.raises(InputError, match=r"configs/broken2/catalog.yaml line [12]: not valid YAML"):
        read_catalog(client, ref, ["broken2"])


def test_malformed_object_position_is_its_line(registry, client) -> None:
    text = pkg_json("p", ("1.0.0", "1.1.0")) + b'{"schema": "olm.bundle", "name": "p.v9", "package": "p", "relatedImages": 5}\n'
    text += b'{"schema": "olm.bundle", "name": 7}\n'
    ref = push_catalog(registry, "reader/badobject-index", [make_layer({"configs/p/catalog.json": text})])
    lines = text.decode().splitlines()
    bad = next(i for i, line in enumerate(lines) if '"name": 7' in line) + 1
    with pytest.raises(InputError) as exc:
        read_catalog(client, ref, ["p"])
    assert f"configs/p/catalog.json line {bad - 1}" in str(exc.value) or f"line {bad}" in str(exc.value)


def test_large_objects_across_chunks_decode(registry, client) -> None:
    ref = push_catalog(registry, "reader/big-index", [make_layer({"configs/big/catalog.json": pkg_json("big", ("1.0.0", "2.0.0"), pad=3_000_000)})])
    catalog = read_catalog(client, ref, ["big"])
    assert {b.version for b in catalog.packages["big"].bundles} == {"1.0.0", "2.0.0"}


def test_no_fbc_label_is_an_input_error(registry, client) -> None:
    ref = push_catalog(registry, "reader/nolabel", [make_layer({"configs/a/catalog.json": pkg_json("a")})], label=None)
    with pytest.raises(InputError) as exc:
        read_catalog(client, ref, ["a"])
    assert f"{ref} is not a File-Based Catalog image: its config has no {CONFIGS_LABEL} label" in str(exc.value)


def test_unreachable_catalog(client) -> None:
    from mirrorkit.http import RetryPolicy

    quick = OciClient(tls_verify=False, policy=RetryPolicy(attempts=1, timeout=2))
    with pytest.raises(RegistryError, match="cannot read operator catalog 127.0.0.1:9/x/index:v1"):
        read_catalog(quick, "127.0.0.1:9/x/index:v1", ["a"])


def test_missing_catalog_tag(registry, client) -> None:
    with pytest.raises(RegistryError, match="cannot read operator catalog .*not found"):
        read_catalog(client, f"{registry.host}/reader/absent:v1", ["a"])


def test_not_a_tar_layer(registry, client) -> None:
    import gzip

    ref = push_catalog(registry, "reader/notar", [gzip.compress(b"this is not a tar archive" * 100)])
    with pytest.raises(RegistryError, match="is not a valid tar archive"):
        read_catalog(client, ref, ["a"])


def test_stream_tar_helper_sanity() -> None:
    # the test helpers build what they claim: a plain tar for zstd_of
    with tarfile.open(fileobj=io.BytesIO(tar_of({"configs/x.json": b"{}"}))) as tar:
        assert tar.getnames() == ["configs/x.json"]


def test_a_corrupt_gzip_layer_is_a_registry_error(registry, client) -> None:
    layer = bytearray(make_layer({"configs/a/catalog.json": pkg_json("a", pad=200_000)}))
    layer[40:80] = b"\xff" * 40
    ref = _push_raw(registry.host, "reader/corrupt-gzip", bytes(layer))
    with pytest.raises(RegistryError, match="is not a valid"):
        read_catalog(client, ref, ["a"])


def _push_raw(host: str, repo: str, layer: bytes) -> str:
    """An image whose layer is pushed as given (push_image would decompress it for the diff_id)."""
    from tests.services.images import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, push_blob, push_manifest

    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {CONFIGS_LABEL: "/configs"}},
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, "digest": push_blob(host, repo, config), "size": len(config)},
                           "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": push_blob(host, repo, layer), "size": len(layer)}]}).encode()
    push_manifest(host, repo, "v1", manifest, OCI_MANIFEST)
    return f"{host}/{repo}:v1"
