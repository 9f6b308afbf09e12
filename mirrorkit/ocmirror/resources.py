"""Read what oc-mirror leaves in ``working-dir/``: cluster resources, dry-run plans, error lists.

Cluster resources are what the user applies to the cluster next, so each file is checked to be
Kubernetes YAML (apiVersion, kind, metadata.name) before mirrorkit hands it on.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from mirrorkit.ocmirror.parser import parse_error_file_line
from mirrorkit.ocmirror.result import ClusterResource, FailedImage

RESOURCE_SUFFIXES = (".yaml", ".yml", ".json")


def _objects(document: object) -> Iterable[object]:
    if isinstance(document, dict) and document.get("kind") == "List" and isinstance(document.get("items"), list):
        yield from document["items"]
    elif document is not None:
        yield document


def read_cluster_resources(working_dir: Path) -> tuple[tuple[ClusterResource, ...], tuple[str, ...]]:
    """Every object under ``cluster-resources/`` and a list of problems (files that are not Kubernetes YAML)."""
    folder = working_dir / "cluster-resources"
    resources: list[ClusterResource] = []
    problems: list[str] = []
    if not folder.is_dir():
        return (), ()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in RESOURCE_SUFFIXES):
        try:
            with open(path, encoding="utf-8") as handle:
                documents = list(yaml.safe_load_all(handle))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name} is not valid YAML ({str(exc).splitlines()[0]})")
            continue
        found = 0
        for obj in (o for doc in documents for o in _objects(doc)):
            metadata = obj.get("metadata") if isinstance(obj, dict) else None
            name = metadata.get("name") if isinstance(metadata, dict) else None
            if not (isinstance(obj, dict) and obj.get("apiVersion") and obj.get("kind") and name):
                problems.append(f"{path.name} has an object without apiVersion, kind and metadata.name")
                continue
            namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
            resources.append(
                ClusterResource(
                    path=path,
                    api_version=str(obj["apiVersion"]),
                    kind=str(obj["kind"]),
                    name=str(name),
                    namespace=str(namespace) if namespace else None,
                )
            )
            found += 1
        if not found and not any(p.startswith(path.name) for p in problems):
            problems.append(f"{path.name} holds no Kubernetes object")
    return tuple(resources), tuple(problems)


def _strip_scheme(ref: str) -> str:
    return ref[len("docker://") :] if ref.startswith("docker://") else ref


def read_mapping(path: Path) -> tuple[tuple[str, str], ...]:
    """``mapping.txt``: one ``docker://SRC=docker://DST`` per line -> (SRC, DST) without the scheme."""
    if not path.is_file():
        return ()
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        source, sep, destination = line.partition("=")
        if not sep:
            continue
        pairs.append((_strip_scheme(source.strip()), _strip_scheme(destination.strip())))
    return tuple(pairs)


def read_missing(path: Path) -> tuple[str, ...]:
    """``missing.txt``: images absent from the cache (``SRC=DST`` lines or bare references) -> SRC list."""
    if not path.is_file():
        return ()
    missing = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            missing.append(_strip_scheme(line.partition("=")[0].strip()))
    return tuple(missing)


def read_error_files(working_dir: Path, newer_than: float) -> tuple[FailedImage, ...]:
    """Failures listed in ``logs/mirroring_errors_*.txt`` written by this run (mtime >= *newer_than*)."""
    logs = working_dir / "logs"
    if not logs.is_dir():
        return ()
    failures: list[FailedImage] = []
    for path in sorted(logs.glob("mirroring_errors_*.txt")):
        try:
            if path.stat().st_mtime < newer_than:
                continue
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        failures.extend(f for f in map(parse_error_file_line, lines) if f is not None)
    return tuple(failures)
