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
from tests.services.catalog import (
    MALFORMED_JSON,
    MALFORMED_YAML,
    STALE_PACKAGE,
    bad_objects_json,
    build_catalog,
    rhdh_like_packages,
)
from tests.services.catalog import small_package_json as pkg_json
from tests.services.images import make_layer, push_image

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(registry):
    return build_catalog(registry.host, "reader/redhat-operator-index", "v4.19", rhdh_like_packages())


@pytest.fixture
def client() -> OciClient:
    return OciClient(tls_verify=False)


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
        make_layer(
            {
                "configs/.wh..wh..opq": b"",
                "configs/a/catalog.json": pkg_json("a", ("1.0.0", "1.1.0", "1.2.0")),
                "configs/c/index.json": pkg_json("c"),
            }
        ),
    ]
    ref = push_catalog(registry, "reader/zstd-index", layers)
    catalog = read_catalog(client, ref, ["a", "c"])
    assert set(catalog.package_names) == {"a", "c"}  # old and b hidden by the opaque whiteout
    assert {b.version for b in catalog.packages["a"].bundles} == {"1.0.0", "1.1.0", "1.2.0"}
    only_zstd = push_catalog(registry, "reader/zstd-only", [zstd_of(tar_of({"configs/b/catalog.json": pkg_json("b")}))])
    assert set(read_catalog(client, only_zstd, ["b"]).packages) == {"b"}


def test_an_unselected_malformed_package_is_not_parsed(registry, client) -> None:
    layers = [
        make_layer(
            {
                "configs/good/catalog.json": pkg_json("good"),
                "configs/broken/catalog.json": MALFORMED_JSON,
                "configs/broken2/catalog.yaml": MALFORMED_YAML,
            }
        )
    ]
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
    text = bad_objects_json()
    ref = push_catalog(registry, "reader/badobject-index", [make_layer({"configs/p/catalog.json": text})])
    lines = text.decode().splitlines()
    bad = next(i for i, line in enumerate(lines) if '"name": 7' in line) + 1
    with pytest.raises(InputError) as exc:
        read_catalog(client, ref, ["p"])
    assert f"configs/p/catalog.json line {bad - 1}" in str(exc.value) or f"line {bad}" in str(exc.value)


def test_large_objects_across_chunks_decode(registry, client) -> None:
    ref = push_catalog(
        registry,
        "reader/big-index",
        [make_layer({"configs/big/catalog.json": pkg_json("big", ("1.0.0", "2.0.0"), pad=3_000_000)})],
    )
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
    with pytest.raises(RegistryError, match=r"cannot read operator catalog 127.0.0.1:9/x/index:v1"):
        read_catalog(quick, "127.0.0.1:9/x/index:v1", ["a"])


def test_missing_catalog_tag(registry, client) -> None:
    with pytest.raises(RegistryError, match=r"cannot read operator catalog .*not found"):
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

    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {CONFIGS_LABEL: "/configs"}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": push_blob(host, repo, config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": push_blob(host, repo, layer), "size": len(layer)}],
        }
    ).encode()
    push_manifest(host, repo, "v1", manifest, OCI_MANIFEST)
    return f"{host}/{repo}:v1"


# -- the lean tar walker and the layer pipeline (no registry needed) ------------------------------

from mirrorkit.catalog.stream import InflatedLayer  # noqa: E402
from mirrorkit.oci.blob import VerifiedReader  # noqa: E402
from mirrorkit.oci.tarwalk import TarFormatError, TarWalker  # noqa: E402

LONG = "configs/" + "a-package-with-a-very-long-name-" * 5 + "/catalog.json"  # > 100 and > 155 characters


def _tar(
    members: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]],
    fmt: int = tarfile.PAX_FORMAT,
    pax_headers: dict[str, str] | None = None,
) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt, pax_headers=pax_headers) as tar:
        for member in members:
            info, data = member if isinstance(member, tuple) else (member, None)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _info(name: str, type_: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime = type_, link, 0
    return info


def _chunks(data: bytes, size: int):
    pieces = iter([data[i : i + size] for i in range(0, len(data), size)])
    return lambda: next(pieces, b"")


def _walk(data: bytes, size: int = 1 << 20, read: bool = True) -> list[tuple[str, bytes, bytes | None]]:
    walker = TarWalker(_chunks(data, size))
    out = []
    for entry in walker:
        out.append((entry.name, entry.type, walker.open(entry).read() if read and entry.isreg() else None))
    assert walker.ended
    return out


def _varied() -> list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]:
    return [
        _info("configs", tarfile.DIRTYPE),
        (_info("configs/a/catalog.json"), b'{"schema": "olm.package"}\n' * 300),
        (_info(LONG), b"x" * 5000),
        _info("configs/link", tarfile.SYMTYPE, "a/catalog.json"),
        _info("configs/hard", tarfile.LNKTYPE, "configs/a/catalog.json"),
        (_info("configs/empty.json"), b""),
        (_info("configs/b/catalog.json"), bytes(range(256)) * 41),
        _info("configs/fifo", tarfile.FIFOTYPE),
    ]


def _tarfile_view(data: bytes) -> list[tuple[str, bytes, bytes | None]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as tar:
        return [(m.name, m.type, tar.extractfile(m).read() if m.isreg() else None) for m in tar]  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
@pytest.mark.parametrize("size", [1, 511, 512, 513, 4096, 1 << 20])
def test_tar_walker_reads_what_tarfile_reads(fmt: int, size: int) -> None:
    members = [m for m in _varied() if fmt != tarfile.USTAR_FORMAT or not (isinstance(m, tuple) and m[0].name == LONG)]
    data = _tar(members, fmt)
    assert _walk(data, size) == _tarfile_view(data)
    if fmt != tarfile.USTAR_FORMAT:
        assert LONG in [name for name, _, _ in _walk(data, size)]  # GNU longname / pax path


def test_tar_walker_ustar_prefix_and_v7_directories() -> None:
    name = "configs/" + "p" * 90 + "/" + "q" * 60 + "/catalog.json"  # fits ustar only with the prefix field
    data = _tar([(_info(name), b"{}"), _info("configs/olddir/", tarfile.AREGTYPE)], tarfile.USTAR_FORMAT)
    assert _walk(data) == _tarfile_view(data) == [(name, tarfile.REGTYPE, b"{}"), ("configs/olddir", tarfile.DIRTYPE, None)]


def test_tar_walker_pax_size_and_global_headers() -> None:
    data = _tar([(_info("configs/a.json"), b"a" * 700)], tarfile.PAX_FORMAT, pax_headers={"comment": "git archive"})
    assert _walk(data) == [("configs/a.json", tarfile.REGTYPE, b"a" * 700)]
    info = _info("configs/big.json")
    info.pax_headers = {"size": "1000"}  # a pax size wins over the header's
    raw = _tar([(info, b"b" * 1000)], tarfile.PAX_FORMAT)
    assert _walk(raw) == _tarfile_view(raw) == [("configs/big.json", tarfile.REGTYPE, b"b" * 1000)]


def test_tar_walker_skips_unread_and_half_read_members() -> None:
    data = _tar(_varied())
    walker = TarWalker(_chunks(data, 700))
    seen = []
    for entry in walker:
        if entry.name == "configs/a/catalog.json":
            reader = walker.open(entry)
            assert reader.read(10) == b'{"schema":' and len(reader.read1(100_000)) > 0  # then left half read
        seen.append(entry.name)
    assert seen == [name for name, _, _ in _tarfile_view(data)]


def test_tar_walker_ends_and_fails_clearly() -> None:
    data = _tar([(_info("configs/a.json"), b"a" * 3000), (_info("configs/b.json"), b"b" * 10)])
    assert [n for n, _, _ in _walk(data[:-1024])] == ["configs/a.json", "configs/b.json"]  # no end blocks: a clean end
    assert _walk(b"\0" * 1024) == []  # an empty archive
    with pytest.raises(TarFormatError, match="empty file"):
        _walk(b"")
    header_end = data.index(b"a" * 3000)
    with pytest.raises(TarFormatError, match="unexpected end of data"):
        _walk(data[: header_end + 2000])  # inside a member that is read
    with pytest.raises(TarFormatError, match="unexpected end of data"):
        _walk(data[: header_end + 2000], read=False)  # inside a member that is skipped
    with pytest.raises(TarFormatError, match="truncated header"):
        _walk(data[: header_end + 3072 + 100])  # inside the next header
    with pytest.raises(TarFormatError, match="unexpected end of data"):
        _walk(data[:512])  # a pax header announcing a member that never comes
    bad = bytearray(data)
    bad[header_end + 3072 + 10] ^= 0xFF  # a damaged header after the first one is an error, not the end
    with pytest.raises(TarFormatError, match="bad checksum"):
        _walk(bytes(bad))
    with pytest.raises(TarFormatError, match="invalid header at offset 0"):
        _walk(b"this is not a tar archive" * 100)


def _blob(data: bytes, *, digest: str | None = None, chunk: int = 64 * 1024, closed: list[bool] | None = None) -> VerifiedReader:
    import hashlib

    pieces = iter([data[i : i + chunk] for i in range(0, len(data), chunk)])
    return VerifiedReader(
        pieces,
        digest=digest or f"sha256:{hashlib.sha256(data).hexdigest()}",
        size=len(data),
        what="blob x",
        on_close=(lambda: closed.append(True)) if closed is not None else None,
    )


def _layer_names(layer: InflatedLayer) -> list[str]:
    walker = TarWalker(layer.pieces)
    names = [entry.name for entry in walker]
    layer.finish()
    return names


def test_inflated_layer_gzip_zstd_plain_and_the_digest() -> None:
    import gzip

    tar = _tar(_varied())
    expected = [name for name, _, _ in _tarfile_view(tar)]
    media = "application/vnd.oci.image.layer.v1.tar"
    for data, media_type in ((gzip.compress(tar), f"{media}+gzip"), (zstd_of(tar), f"{media}+zstd"), (tar, media)):
        closed: list[bool] = []
        with InflatedLayer(_blob(data, closed=closed), media_type, "layer 1", piece=1000, depth=2) as layer:
            assert _layer_names(layer) == expected
        assert closed == [True]
    wrong = "sha256:" + "0" * 64
    with (
        InflatedLayer(_blob(gzip.compress(tar), digest=wrong), "", "layer 1", piece=1000) as layer,
        pytest.raises(RegistryError, match="does not verify"),
    ):
        _layer_names(layer)  # raised before any result is returned


def test_inflated_layer_decoder_errors_count_only_before_the_end_of_the_tar() -> None:
    import gzip

    tar = _tar([(_info("configs/a.json"), b"a" * 200_000)])
    # in the blob (so verified), well past the tar's end blocks: bytes the tar reader never asks for
    trailing = gzip.compress(tar + b"\0" * 3_000_000) + b"\x1f\x8b" + b"not a gzip member" * 10
    with InflatedLayer(_blob(trailing), "", "layer 1", piece=4096) as layer:
        assert _layer_names(layer) == ["configs/a.json"]  # as tarfile, which stopped reading at the end blocks
    import os

    truncated = gzip.compress(_tar([(_info("configs/a.json"), os.urandom(200_000))]))[:100_000]  # verifies, ends early
    with InflatedLayer(_blob(truncated), "", "layer 1", piece=4096) as layer, pytest.raises(EOFError):
        _layer_names(layer)


def test_inflated_layer_stops_its_threads_when_the_caller_gives_up() -> None:
    import gzip
    import os
    import threading

    data = gzip.compress(_tar([(_info("configs/a.json"), os.urandom(4 << 20))]))
    closed: list[bool] = []
    with InflatedLayer(_blob(data, closed=closed, chunk=4096), "", "layer 1", piece=4096, depth=1) as layer:
        assert layer.pieces()  # then leave, the workers blocked on full queues
    assert closed == [True]
    assert not [t for t in threading.enumerate() if t.name in ("catalog-fetch", "catalog-inflate")]


def test_long_names_and_a_truncated_layer_through_the_registry(registry, client) -> None:
    long_pkg = "p" * 63  # the longest package name opm accepts (a DNS-1123 label)
    long_path = f"configs/{long_pkg}/{'q' * 60}/catalog.json"  # 145 characters: a GNU long name
    files = [(_info(long_path), pkg_json(long_pkg)), (_info("configs/b/catalog.json"), pkg_json("b"))]
    tar = _tar(files, tarfile.GNU_FORMAT)  # type: ignore[arg-type]
    ref = push_catalog(registry, "reader/gnu-longnames", [tar])
    catalog = read_catalog(client, ref, [long_pkg])
    assert set(catalog.packages) == {long_pkg} and set(catalog.package_names) == {long_pkg, "b"}
    import gzip

    cut = tar[: tar.index(b'"schema"') + 100]  # the blob verifies; the tar in it ends inside a member
    ref = _push_raw(registry.host, "reader/truncated-tar", gzip.compress(cut))
    with pytest.raises(RegistryError, match=r"is not a valid tar archive.*unexpected end of data"):
        read_catalog(client, ref, ["b"])
