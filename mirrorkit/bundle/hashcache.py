"""Resume-friendly hash cache: a second ``pack`` with nothing changed hashes (almost) nothing.

A file's sha256 is reused only when its size, mtime_ns, ctime_ns, inode and device all match what
was recorded when it was hashed; any write, rename-over or chmod changes one of them and forces a
re-hash. The cache lives outside the bundle (``$XDG_CACHE_HOME/mirrorkit/hashcache/``, one JSON file
per absolute bundle path) because the bundle must contain only what the manifest lists.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from mirrorkit.bundle.hashing import FileHash
from mirrorkit.fsutil import atomic_write_text

_VERSION = 1


def default_cache_file(bundle_dir: Path) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(Path(bundle_dir).resolve()).encode("utf-8")).hexdigest()[:24]
    return base / "mirrorkit" / "hashcache" / f"{key}.json"


class HashCache:
    """Recorded hashes for one bundle directory, keyed by bundle-relative path."""

    def __init__(self, path: Path, entries: dict[str, FileHash] | None = None) -> None:
        self.path = Path(path)
        self.entries: dict[str, FileHash] = dict(entries or {})

    @classmethod
    def load(cls, path: Path) -> HashCache:
        """Read a cache file; a missing or unreadable one is simply an empty cache."""
        try:
            doc = json.loads(Path(path).read_text("utf-8"))
            if doc.get("version") != _VERSION:
                return cls(path)
            entries = {name: FileHash(name, **fields) for name, fields in doc["files"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls(path)
        return cls(path, entries)

    def lookup(self, name: str, st: os.stat_result) -> FileHash | None:
        """The recorded hash of *name* if the file on disk is provably the one that was hashed."""
        old = self.entries.get(name)
        if old is None:
            return None
        if (old.size, old.mtime_ns, old.ctime_ns, old.ino, old.dev) != (
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            st.st_ino,
            st.st_dev,
        ):
            return None
        return old

    def update(self, hashes: dict[str, FileHash]) -> None:
        self.entries = dict(hashes)

    def save(self) -> None:
        doc = {
            "version": _VERSION,
            "files": {
                name: {
                    "size": h.size,
                    "sha256": h.sha256,
                    "mtime_ns": h.mtime_ns,
                    "ctime_ns": h.ctime_ns,
                    "ino": h.ino,
                    "dev": h.dev,
                }
                for name, h in sorted(self.entries.items())
            },
        }
        atomic_write_text(self.path, json.dumps(doc, sort_keys=True, indent=1) + "\n", mode=0o600)
