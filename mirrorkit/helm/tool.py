"""Find the ``helm`` binary mirrorkit renders charts with, and the version it reports.

Charts are rendered by the real Helm because only Helm renders Helm charts faithfully (Go templates,
sprig, subcharts, library charts); a missing ``helm`` means chart images cannot be predicted, which
the callers say in so many words rather than predicting none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.errors import ToolNotFound

ENV_VAR = "MIRRORKIT_HELM"
VERSION_TIMEOUT_S = 30.0
INSTALL_HINT = (
    "install Helm 3 (e.g. 'go install helm.sh/helm/v3/cmd/helm@v3.21.4' or your distribution's package) "
    f"and put it on PATH, or set {ENV_VAR} to its path"
)


@dataclass(frozen=True)
class Helm:
    """A located helm executable and the version it reported."""

    path: Path
    version: str


def _resolve() -> Path | None:
    given = os.environ.get(ENV_VAR)
    if given:
        resolved = given if os.sep in given else shutil.which(given)
        if not resolved or not os.path.isfile(resolved) or not os.access(resolved, os.X_OK):
            raise ToolNotFound(f"helm not found at {given!r} (from {ENV_VAR})", "no such executable file", INSTALL_HINT)
        return Path(resolved)
    found = shutil.which("helm")
    return Path(found) if found else None


def find_helm() -> Helm | None:
    """The helm to use, or None when none is installed (``$MIRRORKIT_HELM`` naming a missing file is an error)."""
    binary = _resolve()
    if binary is None:
        return None
    try:
        proc = subprocess.run(
            [str(binary), "version", "--short"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolNotFound(f"cannot run {binary} version", str(exc), INSTALL_HINT) from exc
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ToolNotFound(f"{binary} version failed with exit code {proc.returncode}", last[0], INSTALL_HINT)
    version = proc.stdout.strip().split("+", 1)[0] or "unknown"
    if not version.startswith("v3."):
        raise ToolNotFound(f"{binary} is Helm {version}", "mirrorkit renders charts with Helm 3, as oc-mirror does", INSTALL_HINT)
    return Helm(binary, version)
