"""The real Go tools the tests run (helm, opm, oc-mirror), as scripts/setup.sh builds them.

setup.sh builds the versions pinned in scripts/tools.env into ``.cache/bin/``. Tests look there first,
then on ``PATH`` (a developer may have their own), and ask the fixtures in conftest for them, so that a
missing tool fails under ``CI=true`` and skips elsewhere, naming the command that installs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".cache" / "bin"


def find_tool(name: str) -> Path | None:
    """The tool setup.sh built, else the one on PATH, else None."""
    built = BIN / name
    if built.is_file() and os.access(built, os.X_OK):
        return built
    found = shutil.which(name)
    return Path(found) if found else None


def refusal(name: str) -> str | None:
    """Why setup.sh could not build *name* (the proxy's answer), if it recorded a refusal."""
    path = BIN / f".{name}.refused"
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[1] if len(lines) > 1 else None


def pinned() -> dict[str, str]:
    """scripts/tools.env as a dict (the one place versions are pinned)."""
    out: dict[str, str] = {}
    for raw in (ROOT / "scripts" / "tools.env").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key] = value.strip().strip('"')
    return out
