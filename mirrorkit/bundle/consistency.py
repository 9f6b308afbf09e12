"""The bundle's npm index agrees with its manifest and with the tarballs, entry for entry.

Why this is not covered by the signature: the manifest pins ``npm/index.json`` by sha256, so nobody
can change the index *after* signing; but a bundle signed with the real key can still carry an index
that says something else than the manifest (a packing bug, a hand-edited bundle re-signed by an
insider). push publishes what the index names and values.yaml pins the index's integrity, so every
disagreement is refused: for every package the manifest entry, the index entry and the tarball itself
(sha512 integrity, sha1 shasum, size, file) must agree, and the index must list exactly the
manifest's packages.

Each tarball is opened once and hashed while it is read; push goes further and *copies* each
tarball while hashing it (:func:`snapshot_npm`), then publishes that private copy: the bytes it
publishes are the bytes it checked, whatever happens to the USB disk afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirrorkit.bundle import layout
from mirrorkit.bundle.limits import MAX_ENTRIES, MAX_INDEX_BYTES, clip, loads_bounded, read_capped
from mirrorkit.bundle.manifest import Manifest, NpmPackage
from mirrorkit.digests import CHUNK
from mirrorkit.errors import BundleError
from mirrorkit.fsutil import atomic_writer
from mirrorkit.npm.index import IndexEntry, NpmIndex
from mirrorkit.npm.integrity import Digests, new_hasher
from mirrorkit.report.model import CheckItem, Status

_P, _F = Status.PASSED, Status.FAILED
_FIELDS = ("name", "version", "integrity", "shasum", "size", "path", "source")


@dataclass(frozen=True)
class _Triple:
    """What the three sources say about one package."""

    package: NpmPackage | None
    entry: IndexEntry | None
    size: int | None  # the manifest's FileEntry size of the tarball


def parse_index(data: bytes, where: str = layout.NPM_INDEX) -> tuple[IndexEntry, ...]:
    """Entries of an npm index from its bytes (bounded, strict: unknown shapes are refused)."""
    doc: Any = loads_bounded(data, where, limit=MAX_INDEX_BYTES)
    packages = doc.get("packages") if isinstance(doc, dict) else None
    if not isinstance(packages, list):
        raise BundleError(
            f"{where} is not an npm index", "it has no 'packages' list", "copy the bundle again from the connected host"
        )
    if len(packages) > MAX_ENTRIES:
        raise BundleError(
            f"{where} lists {len(packages)} packages, more than the {MAX_ENTRIES} mirrorkit accepts",
            hint="copy the bundle again from the connected host",
        )
    entries = []
    for n, item in enumerate(packages):
        ok = (
            isinstance(item, dict)
            and all(isinstance(item.get(k), str) for k in _FIELDS if k != "size")
            and isinstance(item.get("size"), int)
            and not isinstance(item.get("size"), bool)
        )
        if not ok:
            raise BundleError(
                f"{where}: packages[{n}] is not a valid index entry",
                f"it needs the string fields {', '.join(k for k in _FIELDS if k != 'size')} and an integer size",
                "copy the bundle again from the connected host",
            )
        entries.append(IndexEntry(**{k: item[k] for k in _FIELDS}))
    return tuple(entries)


def _key(name: str, version: str) -> str:
    return f"{name}@{version}"


def _triples(manifest: Manifest, entries: Iterable[IndexEntry]) -> tuple[dict[str, _Triple], list[CheckItem]]:
    items: list[CheckItem] = []
    sizes = {f.path: f.size for f in manifest.files}
    by_key: dict[str, IndexEntry] = {}
    for entry in entries:
        key = _key(entry.name, entry.version)
        if key in by_key:
            items.append(
                CheckItem(
                    "npm-index",
                    key,
                    "listed once in npm/index.json",
                    "listed twice",
                    _F,
                    "the index is inconsistent; re-pack the bundle",
                )
            )
        by_key[key] = entry
    triples = {}
    for pkg in manifest.npm:
        key = _key(pkg.name, pkg.version)
        triples[key] = _Triple(pkg, by_key.pop(key, None), sizes.get(pkg.file))
    for key, entry in sorted(by_key.items()):
        triples[key] = _Triple(None, entry, None)
    return triples, items


def _compare(key: str, t: _Triple, got: Digests | None, error: str = "") -> CheckItem:
    """One item per package: every way the three sources can disagree, in one line."""
    subject = f"{key} ({t.package.file if t.package else layout.NPM_DIR + '/' + t.entry.path if t.entry else '?'})"
    want = "manifest entry, index entry and tarball agree (integrity, shasum, size, file)"
    if t.package is None:
        return CheckItem(
            "npm-index",
            subject,
            "only the manifest's packages in npm/index.json",
            "extra entry in the index",
            _F,
            "npm/index.json lists a package the signed manifest does not: it would be published unchecked",
        )
    if t.entry is None:
        return CheckItem(
            "npm-index",
            subject,
            "an npm/index.json entry for every manifest package",
            "missing from the index",
            _F,
            "npm/index.json does not list this package of the manifest",
        )
    pkg, entry = t.package, t.entry
    problems = []
    if entry.integrity != pkg.integrity:
        problems.append(f"index integrity {entry.integrity} != manifest {pkg.integrity}")
    if f"{layout.NPM_DIR}/{entry.path}" != pkg.file:
        problems.append(f"index file {layout.NPM_DIR}/{entry.path} != manifest {pkg.file}")
    if t.size is not None and entry.size != t.size:
        problems.append(f"index size {entry.size} != manifest size {t.size}")
    if error:
        problems.append(f"tarball unreadable: {error}")
    elif got is not None:
        if got.integrity != pkg.integrity:
            problems.append(f"tarball integrity {got.integrity} != manifest {pkg.integrity}")
        if got.shasum != entry.shasum:
            problems.append(f"tarball shasum {got.shasum} != index {entry.shasum}")
        if got.size != entry.size:
            problems.append(f"tarball size {got.size} != index {entry.size}")
    if problems:
        return CheckItem("npm-index", subject, want, "disagree", _F, clip("; ".join(problems), 600))
    return CheckItem("npm-index", subject, want, f"{pkg.integrity}, size {entry.size}", _P)


def _hash_copy(source: Path, sink: Any | None = None) -> Digests:
    """Hash *source* in one pass (writing each block to *sink* too); links are refused."""
    hasher = new_hasher()
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        while block := handle.read(CHUNK):
            hasher.update(block)
            if sink is not None:
                sink.write(block)
    return Digests.from_hasher(hasher)


def npm_consistency_items(root: Path, manifest: Manifest, present: set[str]) -> list[CheckItem]:
    """Check items for ``verify``: the npm index against the manifest and the tarballs (none when
    the bundle carries no npm packages and no index)."""
    listed = {f.path for f in manifest.files}
    if not manifest.npm and layout.NPM_INDEX not in listed:
        return []
    if layout.NPM_INDEX not in present:
        return [
            CheckItem(
                "npm-index",
                layout.NPM_INDEX,
                "present",
                "missing",
                _F,
                "the bundle carries npm packages but no index; copy the bundle again from the connected host",
            )
        ]
    try:
        entries = parse_index(read_capped(root / layout.NPM_INDEX, MAX_INDEX_BYTES, layout.NPM_INDEX))
    except (BundleError, OSError) as exc:
        return [CheckItem("npm-index", layout.NPM_INDEX, "a valid npm index", "refused", _F, clip(str(exc)))]
    triples, items = _triples(manifest, entries)
    for key, t in triples.items():
        got, error = None, ""
        if t.package is not None and t.package.file in present:
            try:
                got = _hash_copy(root / t.package.file)
            except OSError as exc:
                error = exc.strerror or str(exc)
        elif t.package is not None:
            error = "missing"
        items.append(_compare(key, t, got, error))
    return items


def snapshot_npm(root: Path, manifest: Manifest, dest: Path) -> NpmIndex:
    """Copy every npm tarball of the verified bundle into *dest* while hashing it, check the copy
    against the manifest and the index (the same rules as :func:`npm_consistency_items`) and return
    the index of the copy: what push publishes and pins in values.yaml. Raises :class:`BundleError`
    naming the first disagreement (the bundle changed since it verified, or it never agreed)."""
    data = read_capped(root / layout.NPM_INDEX, MAX_INDEX_BYTES, layout.NPM_INDEX)
    triples, problems = _triples(manifest, parse_index(data))
    failed = [i for i in problems if i.failed]
    entries = []
    for key, t in triples.items():
        got = None
        if t.package is not None and t.entry is not None:
            before = _compare(key, t, None)  # names and sizes agree before a byte is written ...
            if before.failed:
                raise _changed(before)
            # ... so the copy's name comes from the manifest's checked path, never the index's text
            with atomic_writer(dest / t.package.file.removeprefix(layout.NPM_DIR + "/")) as sink:
                got = _hash_copy(root / t.package.file, sink)
                item = _compare(key, t, got)
                if item.failed:
                    raise _changed(item)
            entries.append(t.entry)
            continue
        failed.append(_compare(key, t, got))
    if failed:
        raise _changed(failed[0])
    return NpmIndex(dest, tuple(entries)).with_entries(())


def snapshot_file(root: Path, manifest: Manifest, name: str, dest: Path) -> Path:
    """Copy the payload file *name* to *dest* while hashing it and return *dest* only if the copy has
    the manifest's size and sha256: a program handed *dest* reads the verified bytes."""
    import hashlib

    entry = manifest.file(name)
    if entry is None:
        raise BundleError(f"{name} is not in the manifest", hint="copy the bundle again from the connected host")
    digest, size = hashlib.sha256(), 0
    with atomic_writer(dest) as sink:
        fd = os.open(root / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
                size += len(block)
                sink.write(block)
        if (size, digest.hexdigest()) != (entry.size, entry.sha256):
            raise BundleError(
                f"{name} changed after the bundle was verified",
                f"it is now size {size}, sha256 {digest.hexdigest()}",
                "make sure nothing writes to the bundle, copy it again from the connected host and push again",
            )
    return dest


def _changed(item: CheckItem) -> BundleError:
    return BundleError(
        f"npm package {item.subject} does not agree with the verified manifest",
        item.detail or item.actual,
        "the bundle changed while push was running, or it is inconsistent; copy it again from the connected host",
    )


__all__ = ["npm_consistency_items", "parse_index", "snapshot_file", "snapshot_npm"]
