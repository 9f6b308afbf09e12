"""The verify case's input: a signed multi-file bundle on disk, and a warm page cache for it."""

from __future__ import annotations

import os
from pathlib import Path

from mirrorkit.bundle import generate_keypair, seal_bundle

BLOCK = 8 * 1024 * 1024


def make_bundle(directory: Path, total: int, files: int) -> tuple[Path, Path, list[Path]]:
    """A signed bundle with *files* payload files totalling about *total* bytes; returns (bundle, pub, files).

    The payload is one random 8 MiB block, varied at its start so that no two blocks are alike.
    """
    bundle = directory / "bundle"
    (bundle / "images").mkdir(parents=True, exist_ok=True)
    base = bytearray(os.urandom(BLOCK))
    per_file = total // files
    paths = []
    for n in range(files):
        path = bundle / "images" / f"mirror_{n + 1:06d}.tar"
        with open(path, "wb") as handle:
            written = 0
            i = 0
            while written < per_file:
                base[0:16] = n.to_bytes(8, "big") + i.to_bytes(8, "big")
                chunk = base[: min(BLOCK, per_file - written)]
                handle.write(chunk)
                written += len(chunk)
                i += 1
        paths.append(path)
    private, public, _ = generate_keypair(directory / "bench-key", force=True)
    seal_bundle(bundle, profile="bench", sign_key=private, cache_file=False, progress=False)
    return bundle, public, paths


def warm(paths: list[Path]) -> None:
    """Read every file once so all contenders run on a warm page cache."""
    for path in paths:
        with open(path, "rb") as handle:
            while handle.read(BLOCK):
                pass
