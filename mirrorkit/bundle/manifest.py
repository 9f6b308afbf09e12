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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mirrorkit.bundle import layout
from mirrorkit.bundle.limits import MAX_ENTRIES, MAX_MANIFEST_BYTES, loads_bounded
from mirrorkit.bundle.safepath import check_relpath
from mirrorkit.errors import BundleError
from mirrorkit.oci.reference import is_repository_path

FORMAT = "mirrorkit-bundle"
FORMAT_VERSION = 1

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_OCI_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SRI = re.compile(r"^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$")


def utc_now() -> str:
    """RFC 3339 UTC timestamp with second precision, e.g. 2026-05-09T07:35:25Z."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


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
#: ``operator``, ``helm``), the rebuilt operator ``catalog`` image itself, or a dynamic ``plugin``
#: packaged as an OCI artifact (carried as an additional image; ``package`` names its plugin
#: package folder(s), comma-separated, ``version`` the tag or digest it was named by).
IMAGE_KINDS = ("additional", "operator", "helm", "catalog", "plugin")


def count_kinds(images: Iterable[ImageEntry]) -> dict[str, int]:
    """How many of *images* are of each kind, in :data:`IMAGE_KINDS` order (every kind listed)."""
    counts = dict.fromkeys(IMAGE_KINDS, 0)
    for image in images:
        counts[image.kind] += 1
    return counts


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
        out.update({k: v for k, v in (("package", self.package), ("version", self.version), ("bundle", self.bundle)) if v})
        return out


@dataclass(frozen=True, order=True)
class PluginRef:
    """A plugin version a delta relies on without carrying it: the target must serve it with this integrity."""

    name: str
    version: str
    integrity: str


#: What a left-out blob is in the registry storage of oc-mirror's archive: a layer or config blob
#: (``_layers`` link) or an image manifest (``_manifests/revisions`` link); push fetches each by its kind.
BLOB_KINDS = ("layer", "manifest")


@dataclass(frozen=True, order=True)
class BaseBlob:
    """A blob a delta's archives leave out because its base put it in the target (issue 27): oc-mirror
    was told the base archived it (its history), and push fetches it back from *repository* in the
    target (the base's archive path there, under the target prefix), checked by digest, before
    disk-to-mirror. *size* is what the base archived."""

    digest: str
    size: int
    repository: str
    kind: str = "layer"

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "size": self.size, "repository": self.repository, "kind": self.kind}


@dataclass(frozen=True)
class BaseRef:
    """What a delta bundle stands on (issue 27): the base bundle, named by the sha256 of its
    manifest.json, and the content of the release this delta leaves to it (images by digest,
    plugins by integrity, charts by sha256), so the delta's manifest still lists the whole release
    and push can check the target holds the rest before writing anything."""

    manifest_sha256: str
    images: tuple[ImageEntry, ...] = ()
    npm: tuple[PluginRef, ...] = ()
    charts: tuple[FileEntry, ...] = ()
    #: blobs of this delta's own images that its archives leave out (the base put them in the target)
    blobs: tuple[BaseBlob, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "images", tuple(sorted(self.images)))
        object.__setattr__(self, "npm", tuple(sorted(self.npm)))
        object.__setattr__(self, "charts", tuple(sorted(self.charts)))
        object.__setattr__(self, "blobs", tuple(sorted(self.blobs)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest_sha256": self.manifest_sha256,
            "images": [i.to_dict() for i in self.images],
            "npm": [{"name": p.name, "version": p.version, "integrity": p.integrity} for p in self.npm],
            "charts": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.charts],
        } | ({"blobs": [b.to_dict() for b in self.blobs]} if self.blobs else {})


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
    #: Set in a delta bundle only; a full bundle's manifest has no ``base`` key (its bytes are unchanged).
    base: BaseRef | None = None

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
            "npm": [{"name": p.name, "version": p.version, "integrity": p.integrity, "file": p.file} for p in self.npm],
            "images": [i.to_dict() for i in self.images],
        } | ({"base": self.base.to_dict()} if self.base is not None else {})

    @property
    def release_images(self) -> tuple[ImageEntry, ...]:
        """Every image of the release: carried here, or (a delta) left to the base."""
        return tuple(sorted(set(self.images) | set(self.base.images if self.base else ())))

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
    def from_bytes(cls, data: bytes, *, where: str = layout.MANIFEST) -> Manifest:
        """Parse and validate manifest bytes; raise :class:`BundleError` saying what is wrong.

        Each part is checked by its own function, in the order a reader meets them (envelope, files,
        then what refers to files), so the first problem found is always the same one for the same bytes.
        """
        check = _Check(where)
        doc = _load_document(data, check)
        version = _check_envelope(doc, check)
        created = _created(doc, check)
        files, seen = _files(doc, check)
        npm = _npm(doc, seen, check)
        images = _images(doc, check)
        return cls(
            created=created,
            mirrorkit_version=check.text(doc, "mirrorkit_version", "manifest"),
            oc_mirror_version=check.text(doc, "oc_mirror_version", "manifest", required=False),
            profile=check.text(doc, "profile", "manifest", required=False),
            imageset_config=check.text(doc, "imageset_config", "manifest", required=False),
            files=tuple(files),
            npm=tuple(npm),
            images=tuple(images),
            format_version=version,
            base=_base(doc, check),
        )


# -- parsing: one function per part of the document, sharing one error builder ---------------------

_KNOWN_FIELDS = frozenset(
    {
        "format",
        "format_version",
        "created",
        "mirrorkit_version",
        "oc_mirror_version",
        "profile",
        "imageset_config",
        "files",
        "npm",
        "images",
        "base",
    }
)
_FILE_FIELDS = frozenset({"path", "size", "sha256"})
_NPM_FIELDS = frozenset({"name", "version", "integrity", "file"})
_IMAGE_FIELDS = frozenset({"source", "digest", "destination", "kind", "package", "version", "bundle"})


@dataclass(frozen=True)
class _Check:
    """What every validator of one manifest shares: a refusal always names the manifest and gives
    the same advice, and fields are read with the same type rules everywhere."""

    where: str

    def bad(self, why: str) -> BundleError:
        return BundleError(
            f"invalid bundle manifest {self.where}",
            why,
            "the bundle is damaged or was not written by mirrorkit; get a fresh copy from the packing host",
        )

    def text(self, obj: dict[str, Any], key: str, ctx: str, required: bool = True) -> str:
        """A string field; an optional one defaults to "" but must still be a string when present."""
        value = obj.get(key, None if required else "")
        if not isinstance(value, str):
            raise self.bad(f"{ctx}: '{key}' must be a string")
        return value

    def entries(self, doc: dict[str, Any], key: str, fields: frozenset[str]) -> list[dict[str, Any]]:
        """A list section (``files``, ``npm``, ``images``): bounded in length, objects only, no
        unknown fields (a field this mirrorkit does not know means it would silently drop it)."""
        value = doc.get(key, [])
        if not isinstance(value, list):
            raise self.bad(f"'{key}' must be a list")
        if len(value) > MAX_ENTRIES:
            raise self.bad(f"'{key}' has {len(value)} entries, more than the {MAX_ENTRIES} mirrorkit accepts")
        for n, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.bad(f"{key}[{n}] is not an object")
            extra = sorted(set(item) - fields)
            if extra:
                raise self.bad(f"{key}[{n}] has unknown field(s) {', '.join(extra)}")
        return value


def _load_document(data: bytes, check: _Check) -> dict[str, Any]:
    """The JSON object, bounded: a huge or deeply nested document is refused before json sees it."""
    try:
        doc = loads_bounded(data, check.where, limit=MAX_MANIFEST_BYTES)
    except BundleError as exc:
        raise check.bad(exc.what.removeprefix(f"{check.where} ") + (f" ({exc.why})" if exc.why else "")) from None
    if not isinstance(doc, dict):
        raise check.bad("top level is not an object")
    return doc


def _check_envelope(doc: dict[str, Any], check: _Check) -> int:
    """The format and its version, then the top-level field names; returns the format version.

    A newer version is not a damaged bundle: its message says which mirrorkit to use instead."""
    where = check.where
    if doc.get("format") != FORMAT:
        raise check.bad(f"'format' is {doc.get('format')!r}, expected {FORMAT!r}")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise check.bad("'format_version' is missing or not an integer")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"bundle manifest {where} has format version {version}",
            f"this mirrorkit understands version {FORMAT_VERSION} only",
            "use the mirrorkit version that packed the bundle (see 'mirrorkit_version' in the manifest)"
            if version > FORMAT_VERSION
            else "re-pack the bundle with this mirrorkit",
        )
    unknown = sorted(set(doc) - _KNOWN_FIELDS)
    if unknown:
        raise check.bad(f"unknown field(s) {', '.join(unknown)}")
    return version


def _created(doc: dict[str, Any], check: _Check) -> str:
    """The creation time, which must be the exact form :func:`utc_now` writes."""
    created = check.text(doc, "created", "manifest")
    try:
        _dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise check.bad(f"'created' {created!r} is not an RFC 3339 UTC time like 2026-01-31T12:00:00Z") from None
    return created


def _files(doc: dict[str, Any], check: _Check) -> tuple[list[FileEntry], set[str]]:
    """The payload files and the set of their paths (npm entries must point into it).

    Every path is safe, outside the names the bundle reserves for itself, listed once, and never
    both a file and a directory: a manifest that cannot be laid out on disk is refused here."""
    files: list[FileEntry] = []
    seen: set[str] = set()
    for n, item in enumerate(check.entries(doc, "files", _FILE_FIELDS)):
        path = check_relpath(check.text(item, "path", f"files[{n}]"), where=check.where)
        if path.split("/", 1)[0] in layout.RESERVED:
            raise check.bad(f"files[{n}] {path!r} is a reserved bundle name, not a payload file")
        if path in seen:
            raise check.bad(f"file {path!r} is listed twice")
        seen.add(path)
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise check.bad(f"file {path!r}: 'size' must be a non-negative integer")
        digest = check.text(item, "sha256", f"file {path!r}")
        if not _HEX64.match(digest):
            raise check.bad(f"file {path!r}: 'sha256' {digest!r} is not 64 lowercase hex digits")
        files.append(FileEntry(path, size, digest))
    _check_no_file_is_a_directory(seen, check)
    return files, seen


def _check_no_file_is_a_directory(seen: set[str], check: _Check) -> None:
    """A file and a directory of the same name cannot both exist."""
    for path in seen:
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        while parent:
            if parent in seen:
                raise check.bad(f"{parent!r} is listed as a file and as a directory")
            parent = parent.rsplit("/", 1)[0] if "/" in parent else None


def _npm(doc: dict[str, Any], seen: set[str], check: _Check) -> list[NpmPackage]:
    """The npm packages: an SRI integrity each (values.yaml pins it) and a tarball listed in 'files'."""
    npm: list[NpmPackage] = []
    for n, item in enumerate(check.entries(doc, "npm", _NPM_FIELDS)):
        ctx = f"npm[{n}]"
        name, version = check.text(item, "name", ctx), check.text(item, "version", ctx)
        integrity = check.text(item, "integrity", ctx)
        if not _SRI.match(integrity):
            raise check.bad(f"npm package {name}@{version}: integrity {integrity!r} is not an SRI string")
        pkg_file = check_relpath(check.text(item, "file", ctx), where=check.where)
        if pkg_file not in seen:
            raise check.bad(f"npm package {name}@{version}: its tarball {pkg_file!r} is not in 'files'")
        npm.append(NpmPackage(name, version, integrity, pkg_file))
    return npm


def _images(doc: dict[str, Any], check: _Check) -> list[ImageEntry]:
    """The images: a source and a sha256 digest each, a known kind (older manifests have none:
    "additional"), and provenance fields that are strings when present."""
    images: list[ImageEntry] = []
    for n, item in enumerate(check.entries(doc, "images", _IMAGE_FIELDS)):
        ctx = f"images[{n}]"
        source, digest = check.text(item, "source", ctx), check.text(item, "digest", ctx)
        if not source:
            raise check.bad(f"{ctx}: 'source' is empty")
        if not _OCI_DIGEST.match(digest):
            raise check.bad(f"image {source}: digest {digest!r} is not sha256:<64 hex>")
        kind = check.text(item, "kind", ctx, required=False) or "additional"
        if kind not in IMAGE_KINDS:
            raise check.bad(f"image {source}: kind {kind!r} is not one of {', '.join(IMAGE_KINDS)}")
        optional = {k: check.text(item, k, ctx, required=False) for k in ("destination", "package", "version", "bundle")}
        images.append(ImageEntry(source, digest, kind=kind, **optional))
    return images


def _base(doc: dict[str, Any], check: _Check) -> BaseRef | None:
    """A delta's ``base``: the base manifest's sha256, then what it leaves to the base, each checked
    as the same entries of a full manifest are (the files are not in this bundle: no file check)."""
    raw = doc.get("base")
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"manifest_sha256", "images", "npm", "charts", "blobs"}:
        raise check.bad("'base' must be an object with manifest_sha256, images, npm, charts and blobs")
    digest = check.text(raw, "manifest_sha256", "base")
    if not _HEX64.match(digest):
        raise check.bad(f"base: manifest_sha256 {digest!r} is not 64 lowercase hex digits")
    images = _images({"images": raw.get("images", [])}, check)
    npm = []
    for n, item in enumerate(check.entries(raw, "npm", frozenset({"name", "version", "integrity"}))):
        ctx = f"base.npm[{n}]"
        ref = PluginRef(check.text(item, "name", ctx), check.text(item, "version", ctx), check.text(item, "integrity", ctx))
        if not _SRI.match(ref.integrity):
            raise check.bad(f"base plugin {ref.name}@{ref.version}: integrity {ref.integrity!r} is not an SRI string")
        npm.append(ref)
    charts = []
    for n, item in enumerate(check.entries(raw, "charts", _FILE_FIELDS)):
        ctx = f"base.charts[{n}]"
        path, sha = check_relpath(check.text(item, "path", ctx)), check.text(item, "sha256", ctx)
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not _HEX64.match(sha):
            raise check.bad(f"base chart {path}: size or sha256 is malformed")
        charts.append(FileEntry(path, size, sha))
    return BaseRef(digest, tuple(images), tuple(npm), tuple(charts), _base_blobs(raw, check))


def _base_blobs(raw: dict[str, Any], check: _Check) -> tuple[BaseBlob, ...]:
    """``base.blobs``: each a digest, a size, the target repository path push fetches it from, a kind."""
    blobs = []
    for n, item in enumerate(check.entries(raw, "blobs", frozenset({"digest", "size", "repository", "kind"}))):
        ctx = f"base.blobs[{n}]"
        digest, repository = check.text(item, "digest", ctx), check.text(item, "repository", ctx)
        kind, size = check.text(item, "kind", ctx), item.get("size")
        if not _OCI_DIGEST.match(digest) or not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise check.bad(f"base blob {digest!r}: digest or size is malformed")
        if kind not in BLOB_KINDS or not is_repository_path(repository):
            raise check.bad(f"base blob {digest}: kind {kind!r} or repository {repository!r} is not valid")
        blobs.append(BaseBlob(digest, size, repository, kind))
    return tuple(blobs)
