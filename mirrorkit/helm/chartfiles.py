"""A chart's files, and the copy ``helm template`` must render to give oc-mirror's answer.

oc-mirror renders charts in-process with Helm's engine, which is more lenient than ``helm template``
in three places that real charts reach: a library chart at the top (``helm template`` refuses it;
the engine renders no template of the library itself but still its CRDs and subcharts), a dependency
listed but absent from ``charts/`` (``helm template`` refuses; the engine renders without it), and
the chart's ``kubeVersion`` range (``helm template`` checks it; oc-mirror never does). When a chart
needs any of these, it is rendered from a patched copy in a private folder, never changed in place.

Archives come from chart repositories, so their member names are treated as hostile: only plain
relative paths of regular files are read, within a size budget.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from mirrorkit.errors import MirrorkitError


class ChartError(MirrorkitError):
    """A chart could not be pulled, read or rendered; its images cannot be predicted."""


#: A chart is configuration, not content: 64 MiB unpacked is far beyond any published chart.
MAX_CHART_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ChartFiles:
    """A chart's files by path relative to the chart folder (``Chart.yaml``, ``templates/x.yaml``)."""

    source: str
    files: dict[str, bytes]

    @property
    def meta(self) -> dict[str, Any]:
        return _yaml_map(self.files.get("Chart.yaml"), "Chart.yaml", self.source)


def read_chart(path: Path) -> ChartFiles:
    """The files of the chart archive or folder at *path*."""
    if path.is_dir():
        files: dict[str, bytes] = {}
        total = 0
        for item in sorted(path.rglob("*")):
            if item.is_file() and not item.is_symlink():
                data = item.read_bytes()
                total += len(data)
                _budget(total, str(path))
                files[item.relative_to(path).as_posix()] = data
        chart = ChartFiles(str(path), files)
    else:
        chart = ChartFiles(str(path), _archive_files(path.read_bytes(), str(path)))
    if "Chart.yaml" not in chart.files:
        raise ChartError(f"{path} is not a Helm chart", "it has no Chart.yaml")
    return chart


def _archive_files(data: bytes, source: str) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                parts = PurePosixPath(member.name).parts
                if len(parts) < 2 or member.name.startswith("/") or any(p in ("..", ".", "") for p in parts):
                    continue  # not under the chart's top folder, or not a plain path: helm ignores or refuses it too
                total += member.size
                _budget(total, source)
                handle = archive.extractfile(member)
                files["/".join(parts[1:])] = handle.read() if handle else b""
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ChartError(f"cannot read chart archive {source}", str(exc)) from exc
    return files


def _budget(total: int, source: str) -> None:
    if total > MAX_CHART_BYTES:
        raise ChartError(f"chart {source} unpacks to more than {MAX_CHART_BYTES // (1024 * 1024)} MiB", "refusing to render it")


def _yaml_map(data: bytes | None, name: str, source: str) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ChartError(f"chart {source}: {name} does not parse", str(exc).splitlines()[0]) from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ChartError(f"chart {source}: {name} is not a mapping")
    return doc


def subchart_names(chart: ChartFiles) -> set[str]:
    """The names of the subcharts present in ``charts/`` (folders or archives), as Helm matches them:
    one level only, the level whose dependencies oc_mirror_patches compares."""
    names: set[str] = set()
    for rel, data in chart.files.items():
        parts = rel.split("/")
        if parts[0] != "charts" or len(parts) < 2:
            continue
        if len(parts) == 3 and parts[2] == "Chart.yaml":
            names.add(str(_yaml_map(data, rel, chart.source).get("name") or parts[1]))
        elif len(parts) == 2 and parts[1].endswith((".tgz", ".tar.gz")):
            inner = ChartFiles(f"{chart.source}:{rel}", _archive_files(data, f"{chart.source}:{rel}"))
            names.add(str(inner.meta.get("name") or parts[1]))
    return names


def oc_mirror_patches(chart: ChartFiles) -> dict[str, bytes | None]:
    """Files to replace (None: remove) so that ``helm template`` renders what oc-mirror renders; empty
    when the chart renders the same either way (see the module docstring)."""
    patches: dict[str, bytes | None] = {}
    meta = chart.meta
    changed = False
    if meta.pop("kubeVersion", None):
        changed = True
    if meta.get("type") == "library":
        meta["type"] = "application"
        for rel in chart.files:
            if rel.startswith("templates/") and not rel.rsplit("/", 1)[-1].startswith("_"):
                patches[rel] = None
        changed = True
    dep_file = "Chart.yaml"
    if str(meta.get("apiVersion") or "v1") == "v1" and "requirements.yaml" in chart.files:
        dep_file = "requirements.yaml"
    owner = meta if dep_file == "Chart.yaml" else _yaml_map(chart.files[dep_file], dep_file, chart.source)
    deps = owner.get("dependencies") or []
    present = subchart_names(chart)
    kept = [d for d in deps if isinstance(d, dict) and str(d.get("name")) in present]
    if len(kept) != len(deps):
        owner["dependencies"] = kept
        if dep_file == "Chart.yaml":
            changed = True
        else:
            patches[dep_file] = yaml.safe_dump(owner, sort_keys=False).encode()
    if changed:
        patches["Chart.yaml"] = yaml.safe_dump(meta, sort_keys=False).encode()
    return patches


def write_patched(chart: ChartFiles, patches: dict[str, bytes | None], folder: Path) -> Path:
    """The chart with *patches* applied, written under *folder* (a fixed name: Chart.yaml names nothing here)."""
    root = folder / "chart"
    for rel, data in {**chart.files, **patches}.items():
        if data is None:
            continue
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root
