"""The mirror's index: one JSON file listing every tarball with the integrity it was verified against.

Layout of a mirror directory (what `mirrorkit npm pull -o DIR` writes and `publish`/`values` read)::

    DIR/index.json
    DIR/@scope/name-1.2.3.tgz      (scoped packages)
    DIR/name-1.2.3.tgz             (unscoped packages)

The index is written atomically with entries sorted by (name, version), so the same mirror always
produces the same bytes (the bundle manifest and signatures depend on that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from mirrorkit.errors import ConfigError, InputError
from mirrorkit.fsutil import atomic_write_text
from mirrorkit.npm.spec import PackageName, PinnedPackage
from mirrorkit.semver import Version

INDEX_NAME = "index.json"
SCHEMA = 1


@dataclass(frozen=True)
class IndexEntry:
    """One mirrored tarball. `path` is relative to the mirror directory (POSIX separators)."""

    name: str
    version: str
    integrity: str
    shasum: str
    size: int
    path: str
    source: str

    @property
    def package(self) -> PinnedPackage:
        return PinnedPackage(PackageName.parse(self.name), self.version)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.version)


def relative_path(pkg: PinnedPackage) -> str:
    """Where a tarball lives inside the mirror directory."""
    return f"@{pkg.name.scope}/{pkg.filename}" if pkg.name.scope else pkg.filename


def _sort_key(entry: IndexEntry) -> tuple[str, object, str]:
    parsed = Version.try_parse(entry.version, loose=True)
    return (entry.name, parsed.sort_key() if parsed else (), entry.version)


@dataclass(frozen=True)
class NpmIndex:
    """All entries of a mirror, sorted; `root` is the directory the entry paths are relative to."""

    root: Path
    entries: tuple[IndexEntry, ...] = ()

    def get(self, name: str, version: str) -> IndexEntry | None:
        return next((e for e in self.entries if e.key == (name, version)), None)

    def with_entries(self, new: Iterable[IndexEntry]) -> NpmIndex:
        """A copy where *new* entries replace those with the same name and version."""
        merged = {e.key: e for e in self.entries}
        merged.update({e.key: e for e in new})
        return NpmIndex(self.root, tuple(sorted(merged.values(), key=_sort_key)))

    def file(self, entry: IndexEntry) -> Path:
        return self.root / entry.path

    def to_json(self) -> str:
        doc = {"schema": SCHEMA, "packages": [asdict(e) for e in self.entries]}
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def index_root(directory: Path) -> Path:
    """Accept the mirror directory itself or a bundle directory holding it under `npm/`."""
    directory = Path(directory)
    if not (directory / INDEX_NAME).is_file() and (directory / "npm" / INDEX_NAME).is_file():
        return directory / "npm"
    return directory


def read_index(directory: Path, *, missing_ok: bool = False) -> NpmIndex:
    """Load `DIR/index.json` (or `DIR/npm/index.json`)."""
    root = index_root(directory)
    path = root / INDEX_NAME
    if not path.is_file():
        if missing_ok:
            return NpmIndex(root)
        raise InputError(
            f"no npm mirror index at {path}", hint="run 'mirrorkit npm pull ... -o DIR' first, or pass the directory it wrote"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        entries = [IndexEntry(**{k: item[k] for k in IndexEntry.__dataclass_fields__}) for item in doc["packages"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"npm mirror index {path} is not valid", str(exc), "re-run 'mirrorkit npm pull' to rebuild it") from exc
    for entry in entries:
        if Path(entry.path).is_absolute() or ".." in Path(entry.path).parts:
            raise ConfigError(
                f"npm mirror index {path} has an unsafe path {entry.path!r}", hint="rebuild the mirror with 'mirrorkit npm pull'"
            )
    return NpmIndex(root, tuple(sorted(entries, key=_sort_key)))


def write_index(index: NpmIndex) -> Path:
    path = index.root / INDEX_NAME
    atomic_write_text(path, index.to_json())
    return path
