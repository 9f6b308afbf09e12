"""Every chart image oc-mirror will mirror for a configuration's ``helm:`` section, found before mirroring.

Charts come from where oc-mirror takes them: each repository chart pulled by ``helm pull`` (an empty
version is the newest stable one, as Helm's downloader picks it; ``charts`` omitted means every version
of every non-library chart in the repository's index), each ``local`` chart read in place. Each is
rendered (:mod:`.render`) and searched (:mod:`.images`). A chart that cannot be pulled or rendered is
named with helm's reason and its images are reported as not predicted: the plan says what it does not
know rather than predicting nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from mirrorkit.helm.images import find_images, image_paths
from mirrorkit.helm.render import ChartError, render, run_helm
from mirrorkit.helm.tool import Helm, find_helm
from mirrorkit.http import new_session
from mirrorkit.imageset.model import Helm as HelmSection

INDEX_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ChartSource:
    """One chart of the configuration: where it is named, and the chart version it resolved to."""

    config: str  # "helm.repositories[0].charts[1]" or "helm.local[0]"
    name: str
    version: str | None = None
    repository: str | None = None
    path: str | None = None
    image_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartImage:
    ref: str
    chart: ChartSource


@dataclass(frozen=True)
class ChartImages:
    """What the charts bring: their images, and what could not be predicted and why."""

    images: tuple[ChartImage, ...] = ()
    predicted: bool = True  # False when helm is missing: no chart image is predicted
    helm_version: str | None = None
    unpredicted: tuple[str, ...] = ()  # one line per chart whose images are unknown


def count_charts(section: HelmSection | None) -> int:
    """The charts a configuration names (a repository without ``charts`` counts once)."""
    if section is None:
        return 0
    repos = sum(len(r.charts) if r.charts is not None else 1 for r in section.repositories or ())
    return repos + len(section.local or ())


def collect_chart_images(
    section: HelmSection | None,
    *,
    tls_verify: bool = True,
    say: Callable[[str], None] = lambda _m: None,
    inspect: Callable[[ChartSource, Path], None] | None = None,
) -> ChartImages:
    """The chart images of *section* (see the module docstring). *inspect* is shown each chart (its
    archive or folder) before it is rendered, for checks that read a chart's own files; an error it
    raises stops the collection."""
    total = count_charts(section)
    if section is None or total == 0:
        return ChartImages()
    helm = find_helm()
    if helm is None:
        return ChartImages(
            predicted=False,
            unpredicted=(
                f"helm is not installed: the images of {total} chart(s) are not predicted "
                "(oc-mirror finds them when it renders the charts); install Helm 3 to see them here",
            ),
        )
    images: list[ChartImage] = []
    unpredicted: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mirrorkit-helm-") as tmp:
        home = Path(tmp)
        for source, chart in _charts(section, helm, home, tls_verify, unpredicted, say):
            if inspect is not None:
                inspect(source, chart)
            try:
                paths = image_paths(source.image_paths)
                refs = find_images(render(helm, chart, home), paths, f"{source.name} {source.version or ''}".strip())
            except ChartError as exc:
                unpredicted.append(f"{source.config} ({source.name}): {exc}")
                continue
            images.extend(ChartImage(ref, source) for ref in refs)
    return ChartImages(tuple(images), True, helm.version, tuple(unpredicted))


def _charts(
    section: HelmSection, helm: Helm, home: Path, tls_verify: bool, unpredicted: list[str], say: Callable[[str], None]
) -> list[tuple[ChartSource, Path]]:
    found: list[tuple[ChartSource, Path]] = []
    for index, local in enumerate(section.local or ()):
        source = ChartSource(f"helm.local[{index}]", local.name or "", path=local.path, image_paths=local.image_paths or ())
        found.append((source, Path(local.path or "")))
    for r_index, repo in enumerate(section.repositories or ()):
        url = repo.url or ""
        added = url.rstrip("/") + "/index.yaml"
        try:  # oc-mirror first adds every repository with Helm, which fetches its index or gives up on it
            entries = _read_index(added, tls_verify, f"invalid chart repository {url!r}")
        except ChartError as exc:
            unpredicted.append(f"helm.repositories[{r_index}] ({repo.name}): {exc}")
            continue
        if repo.charts is None:
            try:
                wanted = [
                    ChartSource(f"helm.repositories[{r_index}]", name, version, url)
                    for name, version in _index_charts(url, tls_verify, (added, entries))
                ]
            except ChartError as exc:
                unpredicted.append(f"helm.repositories[{r_index}] ({repo.name}): {exc}")
                continue
        else:
            wanted = [
                ChartSource(
                    f"helm.repositories[{r_index}].charts[{c_index}]", c.name or "", c.version, url, None, c.image_paths or ()
                )
                for c_index, c in enumerate(repo.charts)
            ]
        for source in wanted:
            say(f"pulling chart {source.name} {source.version or '(newest)'} from {url}")
            try:
                found.append((source, _pull(helm, home, source, tls_verify)))
            except ChartError as exc:
                unpredicted.append(f"{source.config} ({source.name}): {exc}")
    return found


def _pull(helm: Helm, home: Path, source: ChartSource, tls_verify: bool) -> Path:
    (home / "charts").mkdir(exist_ok=True)
    dest = Path(tempfile.mkdtemp(dir=home / "charts"))  # one folder per pull: the archive helm wrote is the only one
    args = ["pull", source.name, "--repo", source.repository or "", "--destination", str(dest)]
    if source.version:
        args += ["--version", source.version]
    if not tls_verify:
        args.append("--insecure-skip-tls-verify")
    run_helm(helm, args, home, f"cannot pull chart {source.name} {source.version or ''}".rstrip())
    pulled = sorted(dest.glob("*.tgz"))
    if len(pulled) != 1:
        raise ChartError(f"helm pull of {source.name} left {len(pulled)} archives in {dest}")
    return pulled[0]


def _index_charts(url: str, tls_verify: bool, read: tuple[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(name, version) of every non-library chart version in the repository's index, as oc-mirror lists them.
    *read* is the index already fetched when the repository was added (its URL, its entries): it is
    fetched again only when oc-mirror's own index URL is another one."""
    # oc-mirror appends "index.yaml" literally unless the URL already ends with it: a URL without its
    # trailing "/" fails there, so it fails here too, with the reason
    index_url = url if url.endswith("/index.yaml") else url + "index.yaml"
    hint = None if url.endswith("/") else "oc-mirror appends index.yaml to the URL as written: end the URL with '/'"
    read_url, read_entries = read
    entries = read_entries if read_url == index_url else _read_index(index_url, tls_verify, f"cannot read {index_url}", hint)
    charts = []
    for name, versions in sorted(entries.items()):
        for version in versions or ():
            if isinstance(version, dict) and version.get("type") != "library" and version.get("version"):
                charts.append((str(name), str(version["version"])))
    return charts


def _read_index(index_url: str, tls_verify: bool, what: str, hint: str | None = None) -> dict[str, Any]:
    """The ``entries`` of the Helm repository index at *index_url*."""
    try:
        with new_session(tls_verify) as session:
            response = session.get(index_url, timeout=INDEX_TIMEOUT_S)
            response.raise_for_status()
            index = yaml.safe_load(response.text) or {}
    except (requests.RequestException, yaml.YAMLError) as exc:
        raise ChartError(what, str(exc).splitlines()[0], hint) from exc
    entries = index.get("entries") if isinstance(index, dict) else None
    if not isinstance(entries, dict):
        raise ChartError(what, f"{index_url} is not a Helm repository index (no entries)")
    return entries


__all__ = ["ChartError", "ChartImage", "ChartImages", "ChartSource", "collect_chart_images", "count_charts"]
