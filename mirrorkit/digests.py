"""Hashing that streams: files and downloads are hashed as they are read or written, never loaded whole.

Formats used across mirrorkit:
* OCI digests: `sha256:<hex>`;
* npm Subresource Integrity: `sha512-<base64>` (and the legacy SHA-1 `shasum` in hex).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


def iter_file(path: Path, chunk: int = CHUNK) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            yield block


def sha256_file(path: Path) -> tuple[str, int]:
    """Return (`sha256:<hex>`, size) of a file, reading it in chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            h.update(block)
            size += len(block)
    return f"sha256:{h.hexdigest()}", size


def sri_sha512(digest: bytes) -> str:
    """`sha512-<base64>` from a raw SHA-512 digest."""
    return "sha512-" + base64.b64encode(digest).decode("ascii")


class MultiHasher:
    """Feed bytes once, get several digests (e.g. sha512 for integrity and sha1 for shasum)."""

    def __init__(self, *algorithms: str) -> None:
        self._hashes = {name: hashlib.new(name) for name in algorithms}
        self.size = 0

    def update(self, block: bytes) -> None:
        for h in self._hashes.values():
            h.update(block)
        self.size += len(block)

    def hexdigest(self, name: str) -> str:
        return self._hashes[name].hexdigest()

    def digest(self, name: str) -> bytes:
        return self._hashes[name].digest()

    def consume(self, blocks: Iterable[bytes], sink: BinaryIO | None = None) -> None:
        """Hash every block and, when given, write it to *sink* on the way."""
        for block in blocks:
            self.update(block)
            if sink is not None:
                sink.write(block)
