"""Image layouts on disk for the oc-mirror TEST DOUBLE: read a catalog image's files, build a new one.

The double keeps images as skopeo `dir:` layouts (manifest.json, blobs named by their hex digest,
instance manifests of an index as `<hex>.manifest.json`). This module reads the merged filesystem of
such an image (layers applied in order, OCI whiteouts `.wh.NAME` and opaque `.wh..wh..opq`
honoured) and writes a rebuilt catalog image as another `dir:` layout: the original layers, then a
layer whiting out the configs directory, then a layer holding the filtered FBC there (every platform
of an index is rebuilt). Layers are written reproducibly (mtime 0, sorted, gzip mtime 0), so the same
filtered catalog always gets the same digest. Standard library only.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
LAYER_TYPES = {
    DOCKER_MANIFEST: "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.oci.image.manifest.v1+json": "application/vnd.oci.image.layer.v1.tar+gzip",
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hex_of(digest: str) -> str:
    return digest.split(":", 1)[1]


def top_digest(layout: Path) -> str:
    """The digest of the image in a `dir:` layout (skopeo --preserve-digests keeps the bytes)."""
    return sha256((layout / "manifest.json").read_bytes())


def _instance(layout: Path) -> tuple[dict, bytes]:
    """(manifest, raw) of one platform: the manifest itself, or linux/amd64 (else the first) of an index."""
    raw = (layout / "manifest.json").read_bytes()
    doc = json.loads(raw)
    if doc.get("mediaType") not in INDEX_TYPES and "manifests" not in doc:
        return doc, raw
    entries = doc.get("manifests") or []
    chosen = next((m for m in entries if (m.get("platform") or {}).get("architecture") == "amd64"), entries[0])
    raw = (layout / f"{hex_of(chosen['digest'])}.manifest.json").read_bytes()
    return json.loads(raw), raw


def image_config(layout: Path) -> dict:
    manifest, _ = _instance(layout)
    return json.loads((layout / hex_of(manifest["config"]["digest"])).read_bytes())


def configs_dir(layout: Path) -> str:
    """The FBC directory the image's label names (an error text if it has none)."""
    labels = (image_config(layout).get("config") or {}).get("Labels") or {}
    if not labels.get(CONFIGS_LABEL):
        raise ValueError(f"catalog image has no label {CONFIGS_LABEL}: it is not a File-Based Catalog")
    return str(labels[CONFIGS_LABEL])


def _clean(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/").rstrip("/")


def merged_files(layout: Path, under: str = "") -> dict[str, bytes]:
    """Regular files of the image's filesystem (paths without a leading `/`), only those *under* a
    directory when given. Each layer's whiteouts apply to the layers below it."""
    manifest, _ = _instance(layout)
    root = _clean(under)
    files: dict[str, bytes] = {}
    for layer in manifest.get("layers") or []:
        raw = (layout / hex_of(layer["digest"])).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        removed: list[tuple[str, bool]] = []
        added: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            for member in tar.getmembers():
                path = _clean(member.name)
                head, _, base = path.rpartition("/")
                if base == ".wh..wh..opq":
                    removed.append((head, True))
                elif base.startswith(".wh."):
                    removed.append((f"{head}/{base[4:]}" if head else base[4:], False))
                elif member.isfile() and (not root or path == root or path.startswith(root + "/") or root.startswith(path + "/")):
                    handle = tar.extractfile(member)
                    added[path] = handle.read() if handle else b""
        for gone, opaque in removed:
            files = {
                p: d
                for p, d in files.items()
                if not (p.startswith(gone + "/") or (not opaque and p == gone) or (opaque and not gone))
            }
        files.update(added)
    if root:
        files = {p: d for p, d in files.items() if p.startswith(root + "/")}
    return files


def make_layer(files: dict[str, bytes | None]) -> bytes:
    """A reproducible gzip tar layer; None writes a whiteout for the path."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            if content is None:
                head, _, base = path.rpartition("/")
                path, content = (f"{head}/.wh.{base}" if head else f".wh.{base}"), b""
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def _write_blob(out: Path, data: bytes) -> str:
    digest = sha256(data)
    (out / hex_of(digest)).write_bytes(data)
    return digest


def _rebuild_instance(src: Path, out: Path, manifest: dict, extra: list[bytes], cmd: list[str]) -> bytes:
    """One platform: original layers + *extra*; config gets the new diff_ids and Cmd (labels kept)."""
    config = json.loads((src / hex_of(manifest["config"]["digest"])).read_bytes())
    for layer in manifest.get("layers") or []:
        shutil.copyfile(src / hex_of(layer["digest"]), out / hex_of(layer["digest"]))
    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    rootfs["diff_ids"] = list(rootfs.get("diff_ids") or []) + [sha256(gzip.decompress(x)) for x in extra]
    config.setdefault("config", {})["Cmd"] = cmd
    config["history"] = list(config.get("history") or []) + [
        {"created_by": "oc-mirror TEST DOUBLE: filtered catalog", "created": "1970-01-01T00:00:00Z"} for _ in extra
    ]
    config_raw = json.dumps(config, sort_keys=True).encode()
    layer_type = LAYER_TYPES.get(manifest.get("mediaType", ""), LAYER_TYPES["application/vnd.oci.image.manifest.v1+json"])
    new = dict(manifest)
    new["config"] = {**manifest["config"], "digest": _write_blob(out, config_raw), "size": len(config_raw)}
    new["layers"] = list(manifest.get("layers") or []) + [
        {"mediaType": layer_type, "digest": _write_blob(out, x), "size": len(x)} for x in extra
    ]
    return json.dumps(new, indent=2, sort_keys=True).encode()


def rebuild_catalog(src: Path, out: Path, configs: str, fbc_files: dict[str, bytes]) -> str:
    """Write to *out* (a fresh `dir:` layout) the catalog at *src* with its configs directory replaced
    by *fbc_files* (paths relative to it); returns the new image's digest. Every platform is rebuilt."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    root = _clean(configs)
    extra = [make_layer({root: None}), make_layer({f"{root}/{p}": d for p, d in fbc_files.items()})]
    cmd = ["serve", f"/{root}", "--cache-dir=/tmp/cache"]
    raw = (src / "manifest.json").read_bytes()
    doc = json.loads(raw)
    if doc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
        entries = []
        for entry in doc.get("manifests") or []:
            instance = json.loads((src / f"{hex_of(entry['digest'])}.manifest.json").read_bytes())
            body = _rebuild_instance(src, out, instance, extra, cmd)
            (out / f"{hex_of(sha256(body))}.manifest.json").write_bytes(body)
            entries.append({**entry, "digest": sha256(body), "size": len(body)})
        top = json.dumps({**doc, "manifests": entries}, indent=2, sort_keys=True).encode()
    else:
        top = _rebuild_instance(src, out, doc, extra, cmd)
    (out / "manifest.json").write_bytes(top)
    (out / "version").write_text("Directory Transport Version: 1.1\n")
    return sha256(top)
