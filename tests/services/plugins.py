"""Dynamic plugin OCI artifacts and a plugin catalog index, in the layout RHDH's installer reads.

A plugin image holds its packages in its first layer, one top-level folder per package (with its
``package.json``), and names them in the manifest annotation ``io.backstage.dynamic-packages``
(base64 of a JSON list of ``{folder: metadata}``), as the RHDH CLI's ``plugin package`` writes it.
A catalog index image holds ``dynamic-plugins.default.yaml`` at its root.
"""

from __future__ import annotations

import base64
import json

import yaml

from tests.services.images import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, PushedImage, make_layer, push_blob, push_manifest

ANNOTATION = "io.backstage.dynamic-packages"


def push_plugin_image(
    host: str, repo: str, tag: str, packages: tuple[str, ...], *, declared: tuple[str, ...] | None = None
) -> PushedImage:
    """Push a plugin artifact holding *packages*; *declared* overrides what the annotation names."""
    files: dict[str, bytes | None] = {}
    for name in packages:
        files[f"{name}/package.json"] = json.dumps({"name": f"@example/{name}", "version": tag}).encode()
        files[f"{name}/dist/index.js"] = f"// {name} {tag}\n".encode()
    layer = make_layer(files)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    metadata = [{name: {"name": f"@example/{name}", "version": tag}} for name in (declared if declared is not None else packages)]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": push_blob(host, repo, config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": push_blob(host, repo, layer), "size": len(layer)}],
        "annotations": {ANNOTATION: base64.b64encode(json.dumps(metadata).encode()).decode()},
    }
    body = json.dumps(manifest, indent=2).encode()
    return PushedImage(host, repo, tag, push_manifest(host, repo, tag, body, OCI_MANIFEST), OCI_MANIFEST)


def push_catalog_index(
    host: str, repo: str, tag: str, plugins: dict[str, str], configs: dict[str, dict[str, object]] | None = None
) -> PushedImage:
    """Push a catalog index whose dynamic-plugins.default.yaml lists *plugins* ({folder: oci ref}),
    disabled as Red Hat ships them, each with its ``pluginConfig`` from *configs* ({folder: config})."""
    doc = {
        "plugins": [
            {"package": f"{ref}!{name}", "disabled": True, **({"pluginConfig": configs[name]} if name in (configs or {}) else {})}
            for name, ref in plugins.items()
        ]
    }
    layer = make_layer({"dynamic-plugins.default.yaml": yaml.safe_dump(doc).encode(), "index.json": b"[]"})
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": push_blob(host, repo, config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": push_blob(host, repo, layer), "size": len(layer)}],
    }
    body = json.dumps(manifest, indent=2).encode()
    return PushedImage(host, repo, tag, push_manifest(host, repo, tag, body, OCI_MANIFEST), OCI_MANIFEST)
