"""Find the oc-mirror binary and read its version.

mirrorkit drives oc-mirror but never bundles it, so the first thing every workflow does is locate it
(an explicit path, then ``$MIRRORKIT_OC_MIRROR``, then ``$PATH``) and say how to install it when it
is not there, instead of failing later with a bare ``FileNotFoundError``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.errors import ToolNotFound

ENV_VAR = "MIRRORKIT_OC_MIRROR"
VERSION_TIMEOUT_S = 60.0

INSTALL_HINT = (
    "install oc-mirror v2 on this host: download oc-mirror.tar.gz (oc-mirror.rhel9.tar.gz on RHEL 9) "
    "from https://mirror.openshift.com/pub/openshift-v4/x86_64/clients/ocp/latest/ or the Red Hat "
    "console, extract it, chmod +x oc-mirror and put it on PATH; or pass --oc-mirror PATH "
    f"(or set {ENV_VAR})"
)

_GIT_VERSION_RE = re.compile(r'GitVersion:"([^"]*)"')
_YAML_VERSION_RE = re.compile(r"gitVersion:\s*\"?([^\"\s]+)")
_PLAIN_VERSION_RE = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?)")


@dataclass(frozen=True)
class OcMirror:
    """A located oc-mirror executable and the version it reported (``"unknown"`` if unparseable)."""

    path: Path
    version: str

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """Numeric (major, minor, patch) for comparisons; () when the version is unknown."""
        match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", self.version)
        if not match:
            return ()
        return tuple(int(part) for part in match.groups() if part is not None)

    @property
    def exits_nonzero_on_mirror_errors(self) -> bool:
        """oc-mirror before 4.19 exited 0 even when images failed; mirrorkit then trusts only its error files."""
        return bool(self.version_tuple) and self.version_tuple[:2] >= (4, 19)


def parse_version(output: str) -> str:
    """The version string in ``oc-mirror version`` output (Go ``version.Info`` dump, YAML, or plain)."""
    for pattern in (_GIT_VERSION_RE, _YAML_VERSION_RE):
        match = pattern.search(output)
        if match and match.group(1):
            return match.group(1)
    match = _PLAIN_VERSION_RE.search(output)
    return match.group(1) if match else "unknown"


def _resolve(path: str | os.PathLike[str] | None) -> Path:
    if path:
        given, source = str(path), "--oc-mirror"
    elif os.environ.get(ENV_VAR):
        given, source = os.environ[ENV_VAR], ENV_VAR
    else:
        found = shutil.which("oc-mirror")
        if not found:
            raise ToolNotFound("oc-mirror is not installed", "it is not on PATH", INSTALL_HINT)
        return Path(found)
    resolved = given if os.sep in given else shutil.which(given)
    if not resolved or not os.path.isfile(resolved):
        raise ToolNotFound(f"oc-mirror not found at {given!r} (from {source})", "no such file", INSTALL_HINT)
    if not os.access(resolved, os.X_OK):
        raise ToolNotFound(f"oc-mirror at {resolved} is not executable", "permission denied", f"run chmod +x {resolved}")
    return Path(resolved)


def find_oc_mirror(path: str | os.PathLike[str] | None = None) -> OcMirror:
    """Locate oc-mirror and read ``oc-mirror version``; :class:`ToolNotFound` (exit 2) when it cannot run."""
    binary = _resolve(path)
    try:
        proc = subprocess.run(
            [str(binary), "version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolNotFound(f"cannot run {binary} version", str(exc), INSTALL_HINT) from exc
    output = proc.stdout.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        last = output.strip().splitlines()[-1:] or ["no output"]
        raise ToolNotFound(f"{binary} version failed with exit code {proc.returncode}", last[0], INSTALL_HINT)
    return OcMirror(path=binary, version=parse_version(output))
