"""Render a chart as oc-mirror renders it, with the real ``helm template``.

oc-mirror renders in-process with Helm's engine: default values, empty release options, Helm's default
capabilities, CRDs (``crds/``) first, then the manifests Helm's install order returns, so hook
resources (``helm test`` pods among them) and NOTES.txt are left out. ``helm template --include-crds
--no-hooks`` produces the same documents. Two differences remain and neither changes an image path in
practice: ``helm template`` names the release ``release-name`` in namespace ``default`` where oc-mirror
leaves both empty, and it refuses to install a library chart, which renders nothing for oc-mirror
either (so a library chart is answered with no documents here, without running helm).
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import yaml

from mirrorkit.errors import MirrorkitError
from mirrorkit.helm.tool import Helm

RENDER_TIMEOUT_S = 300.0
#: oc-mirror splits helm's output into documents on this separator, then reads each one.
DOCUMENT_SEPARATOR = "\n---\n"


class ChartError(MirrorkitError):
    """A chart could not be pulled or rendered; its images cannot be predicted."""


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


def chart_type(chart: Path) -> str:
    """The chart's ``type`` (``application`` unless Chart.yaml says ``library``), from an archive or a folder."""
    text: str | None = None
    if chart.is_dir():
        path = chart / "Chart.yaml"
        text = path.read_text(encoding="utf-8") if path.is_file() else None
    else:
        try:
            with tarfile.open(chart, "r:*") as archive:
                for member in archive:
                    parts = member.name.split("/")
                    if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                        handle = archive.extractfile(member)
                        text = handle.read().decode("utf-8") if handle else None
                        break
        except (OSError, tarfile.TarError) as exc:
            raise ChartError(f"cannot read chart archive {chart}", str(exc)) from exc
    if text is None:
        raise ChartError(f"{chart} is not a Helm chart", "it has no Chart.yaml")
    try:
        meta = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ChartError(f"{chart}: Chart.yaml does not parse", str(exc).splitlines()[0]) from exc
    return str(meta.get("type") or "application") if isinstance(meta, dict) else "application"


def render(helm: Helm, chart: Path, home: Path) -> list[str]:
    """The chart's rendered documents (text), as oc-mirror searches them."""
    if chart_type(chart) == "library":
        return []
    out = run_helm(helm, ["template", str(chart), "--include-crds", "--no-hooks"], home, f"cannot render chart {chart.name}")
    return [doc for doc in ("\n" + out).split(DOCUMENT_SEPARATOR) if doc.strip()]
