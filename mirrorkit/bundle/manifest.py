"""The bundle manifest: what a bundle contains, pinned byte for byte.

The manifest is written as *canonical JSON* (sorted keys, ``(",", ":")`` separators, ASCII only,
one trailing newline) so the same content always gives the same bytes: the detached signature covers
exactly the bytes on disk and re-serialising a parsed manifest gives them back.

``Manifest.from_bytes`` treats its input as hostile: it checks the structure, every path (see
:mod:`mirrorkit.bundle.safepath`), every digest's shape, refuses duplicates and refuses a format
version it does not know (a newer mirrorkit wrote it: the fix is to upgrade, not to guess).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mirrorkit.bundle import layout
from mirrorkit.bundle.limits import MAX_ENTRIES, MAX_MANIFEST_BYTES, loads_bounded
from mirrorkit.bundle.safepath import check_relpath
from mirrorkit.errors import BundleError

FORMAT = "mirrorkit-bundle"
FORMAT_VERSION = 1

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_OCI_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SRI = re.compile(r"^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$")


def utc_now() -> str:
    """RFC 3339 UTC timestamp with second precision, e.g. 2026-05-09T07:35:25Z."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_json(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")


@dataclass(frozen=True, order=True)
class FileEntry:
    """A payload file: bundle-relative POSIX path, size in bytes, lowercase hex sha256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True, order=True)
class NpmPackage:
    """An npm package carried as a tarball: its SRI integrity is what values.yaml will pin."""

    name: str
    version: str
    integrity: str
    file: str


#: What brought an image into the bundle: the ImageSetConfiguration section (``additional``,
#: ``operator``, ``helm``) or the rebuilt operator ``catalog`` image itself.
IMAGE_KINDS = ("additional", "operator", "helm", "catalog")


@dataclass(frozen=True, order=True)
class ImageEntry:
    """An image the bundle mirrors: source reference, its manifest digest, destination when known.

    ``kind`` says which part of the ImageSetConfiguration asked for it (see :data:`IMAGE_KINDS`);
    ``package``/``version``/``bundle`` are its provenance where there is one: for an operator image
    the catalog package, bundle version and bundle name; for a Helm image the chart name and version.
    Verification reports group by them, so a user sees *which operator* is incomplete, not just a digest.
    """

    source: str
    digest: str
    destination: str = ""
    kind: str = "additional"
    package: str = ""
    version: str = ""
    bundle: str = ""

    def __post_init__(self) -> None:
        if self.kind not in IMAGE_KINDS:
            raise ValueError(f"image kind {self.kind!r} is not one of {', '.join(IMAGE_KINDS)}")

    def to_dict(self) -> dict[str, str]:
        """Manifest form: the provenance fields only where they say something (older manifests stay valid)."""
        out = {"source": self.source, "digest": self.digest, "destination": self.destination, "kind": self.kind}
        out.update({k: v for k, v in (("package", self.package), ("version", self.version),
                                      ("bundle", self.bundle)) if v})
        return out


@dataclass(frozen=True)
class Manifest:
    created: str
    mirrorkit_version: str
    oc_mirror_version: str = ""
    profile: str = ""
    imageset_config: str = ""
    files: tuple[FileEntry, ...] = ()
    npm: tuple[NpmPackage, ...] = ()
    images: tuple[ImageEntry, ...] = ()
    format_version: int = field(default=FORMAT_VERSION)

    def __post_init__(self) -> None:
        # Normalise order so the same content always serialises to the same bytes.
        object.__setattr__(self, "files", tuple(sorted(self.files)))
        object.__setattr__(self, "npm", tuple(sorted(self.npm)))
        object.__setattr__(self, "images", tuple(sorted(self.images)))

    # -- serialisation -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "created": self.created,
            "mirrorkit_version": self.mirrorkit_version,
            "oc_mirror_version": self.oc_mirror_version,
            "profile": self.profile,
            "imageset_config": self.imageset_config,
            "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.files],
            "npm": [
                {"name": p.name, "version": p.version, "integrity": p.integrity, "file": p.file}
                for p in self.npm
            ],
            "images": [i.to_dict() for i in self.images],
        }

    def to_bytes(self) -> bytes:
        """Canonical bytes: what is written to manifest.json and what the signature covers."""
        return canonical_json(self.to_dict())

    def sha256(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, path: str) -> FileEntry | None:
        return next((f for f in self.files if f.path == path), None)

    # -- parsing -------------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes, *, where: str = layout.MANIFEST) -> "Manifest":
        """Parse and validate manifest bytes; raise :class:`BundleError` saying what is wrong."""

        def bad(why: str) -> BundleError:
            return BundleError(
                f"invalid bundle manifest {where}",
                why,
                "the bundle is damaged or was not written by mirrorkit; get a fresh copy from the packing host",
            )

        try:  # bounded: a huge or deeply nested document is refused before json sees it
            doc = loads_bounded(data, where, limit=MAX_MANIFEST_BYTES)
        except BundleError as exc:
            raise bad(exc.what.removeprefix(f"{where} ") + (f" ({exc.why})" if exc.why else "")) from None
        if not isinstance(doc, dict):
            raise bad("top level is not an object")
        if doc.get("format") != FORMAT:
            raise bad(f"'format' is {doc.get('format')!r}, expected {FORMAT!r}")
        version = doc.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise bad("'format_version' is missing or not an integer")
        if version != FORMAT_VERSION:
            raise BundleError(
                f"bundle manifest {where} has format version {version}",
                f"this mirrorkit understands version {FORMAT_VERSION} only",
                "use the mirrorkit version that packed the bundle (see 'mirrorkit_version' in the manifest)"
                if version > FORMAT_VERSION
                else "re-pack the bundle with this mirrorkit",
            )
        known = {
            "format", "format_version", "created", "mirrorkit_version", "oc_mirror_version",
            "profile", "imageset_config", "files", "npm", "images",
        }
        unknown = sorted(set(doc) - known)
        if unknown:
            raise bad(f"unknown field(s) {', '.join(unknown)}")

        def text(obj: dict[str, Any], key: str, ctx: str, required: bool = True) -> str:
            value = obj.get(key, None if required else "")
            if not isinstance(value, str):
                raise bad(f"{ctx}: '{key}' must be a string")
            return value

        def entries(key: str, fields: set[str]) -> list[dict[str, Any]]:
            value = doc.get(key, [])
            if not isinstance(value, list):
                raise bad(f"'{key}' must be a list")
            if len(value) > MAX_ENTRIES:
                raise bad(f"'{key}' has {len(value)} entries, more than the {MAX_ENTRIES} mirrorkit accepts")
            for n, item in enumerate(value):
                if not isinstance(item, dict):
                    raise bad(f"{key}[{n}] is not an object")
                extra = sorted(set(item) - fields)
                if extra:
                    raise bad(f"{key}[{n}] has unknown field(s) {', '.join(extra)}")
            return value

        created = text(doc, "created", "manifest")
        try:
            _dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            raise bad(f"'created' {created!r} is not an RFC 3339 UTC time like 2026-01-31T12:00:00Z") from None

        files: list[FileEntry] = []
        seen: set[str] = set()
        for n, item in enumerate(entries("files", {"path", "size", "sha256"})):
            path = check_relpath(text(item, "path", f"files[{n}]"), where=where)
            if path.split("/", 1)[0] in layout.RESERVED:
                raise bad(f"files[{n}] {path!r} is a reserved bundle name, not a payload file")
            if path in seen:
                raise bad(f"file {path!r} is listed twice")
            seen.add(path)
            size = item.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise bad(f"file {path!r}: 'size' must be a non-negative integer")
            digest = text(item, "sha256", f"file {path!r}")
            if not _HEX64.match(digest):
                raise bad(f"file {path!r}: 'sha256' {digest!r} is not 64 lowercase hex digits")
            files.append(FileEntry(path, size, digest))
        # A file and a directory of the same name cannot both exist.
        for path in seen:
            parent = path.rsplit("/", 1)[0] if "/" in path else None
            while parent:
                if parent in seen:
                    raise bad(f"{parent!r} is listed as a file and as a directory")
                parent = parent.rsplit("/", 1)[0] if "/" in parent else None

        npm: list[NpmPackage] = []
        for n, item in enumerate(entries("npm", {"name", "version", "integrity", "file"})):
            ctx = f"npm[{n}]"
            name, version_ = text(item, "name", ctx), text(item, "version", ctx)
            integrity = text(item, "integrity", ctx)
            if not _SRI.match(integrity):
                raise bad(f"npm package {name}@{version_}: integrity {integrity!r} is not an SRI string")
            pkg_file = check_relpath(text(item, "file", ctx), where=where)
            if pkg_file not in seen:
                raise bad(f"npm package {name}@{version_}: its tarball {pkg_file!r} is not in 'files'")
            npm.append(NpmPackage(name, version_, integrity, pkg_file))

        images: list[ImageEntry] = []
        image_fields = {"source", "digest", "destination", "kind", "package", "version", "bundle"}
        for n, item in enumerate(entries("images", image_fields)):
            ctx = f"images[{n}]"
            source, digest = text(item, "source", ctx), text(item, "digest", ctx)
            if not source:
                raise bad(f"{ctx}: 'source' is empty")
            if not _OCI_DIGEST.match(digest):
                raise bad(f"image {source}: digest {digest!r} is not sha256:<64 hex>")
            kind = text(item, "kind", ctx, required=False) or "additional"
            if kind not in IMAGE_KINDS:
                raise bad(f"image {source}: kind {kind!r} is not one of {', '.join(IMAGE_KINDS)}")
            optional = {k: text(item, k, ctx, required=False)
                        for k in ("destination", "package", "version", "bundle")}
            images.append(ImageEntry(source, digest, kind=kind, **optional))

        return cls(
            created=created,
            mirrorkit_version=text(doc, "mirrorkit_version", "manifest"),
            oc_mirror_version=text(doc, "oc_mirror_version", "manifest", required=False),
            profile=text(doc, "profile", "manifest", required=False),
            imageset_config=text(doc, "imageset_config", "manifest", required=False),
            files=tuple(files),
            npm=tuple(npm),
            images=tuple(images),
            format_version=version,
        )
