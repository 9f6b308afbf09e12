"""oc-mirror's operator filtering, case by case, from the real tools' own tests (as data).

The cases (tests/data/catalog_conformance/cases_*.yaml) come from catalog-filter v0.0.5, the library
oc-mirror v2 filters catalogs with, and from oc-mirror v2's internal/pkg/operator tests; each names
its file and test. Every case runs through mirrorkit's `select` (what `mirrorkit plan` calls per
operator entry) on the case's catalog, read by the same decoder that reads catalog images. Every
catalog passes the real `opm validate` unless the case is about a broken catalog (then opm must
refuse it too).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mirrorkit.catalog.reader import Catalog, catalog_from_files
from mirrorkit.catalog.select import Range, mm_version, range_entries, select
from mirrorkit.errors import MirrorkitError
from mirrorkit.imageset.model import Channel, Operator, Package

DATA = Path(__file__).parent / "data" / "catalog_conformance"
REF = "registry.example.com/conformance/index:v1"


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    spec: dict[str, Any]


def _cases() -> list[Case]:
    found = []
    for path in sorted(DATA.glob("cases_*.yaml")):
        for spec in yaml.safe_load(path.read_text()):
            found.append(Case(spec["id"], f"{path.name}: {spec['source']}", spec))
    return found


CASES = _cases()


# -- catalogs ---------------------------------------------------------------------------------------


def _image(package: str, name: str) -> str:
    return f"registry.example.com/{package}/bundle@sha256:{hashlib.sha256(name.encode()).hexdigest()}"


def _version_of(name: str, spec: dict[str, Any]) -> str | None:
    versions = spec.get("versions") or {}
    if name in versions:
        return versions[name]
    return name.split(".v", 1)[1] + spec.get("version_suffix", "") if ".v" in name else "0.0.1"


def inline_fbc(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """FBC objects for an inline catalog: the package, its channels, one bundle per entry (and per
    named version), deprecations when asked."""
    package, channels = spec["package"], spec["channels"]
    objects: list[dict[str, Any]] = [{"schema": "olm.package", "name": package, "defaultChannel": spec["default"]}]
    names: dict[str, None] = {}
    for channel, entries in channels.items():
        listed = []
        for entry in entries:
            item: dict[str, Any] = {"name": entry[0]}
            if len(entry) > 1 and entry[1]:
                item["replaces"] = entry[1]
            if len(entry) > 2 and entry[2]:
                item["skips"] = list(entry[2])
            listed.append(item)
            names[entry[0]] = None
        objects.append({"schema": "olm.channel", "name": channel, "package": package, "entries": listed})
    names.update(dict.fromkeys(spec.get("versions") or {}))
    for name in names if not spec.get("no_bundles") else ():
        version = _version_of(name, spec)
        value = {"packageName": package, **({"version": version} if version else {})}
        image = _image(package, name)
        objects.append(
            {
                "schema": "olm.bundle",
                "name": name,
                "package": package,
                "image": image,
                "properties": [{"type": "olm.package", "value": value}],
                "relatedImages": [{"name": "", "image": image}],
            }
        )
    deprecated = spec.get("deprecations")
    if deprecated:
        entries = (
            [{"reference": {"schema": "olm.package"}, "message": f"{package} is deprecated"}] if deprecated.get("package") else []
        )
        entries += [
            {"reference": {"schema": "olm.channel", "name": c}, "message": f"channel {c} is deprecated"}
            for c in deprecated.get("channels", ())
        ]
        entries += [
            {"reference": {"schema": "olm.bundle", "name": b}, "message": f"bundle {b} is deprecated"}
            for b in deprecated.get("bundles", ())
        ]
        objects.append({"schema": "olm.deprecations", "package": package, "entries": entries})
    return objects


def catalog_files(spec: Any) -> dict[str, bytes]:
    """{path under configs/: bytes} of the case's catalog."""
    if isinstance(spec, str):
        root = DATA / "catalogs" / spec
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}
    text = "".join(json.dumps(o) + "\n" for o in inline_fbc(spec))
    return {f"{spec['package']}/catalog.json": text.encode()}


def write_catalog(files: dict[str, bytes], root: Path) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


# -- selection --------------------------------------------------------------------------------------


def operator_of(spec: dict[str, Any]) -> Operator:
    packages = tuple(
        Package(
            name=p["name"],
            default_channel=p.get("defaultChannel"),
            min_version=_text(p.get("minVersion")),
            max_version=_text(p.get("maxVersion")),
            channels=tuple(
                Channel(name=c["name"], min_version=_text(c.get("minVersion")), max_version=_text(c.get("maxVersion")))
                for c in p.get("channels") or ()
            )
            or None,
        )
        for p in spec.get("packages") or ()
    )
    return Operator(catalog=REF, full=spec.get("full"), packages=packages or None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def run_case(case: Case) -> tuple[set[str] | None, str | None, Any]:
    """(selected bundle names, error message, selection) as mirrorkit answers the case."""
    spec = case.spec
    catalog = catalog_from_files(REF, catalog_files(spec["catalog"]))
    try:
        if "version_range" in spec and "operator" not in spec:
            return _range_only(catalog, spec), None, None
        selection = select(operator_of(spec.get("operator") or {}), catalog)
    except MirrorkitError as exc:
        return None, str(exc), None
    return {b.name for b in selection.bundles}, None, selection


def _range_only(catalog: Catalog, spec: dict[str, Any]) -> set[str]:
    """The library's channel-level range selection (ranges minVersion/maxVersion cannot write)."""
    pkg = next(iter(catalog.packages.values()))
    channel = pkg.channels[0]
    versions = {b.name: mm_version(b.version) for b in pkg.bundles}
    return range_entries(channel, versions, Range.parse(spec["version_range"]))


def expected(case: Case) -> dict[str, Any]:
    """What mirrorkit must answer: oc-mirror's answer, or the recorded deliberate difference."""
    return case.spec.get("mirrorkit") or case.spec["expect"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mirrorkit_gives_the_real_tools_answer(case: Case) -> None:
    names, error, selection = run_case(case)
    want = expected(case)
    if "error" in want:
        assert error is not None and want["error"] in error, (
            f"{case.source}: expected error {want['error']!r}, got {error or names}"
        )
        return
    assert error is None, f"{case.source}: unexpected error {error}"
    assert names is not None
    if "bundles" in want:
        assert names == set(want["bundles"]), case.source
    if "bundle_count" in want:
        assert len(names) == want["bundle_count"], case.source
    for channel, head in (want.get("channel_heads") or {}).items():
        chosen = {b.name for b in selection.bundles if channel in b.channels}
        assert chosen == {head}, case.source
    for what in want.get("deprecated") or ():
        assert any(what in w for w in selection.warnings), (
            f"{case.source}: no deprecation warning for {what}: {selection.warnings}"
        )


def test_the_suite_has_enough_cases_from_each_source() -> None:
    sources = [c.source for c in CASES]
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum("catalog_handler_test.go" in s for s in sources) >= 15
    assert sum("channel_test.go" in s or "mirror-filter_test.go" in s for s in sources) >= 40


def _catalog_specs() -> Iterator[tuple[str, Any, bool]]:
    seen: set[str] = set()
    for case in CASES:
        spec = case.spec["catalog"]
        key = spec if isinstance(spec, str) else case.id
        if key not in seen:
            seen.add(key)
            yield key, spec, bool(case.spec.get("valid", True))


CATALOGS = list(_catalog_specs())


@pytest.mark.parametrize(("key", "spec", "valid"), CATALOGS, ids=[k for k, _, _ in CATALOGS])
def test_every_catalog_is_what_opm_validate_says(key: str, spec: Any, valid: bool, opm_bin: Path, tmp_path: Path) -> None:
    root = write_catalog(catalog_files(spec), tmp_path / "configs")
    done = subprocess.run([str(opm_bin), "validate", str(root)], capture_output=True, text=True, timeout=120)
    if valid:
        assert done.returncode == 0, f"{key}: opm validate refused the catalog: {done.stderr[-2000:]}"
    else:
        assert done.returncode != 0, f"{key}: a case about a broken catalog, but opm validate accepts it"
