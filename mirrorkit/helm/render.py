"""Render a chart as oc-mirror renders it, with the real ``helm template``.

oc-mirror renders in-process with Helm's engine: default values, empty release options, Helm's default
capabilities, CRDs (``crds/``) first, then the manifests Helm's install order returns, so hook
resources (``helm test`` pods among them) and NOTES.txt are left out. ``helm template --include-crds
--no-hooks`` produces the same documents, from a patched copy where ``helm template`` is stricter than
the engine (:mod:`.chartfiles`). What remains different is written down, not emulated: ``helm
template`` names the release ``release-name`` in namespace ``default`` (oc-mirror: both empty; Helm
refuses an empty release name), which changes only an image reference built from those values.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from mirrorkit.helm.chartfiles import ChartError, oc_mirror_patches, read_chart, write_patched
from mirrorkit.helm.tool import Helm

RENDER_TIMEOUT_S = 300.0
#: oc-mirror splits helm's output into documents on this separator, then reads each one.
DOCUMENT_SEPARATOR = "\n---\n"


def helm_env(home: Path) -> dict[str, str]:
    """helm's environment with its cache, configuration and data in *home*: a user's repositories and
    plugins never change what mirrorkit renders, and nothing is written to their Helm folders."""
    env = dict(os.environ)
    for var, sub in (("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"), ("HELM_DATA_HOME", "data")):
        env[var] = str(home / sub)
    env.pop("HELM_NAMESPACE", None)
    env.pop("HELM_KUBECONTEXT", None)
    return env


def run_helm(helm: Helm, args: list[str], home: Path, what: str) -> str:
    """Run helm with *args*; its stdout, or :class:`ChartError` with helm's own last error line."""
    try:
        proc = subprocess.run(
            [str(helm.path), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=helm_env(home),
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ChartError(f"{what}: helm did not finish in {RENDER_TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise ChartError(f"{what}: cannot run {helm.path}", str(exc)) from exc
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()] or [f"exit code {proc.returncode}"]
        raise ChartError(what, lines[-1].removeprefix("Error: "))
    return proc.stdout


def render(helm: Helm, chart: Path, home: Path) -> list[str]:
    """The chart's rendered documents (text), as oc-mirror searches them."""
    files = read_chart(chart)
    patches = oc_mirror_patches(files)
    target = chart
    if patches:
        folder = Path(tempfile.mkdtemp(prefix="patched-", dir=home))
        target = write_patched(files, patches, folder)
    out = run_helm(helm, ["template", str(target), "--include-crds", "--no-hooks"], home, f"cannot render chart {chart.name}")
    return [doc for doc in ("\n" + out).split(DOCUMENT_SEPARATOR) if doc.strip()]
