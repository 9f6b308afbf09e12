"""Hostile sources stay bounded: compression bombs, huge or deep FBC objects, endless npm bodies,
duplicate catalog entries, hard links, bad npm versions, a full disk (issue 22).

Each hostile input is built here; the fake blob client serves bytes as the registry client would (a
digest-verified reader), so the reads under test are the real ones. Catalogs that must pass the real
registry path use the local registry; the endless tarball comes from a local HTTP server."""

from __future__ import annotations

import errno
import hashlib
import http.server
import io
import json
import tarfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from mirrorkit.catalog import read_catalog
from mirrorkit.catalog.bundle_image import collect_images
from mirrorkit.catalog.reader import CONFIGS_LABEL, _Overlay
from mirrorkit.catalog.stream import iter_objects
from mirrorkit.errors import InputError, NpmError, SourceLimitExceeded
from mirrorkit.npm.client import NpmClient
from mirrorkit.npm.npmrc import NpmSettings
from mirrorkit.npm.semver import checked_version
from mirrorkit.oci.blob import VerifiedReader
from mirrorkit.oci.client import OciClient
from mirrorkit.oci.layers import read_files
from tests.services.catalog import small_package_json as pkg_json
from tests.services.images import make_layer, push_image

GZIP_MEDIA = "application/vnd.oci.image.layer.v1.tar+gzip"


# -- hostile bytes, built here --------------------------------------------------------------------


def _bomb(name: str, gib: int, byte: bytes = b" ") -> bytes:
    """A gzip tar layer holding one member *name* of *gib* GiB of *byte*: a few MB compressed.

    Built as one gzip member per 64 MiB (compressed once, repeated), so building costs a second."""
    block = 64 * 1024 * 1024
    info = tarfile.TarInfo(name)
    info.size = gib * 1024**3
    head = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = head.compress(info.tobuf(tarfile.GNU_FORMAT)) + head.flush()
    body = zlib.compressobj(9, zlib.DEFLATED, 31)
    member = body.compress(byte * block) + body.flush()
    tail = zlib.compressobj(9, zlib.DEFLATED, 31)
    end = tail.compress(b"\0" * 1024) + tail.flush()
    return first + member * (info.size // block) + end


class _Blob:
    """One layer descriptor (what the readers look at)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.size = len(data)
        self.media_type = GZIP_MEDIA


class _Client:
    """Serves blobs as OciClient.open_blob does: a digest-verified reader over 256 KiB chunks."""

    def open_blob(self, name: str, layer: _Blob) -> VerifiedReader:
        data = layer.data
        chunks = (data[i : i + 262144] for i in range(0, len(data), 262144))
        return VerifiedReader(chunks, digest=layer.digest, size=layer.size, what=f"blob {layer.digest}")


class _Manifest:
    ref = name = "example.com/hostile:1"

    def __init__(self, *layers: _Blob) -> None:
        self.layers = list(layers)


def _read_catalog_layer(blob: bytes, wanted: frozenset[str] | None = frozenset({"a"})) -> _Overlay:
    state = _Overlay("configs", wanted)
    layer = _Blob(blob)
    state.apply_layer(_Client(), _Manifest(layer), 0, layer)
    return state


# -- layers: compression bombs are refused fast ---------------------------------------------------


@pytest.mark.parametrize("name", ["configs/a/catalog.json", "configs/b/catalog.json", "configs/a/filler.bin"])
def test_a_catalog_layer_of_4_gib_whitespace_is_refused_in_seconds(name: str) -> None:
    # the red team's case: a 4 MB layer of 4 GiB whitespace was read at 5-8 MB/s (over 5 minutes)
    blob = _bomb(name, 4)
    assert len(blob) < 8 * 1024 * 1024
    started = time.monotonic()
    with pytest.raises(SourceLimitExceeded) as caught:
        _read_catalog_layer(blob)
    assert time.monotonic() - started < 30
    text = str(caught.value)
    assert "layer 1" in text and "example.com/hostile:1" in text and "100x" in text
    assert "MIRRORKIT_LIMIT_LAYER_RATIO" in text and "\n" not in text


def test_whitespace_up_to_the_ratio_cap_reads_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    # under the cap the same layer is read, not just refused: 1 GiB of whitespace around nothing
    monkeypatch.setenv("MIRRORKIT_LIMIT_LAYER_RATIO", "2000")
    started = time.monotonic()
    state = _read_catalog_layer(_bomb("configs/a/catalog.json", 1))
    assert state.parsed == {"configs/a/catalog.json": []}
    assert time.monotonic() - started < 30  # was about 3 minutes (5-8 MB/s)


def test_the_absolute_layer_cap_and_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRRORKIT_LIMIT_LAYER_RATIO", "5000")
    monkeypatch.setenv("MIRRORKIT_LIMIT_LAYER_BYTES", "512MiB")
    with pytest.raises(SourceLimitExceeded, match=r"inflated layer size limit of 512 MiB.*MIRRORKIT_LIMIT_LAYER_BYTES"):
        _read_catalog_layer(_bomb("configs/a/catalog.json", 1))
    monkeypatch.setenv("MIRRORKIT_LIMIT_LAYER_BYTES", "lots")
    with pytest.raises(InputError, match=r"MIRRORKIT_LIMIT_LAYER_BYTES='lots' is not a valid limit"):
        _read_catalog_layer(_bomb("configs/a/catalog.json", 1))


def test_a_bundle_layer_of_4_gib_filler_is_refused_in_seconds() -> None:
    layer = _Blob(_bomb("usr/share/filler.bin", 4, b"\0"))
    started = time.monotonic()
    with pytest.raises(SourceLimitExceeded, match=r"layer 1 .* inflates to more than"):
        read_files(_Client(), _Manifest(layer), ("manifests", "metadata"))  # type: ignore[arg-type]
    assert time.monotonic() - started < 30


def test_a_bundle_layer_with_a_large_skipped_member_reads_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    # skipping is arithmetic now (tarfile copied every byte: 40 MB/s)
    monkeypatch.setenv("MIRRORKIT_LIMIT_LAYER_RATIO", "2000")
    filler = _bomb("usr/share/filler.bin", 1, b"\0")
    started = time.monotonic()
    files = read_files(_Client(), _Manifest(_Blob(filler)), ("manifests",))  # type: ignore[arg-type]
    assert files == {} and time.monotonic() - started < 20


# -- FBC objects: size, node count, nesting -------------------------------------------------------


def test_an_fbc_object_of_60_mb_of_tiny_objects_is_refused_by_its_node_count() -> None:
    # the red team's case: 122 s and 1.44 GB before; now refused before it is decoded
    data = b'{"schema":"olm.bundle","name":"x","package":"a","properties":[' + b"{}," * 20_000_000 + b"{}]}"
    started = time.monotonic()
    with pytest.raises(SourceLimitExceeded) as caught:
        list(iter_objects(io.BytesIO(data), "configs/a/catalog.json"))
    assert time.monotonic() - started < 20
    assert "configs/a/catalog.json line 1" in str(caught.value)
    assert "FBC object node limit of 1,000,000 nodes" in str(caught.value)
    assert "MIRRORKIT_LIMIT_FBC_OBJECT_NODES" in str(caught.value)


def test_a_large_real_looking_object_still_decodes_quickly() -> None:
    # a bundle with a 40 MB olm.bundle.object (base64) and 100,000 small properties (about 600,000 values): under every limit
    big = {"type": "olm.bundle.object", "value": {"data": "QUJD" * 10_000_000}}
    small = [{"type": "olm.gvk", "value": {"group": "g", "kind": "K", "version": "v1"}}] * 100_000
    obj = {"schema": "olm.bundle", "name": "a.v1", "package": "a", "image": "x", "properties": [big, *small]}
    data = json.dumps(obj).encode() + b"\n" + json.dumps({"schema": "olm.package", "name": "a"}).encode()
    started = time.monotonic()
    objects = [o for o, _ in iter_objects(io.BytesIO(data), "configs/a/catalog.json")]
    assert [o["schema"] for o in objects] == ["olm.bundle", "olm.package"]
    assert time.monotonic() - started < 20


def test_an_fbc_object_over_the_byte_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRRORKIT_LIMIT_FBC_OBJECT_BYTES", "2MiB")
    data = json.dumps({"schema": "olm.bundle", "data": "x" * 3_000_000}).encode()
    with pytest.raises(SourceLimitExceeded, match=r"FBC object size limit of 2 MiB"):
        list(iter_objects(io.BytesIO(data), "configs/a/catalog.json"))
    with pytest.raises(SourceLimitExceeded, match=r"YAML FBC file configs/a/catalog.yaml"):
        list(iter_objects(io.BytesIO(b"a: " + b"x" * 3_000_000), "configs/a/catalog.yaml"))


@pytest.mark.parametrize(
    ("file", "data"),
    [
        ("configs/a/catalog.json", b"[" * 200_000 + b"]" * 200_000),
        ("configs/a/catalog.json", b'{"schema":"olm.bundle","p":' + b"[" * 200_000 + b"]" * 200_000 + b"}"),
        ("configs/a/catalog.yaml", b"[" * 200_000 + b"]" * 200_000),
        ("configs/a/catalog.yaml", b"a:\n" + b"".join(b"  " * i + b"- \n" for i in range(1, 1100))),
    ],
    ids=["json", "json-inside", "yaml-flow", "yaml-block"],
)
def test_deep_nesting_in_fbc_is_a_clear_refusal(file: str, data: bytes) -> None:
    with pytest.raises((SourceLimitExceeded, InputError)) as caught:
        list(iter_objects(io.BytesIO(data), file))
    assert "RecursionError" not in str(caught.value) and file in str(caught.value)


def test_deep_nesting_in_a_bundle_file_is_a_clear_refusal() -> None:
    deep = b"kind: ConfigMap\ndata:\n  cfg: |\n    " + b"[" * 5000 + b"]" * 5000 + b"\n"
    files = {"manifests/cm.yaml": deep, "manifests/csv.json": b"[" * 200_000 + b"]" * 200_000}
    with pytest.raises(SourceLimitExceeded, match=r"bundle file manifests/.* is nested too deeply"):
        collect_images(files)


# -- npm: packument and tarball size, versions ----------------------------------------------------


class _Hostile(http.server.BaseHTTPRequestHandler):
    """A registry that misbehaves: a huge packument, a bad version key, an endless tarball."""

    sent: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        host = f"http://{self.headers['Host']}"
        if self.path == "/huge":
            self._json({"name": "huge", "versions": {"1.0.0": {"pad": "x" * (3 * 1024 * 1024)}}}, chunked=True)
        elif self.path == "/deep":
            self._raw(b'{"name":"deep","x":' + b"[" * 200_000 + b"]" * 200_000 + b"}")
        elif self.path in ("/newline", "/endless"):
            name = self.path[1:]
            version = "1.0.0\n" if name == "newline" else "1.0.0"
            dist = {"tarball": f"{host}/{name}/-/{name}-1.0.0.tgz", "shasum": "0" * 40}
            self._json({"name": name, "dist-tags": {"latest": version}, "versions": {version: {"dist": dist}}})
        elif self.path.endswith(".tgz"):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()  # no Content-Length: HTTP/1.0, the body ends when the server closes
            try:
                for _ in range(100_000):  # 6 GiB: "never ends" for the test's purpose
                    self.wfile.write(b"\0" * 65536)
                    _Hostile.sent["tarball"] = _Hostile.sent.get("tarball", 0) + 65536
            except OSError:
                return  # the client hung up: what mirrorkit must do
        else:
            self.send_error(404)

    def _json(self, doc: object, chunked: bool = False) -> None:
        self._raw(json.dumps(doc).encode(), length=not chunked)

    def _raw(self, body: bytes, length: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def hostile_npm() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _npm(url: str) -> NpmClient:
    return NpmClient(NpmSettings.load(registry=url, env={"HOME": "/nonexistent"}))


def test_a_packument_over_the_limit_is_refused_without_reading_it_all(hostile_npm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from mirrorkit.npm.spec import PackageName

    monkeypatch.setenv("MIRRORKIT_LIMIT_PACKUMENT_BYTES", "1MiB")
    with pytest.raises(SourceLimitExceeded, match=r"packument of huge .* sent more than 1,048,576 bytes.*PACKUMENT_BYTES"):
        _npm(hostile_npm).packument(PackageName.parse("huge"))
    monkeypatch.setenv("MIRRORKIT_LIMIT_PACKUMENT_BYTES", "4MiB")
    assert _npm(hostile_npm).packument(PackageName.parse("huge"))["name"] == "huge"  # raised: read


def test_a_deep_packument_is_a_clear_refusal(hostile_npm: str) -> None:
    from mirrorkit.npm.spec import PackageName

    with pytest.raises(SourceLimitExceeded, match=r"packument of deep .* is nested too deeply"):
        _npm(hostile_npm).packument(PackageName.parse("deep"))


def test_an_endless_tarball_is_cut_off_at_the_ceiling(hostile_npm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mirrorkit.npm import pull_packages

    monkeypatch.setenv("MIRRORKIT_LIMIT_TARBALL_BYTES", "8MiB")
    settings = NpmSettings.load(registry=hostile_npm, env={"HOME": "/nonexistent"})
    report = pull_packages(["endless@1.0.0"], tmp_path, settings=settings, progress=False)
    (result,) = report.results
    assert result.reason is not None and "npm tarball size limit of 8 MiB" in result.reason
    assert "MIRRORKIT_LIMIT_TARBALL_BYTES" in result.reason
    assert _Hostile.sent["tarball"] < 6 * 1024**3  # the download stopped, nothing kept
    assert not list(tmp_path.rglob("*.tgz"))


def test_a_version_with_a_newline_never_becomes_a_file_name(hostile_npm: str, tmp_path: Path) -> None:
    from mirrorkit.npm import pull_packages

    settings = NpmSettings.load(registry=hostile_npm, env={"HOME": "/nonexistent"})
    report = pull_packages(["newline@latest"], tmp_path, settings=settings, progress=False)
    (result,) = report.results
    assert result.reason is not None and "not a valid npm version" in result.reason
    assert not [p for p in tmp_path.rglob("*") if "\n" in p.name]


@pytest.mark.parametrize("text", ["1.0.0\n", " 1.0.0", "1.0.0/../../x", "1.0.0\\x", "1.0", "1.0.0\t"])
def test_npm_version_check_refuses(text: str) -> None:
    with pytest.raises(NpmError, match=r"not a valid npm version"):
        checked_version("p", text)


@pytest.mark.parametrize("text", ["1.0.0", "v1.2.3", "=1.2.3", "1.0.0-rc.1+build.5"])
def test_npm_version_check_accepts_what_semver_valid_loose_accepts(text: str) -> None:
    assert checked_version("p", text) == text


# -- catalogs: duplicates and hard links, through the real registry ------------------------------


def _link_layer(files: list[tuple[str, bytes | str]]) -> bytes:
    """A gzip tar layer; a str value makes a hard link to that earlier member."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files:
            info = tarfile.TarInfo(name)
            if isinstance(content, str):
                info.type, info.linkname = tarfile.LNKTYPE, content
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    import gzip

    return gzip.compress(raw.getvalue(), mtime=0)


def _push(registry, repo: str, layers: list[bytes]) -> str:  # type: ignore[no-untyped-def]
    return push_image(registry.host, repo, "v1", layers, labels={CONFIGS_LABEL: "/configs"}).ref


@pytest.mark.integration
def test_a_duplicate_package_is_refused_as_opm_validate_refuses_it(registry) -> None:  # type: ignore[no-untyped-def]
    # opm v1.61.0 (`opm validate` on the same folder):
    #   level=fatal msg="duplicate package \"a\""
    dup = json.dumps({"schema": "olm.package", "name": "a", "defaultChannel": "stable"}).encode()
    layer = make_layer({"configs/a/catalog.json": pkg_json("a"), "configs/a/more.json": dup})
    ref = _push(registry, "limits/dup-package", [layer])
    with pytest.raises(InputError, match=r'duplicate package "a" \(first defined at configs/a/catalog.json line 1\)'):
        read_catalog(OciClient(tls_verify=False), ref, ["a"])


@pytest.mark.integration
def test_a_duplicate_bundle_is_refused_as_opm_validate_refuses_it(registry) -> None:  # type: ignore[no-untyped-def]
    # opm v1.61.0 (`opm validate` on the same folder):
    #   level=fatal msg="package \"a\" has duplicate bundle \"a.v1.0.0\""
    bundle = next(o for o, _ in iter_objects(io.BytesIO(pkg_json("a")), "x.json") if o["schema"] == "olm.bundle")
    layer = make_layer({"configs/a/catalog.json": pkg_json("a"), "configs/a/zz.json": json.dumps(bundle).encode()})
    ref = _push(registry, "limits/dup-bundle", [layer])
    with pytest.raises(InputError, match=r'package "a" has duplicate bundle "a.v1.0.0"'):
        read_catalog(OciClient(tls_verify=False), ref, ["a"])


@pytest.mark.integration
def test_a_catalog_file_stored_as_a_hard_link_reads_as_its_target(registry) -> None:  # type: ignore[no-untyped-def]
    client = OciClient(tls_verify=False)
    # the target outside the FBC folder (not decoded on the first read): its bytes are kept on a second
    for target in ("build/a.json", "configs/a/a.json.orig"):
        layer = _link_layer([(target, pkg_json("a")), ("configs/a/catalog.json", target)])
        catalog = read_catalog(client, _push(registry, "limits/link-outside", [layer]), ["a"])
        assert catalog.packages["a"].bundle("a.v1.0.0") is not None, target
    # the target sits in a folder that was skipped (another package's): a second, full read finds it
    other = _link_layer([("configs/b/catalog.json", pkg_json("a")), ("configs/a/catalog.json", "configs/b/catalog.json")])
    with pytest.raises(InputError, match='duplicate package "a"'):  # both files define a: opm refuses too
        read_catalog(client, _push(registry, "limits/link-other", [other]), ["a"])
    moved = _link_layer([("configs/b/a.json", pkg_json("a")), ("configs/a/catalog.json", "configs/b/a.json")])
    layers = [moved, make_layer({"configs/b/a.json": None})]  # the upper layer deletes the original
    catalog = read_catalog(client, _push(registry, "limits/link-lower", layers), ["a"])
    assert catalog.packages["a"].bundle("a.v1.0.0") is not None


def test_a_bundle_file_stored_as_a_hard_link_reads_as_its_target() -> None:
    csv = b"kind: ClusterServiceVersion\nspec:\n  relatedImages:\n  - image: quay.io/x/y:1\n"
    layer = _Blob(_link_layer([("manifests/a.yaml", csv), ("manifests/b.yaml", "manifests/a.yaml")]))
    files = read_files(_Client(), _Manifest(layer), ("manifests",))  # type: ignore[arg-type]
    assert files == {"manifests/a.yaml": csv, "manifests/b.yaml": csv}


# -- a full disk: one line naming the folder ------------------------------------------------------


def test_enospc_in_any_command_is_one_line_naming_the_folder(cli_run, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import mirrorkit.commands.keygen as keygen

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out" / "signing.pem"))

    monkeypatch.setattr(keygen, "generate_keypair", full)  # as if the disk filled while writing the key
    code, _, err = cli_run("keygen", "-o", str(tmp_path / "out" / "signing"))
    assert code == 1, err
    assert f"no space left on the device of {tmp_path / 'out'}" in err and "internal error" not in err
    assert err.count("\n") == 1


def test_enospc_while_writing_the_sbom_names_the_folder_and_the_size(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mirrorkit.bundle import sbom
    from mirrorkit.errors import BundleError

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(sbom, "atomic_write_bytes", full)
    monkeypatch.setattr(sbom, "build_bom", lambda content, root: None)
    monkeypatch.setattr(sbom, "render", lambda bom: "x" * 1234)
    monkeypatch.setattr(sbom, "content_manifest", lambda manifest: manifest)
    with pytest.raises(
        BundleError, match=rf"no space left on the device of {tmp_path} while writing the SBOM .*1,234 bytes needed"
    ):
        sbom.add_sbom(tmp_path, None)  # type: ignore[arg-type]


def test_limit_sizes_read_as_split_size_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """One size vocabulary: K/M/G are powers of 1024 and KB/MB/GB powers of 1000, as for --split-size;
    a limit stays a whole number."""
    from mirrorkit.bundle.parts import parse_size
    from mirrorkit.errors import InputError
    from mirrorkit.limits import LAYER_BYTES

    for text in ("4G", "4GiB", "4GB", "512M", "3K", "1048576"):
        monkeypatch.setenv(LAYER_BYTES.variable, text)
        assert LAYER_BYTES.value() == parse_size(text), text
    monkeypatch.setenv(LAYER_BYTES.variable, "1.5G")
    with pytest.raises(InputError, match="not a valid limit"):
        LAYER_BYTES.value()
