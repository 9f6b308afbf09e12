"""Read `package/package.json` out of a package tarball without unpacking it.

The tar stream is read sequentially (`r|gz`) and stops at the manifest; a size cap protects against
a hostile or broken tarball that claims a huge manifest.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from mirrorkit.errors import NpmError

MAX_MANIFEST = 4 * 1024 * 1024


def read_manifest(path: Path, *, limit: int = MAX_MANIFEST) -> dict[str, Any]:
    """The package.json of a tarball laid out as `npm pack` makes it (top folder `package/`).

    Like npm, any single top-level folder is accepted, but `package/package.json` is preferred.
    """
    fallback: dict[str, Any] | None = None
    try:
        with tarfile.open(path, mode="r|gz") as tar:
            for member in tar:
                parts = member.name.lstrip("./").split("/")
                if len(parts) != 2 or parts[1] != "package.json" or not member.isfile():
                    continue
                if member.size > limit:
                    raise NpmError(f"{path.name}: package.json is {member.size} bytes", f"larger than the {limit}-byte limit")
                handle = tar.extractfile(member)
                assert handle is not None
                doc = json.loads(handle.read(limit + 1))
                if not isinstance(doc, dict):
                    raise NpmError(f"{path.name}: package.json is not a JSON object")
                if parts[0] == "package":
                    return doc
                fallback = fallback or doc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise NpmError(
            f"{path.name}: not a readable npm tarball",
            str(exc),
            "copy it again from the connected host (where 'mirrorkit npm pull' can fetch it again)",
        ) from exc
    except ValueError as exc:
        raise NpmError(f"{path.name}: package.json is not valid JSON", str(exc)) from exc
    if fallback is not None:
        return fallback
    raise NpmError(f"{path.name}: no package/package.json inside", hint="is this an npm package tarball?")
