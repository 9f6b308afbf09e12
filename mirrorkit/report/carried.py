"""What crossed the air gap, as a change board reads it: operator packages with their bundle and
images, charts with their images, the catalog, the additional images, the plugins, the other files.

Plain data filled from the bundle manifest (:func:`mirrorkit.bundle.carried.from_manifest`; this
layer imports nothing of the bundle package). :func:`sections` groups it once for all three
renderings, each row with its digest or integrity, its size in human units beside the bytes, and the
result of the check that covered it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mirrorkit.sizes import human


@dataclass(frozen=True)
class CarriedImage:
    source: str
    digest: str
    kind: str
    package: str = ""
    version: str = ""
    bundle: str = ""


@dataclass(frozen=True)
class CarriedPlugin:
    name: str
    version: str
    integrity: str
    file: str
    size: int


@dataclass(frozen=True)
class CarriedFile:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Carried:
    images: tuple[CarriedImage, ...] = ()
    plugins: tuple[CarriedPlugin, ...] = ()
    files: tuple[CarriedFile, ...] = ()

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def empty(self) -> bool:
        return not (self.images or self.plugins or self.files)


@dataclass(frozen=True)
class CarriedRow:
    """One thing carried: its name, its digest/integrity/sha256, its size (text), its check result."""

    name: str
    reference: str
    size: str
    result: str


@dataclass(frozen=True)
class CarriedSection:
    title: str
    rows: tuple[CarriedRow, ...]


#: Shown when no check covered a row (an image is only looked up when a target was given).
NO_TARGET = "no target checked"


def size_text(size: int) -> str:
    """``1.5 MiB (1572864 bytes)``: human units for the eye, bytes for the comparison."""
    return f"{human(size)} ({size} bytes)" if size >= 1024 else f"{size} bytes"


def _result(results: Mapping[str, str], *keys: str) -> str:
    for key in keys:
        if key in results:
            return results[key]
    return NO_TARGET


def _file_row(f: CarriedFile, results: Mapping[str, str]) -> CarriedRow:
    return CarriedRow(f.path, f"sha256:{f.sha256}", size_text(f.size), _result(results, f"file {f.path}", f"part-file {f.path}"))


def _image_row(i: CarriedImage, results: Mapping[str, str]) -> CarriedRow:
    return CarriedRow(i.source, i.digest, "", _result(results, f"image {i.source}"))


def _oci_plugin_row(i: CarriedImage, results: Mapping[str, str]) -> CarriedRow:
    """An OCI plugin: its image and the package folder(s) it is carried for."""
    return CarriedRow(f"{i.source} ({i.package})", i.digest, "", _result(results, f"image {i.source}"))


def _plugin_row(p: CarriedPlugin, results: Mapping[str, str]) -> CarriedRow:
    npm = _result(results, f"npm {p.name}@{p.version}")
    result = npm if npm != NO_TARGET else _result(results, f"file {p.file}", f"part-file {p.file}") + " (tarball)"
    return CarriedRow(f"{p.name}@{p.version}", p.integrity, size_text(p.size), result)


def _operator_sections(carried: Carried, results: Mapping[str, str]) -> list[CarriedSection]:
    keyed: dict[tuple[str, str, str], list[CarriedImage]] = {}
    for image in carried.images:
        if image.package and image.kind in ("operator", "additional"):
            keyed.setdefault((image.package, image.version, image.bundle), []).append(image)
    return [
        CarriedSection(
            f"Operator package {package} {version}" + (f", bundle {bundle}" if bundle else ""),
            tuple(_image_row(i, results) for i in images),
        )
        for (package, version, bundle), images in sorted(keyed.items())
    ]


def _chart_sections(carried: Carried, results: Mapping[str, str]) -> list[CarriedSection]:
    charts: dict[tuple[str, str], list[CarriedRow]] = {}
    for image in carried.images:
        if image.kind == "helm":
            charts.setdefault((image.package, image.version), []).append(_image_row(image, results))
    for f in carried.files:
        if f.path.startswith("charts/") and f.path.endswith(".tgz"):
            stem = f.path[len("charts/") : -len(".tgz")]
            name, _, version = stem.rpartition("-")
            key = next((k for k in charts if f"{k[0]}-{k[1]}" == stem), (name, version))
            charts.setdefault(key, []).insert(0, _file_row(f, results))
    return [
        CarriedSection(f"Helm chart {name} {version}".rstrip(), tuple(rows)) for (name, version), rows in sorted(charts.items())
    ]


def sections(carried: Carried, results: Mapping[str, str]) -> tuple[CarriedSection, ...]:
    """The carried content grouped for reading; *results* maps a check item's key
    (``category subject``) to its status label."""
    out = _operator_sections(carried, results) + _chart_sections(carried, results)
    simple = (
        ("Operator catalog", [i for i in carried.images if i.kind == "catalog"]),
        ("Additional images", [i for i in carried.images if i.kind == "additional" and not i.package]),
        ("Images of other kinds", [i for i in carried.images if i.kind == "operator" and not i.package]),
    )
    out += [CarriedSection(title, tuple(_image_row(i, results) for i in images)) for title, images in simple if images]
    oci = [i for i in carried.images if i.kind == "plugin"]
    if oci:
        out.append(CarriedSection("Plugins (OCI artifacts)", tuple(_oci_plugin_row(i, results) for i in oci)))
    if carried.plugins:
        out.append(CarriedSection("Plugins (npm)", tuple(_plugin_row(p, results) for p in carried.plugins)))
    shown = {p.file for p in carried.plugins} | {f.path for f in carried.files if f.path.startswith("charts/")}
    others = [f for f in carried.files if f.path not in shown]
    if others:
        out.append(CarriedSection("Other bundle files", tuple(_file_row(f, results) for f in others)))
    return tuple(out)
