"""Manifest media types and parsing: Docker schema 2 and OCI, single images and indexes.

Parsing takes the exact bytes the registry served plus their (already verified) digest, so a
:class:`Manifest` always knows what it is and where it came from. Schema 1 manifests (signed JWS,
deprecated since 2017) are refused with a clear message rather than half-understood.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import oras.defaults

from mirrorkit.errors import RegistryError
from mirrorkit.oci.platform import Platform

OCI_MANIFEST = oras.defaults.default_manifest_media_type
OCI_INDEX = oras.defaults.default_index_media_type
DOCKER_MANIFEST = oras.defaults.docker_manifest_media_type
DOCKER_LIST = oras.defaults.docker_manifest_list_media_type
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)

IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
#: What we ask registries for, most preferred first.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

#: containerd's limit too: a manifest larger than this is not a manifest.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: what a manifest says about a blob or a child manifest."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: object, where: str) -> Descriptor:
        if not isinstance(data, dict):
            raise RegistryError(f"{where} is not a valid descriptor", "expected an object")
        media_type, digest, size = data.get("mediaType", ""), data.get("digest"), data.get("size")
        if not isinstance(digest, str) or ":" not in digest or not isinstance(size, int) or size < 0:
            raise RegistryError(f"{where} is not a valid descriptor", "it lacks a digest or a size")
        found = data.get("annotations")
        annotations: dict[Any, Any] = found if isinstance(found, dict) else {}
        return cls(
            media_type=media_type if isinstance(media_type, str) else "",
            digest=digest,
            size=size,
            platform=Platform.from_json(data.get("platform")),
            annotations=tuple(sorted((str(k), str(v)) for k, v in annotations.items())),
        )


@dataclass(frozen=True)
class Manifest:
    """A manifest or index as served, digest-verified.

    `name` is the repository reference it was fetched from (`registry/path`), `digest` its own digest.
    For a platform image picked out of an index, `index_digest` is the digest of that index.
    """

    name: str
    digest: str
    media_type: str
    raw: bytes = field(repr=False)
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    index_digest: str | None = None
    platform: Platform | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def ref(self) -> str:
        """`registry/path@digest` of this exact manifest."""
        return f"{self.name}@{self.digest}"

    @property
    def top_digest(self) -> str:
        """The digest a tag points at: the index for multi-arch images, else this manifest."""
        return self.index_digest or self.digest


def parse_manifest(name: str, raw: bytes, digest: str, content_type: str | None) -> Manifest:
    """Parse verified manifest bytes; the body's `mediaType` wins over the Content-Type header."""
    where = f"manifest {name}@{digest}"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{where} is not valid JSON", str(exc)) from None
    if not isinstance(data, dict):
        raise RegistryError(f"{where} is not valid", "expected a JSON object")
    header_type = (content_type or "").split(";")[0].strip()
    media_type = data.get("mediaType") if isinstance(data.get("mediaType"), str) else header_type
    if media_type in DOCKER_SCHEMA1 or data.get("schemaVersion") == 1:
        raise RegistryError(
            f"{where} uses Docker schema 1",
            "that format is deprecated and not supported",
            "re-push the image with a current tool (podman, skopeo, docker) to get schema 2 or OCI",
        )
    if not media_type:  # OCI allows omitting it: infer from the shape
        media_type = OCI_INDEX if "manifests" in data else OCI_MANIFEST
    if media_type in INDEX_TYPES:
        entries = data.get("manifests")
        if not isinstance(entries, list):
            raise RegistryError(f"{where} is not a valid index", "it has no manifests list")
        children = tuple(Descriptor.from_json(e, f"{where} entry {i}") for i, e in enumerate(entries))
        return Manifest(name, digest, media_type, raw, manifests=children)
    if media_type in IMAGE_TYPES:
        layers = data.get("layers")
        if not isinstance(layers, list):
            raise RegistryError(f"{where} is not a valid image manifest", "it has no layers list")
        return Manifest(
            name,
            digest,
            media_type,
            raw,
            config=Descriptor.from_json(data.get("config"), f"{where} config"),
            layers=tuple(Descriptor.from_json(e, f"{where} layer {i}") for i, e in enumerate(layers)),
        )
    raise RegistryError(
        f"{where} has unsupported media type {media_type!r}",
        "mirrorkit reads Docker schema 2 and OCI image manifests and indexes",
    )
