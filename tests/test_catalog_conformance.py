"""oc-mirror's operator filtering, case by case, from the real tools' own tests (as data).

The cases (tests/data/catalog_conformance/cases_*.yaml) come from catalog-filter v0.0.5, the library
oc-mirror v2 filters catalogs with, and from oc-mirror v2's internal/pkg/operator tests; each names
its file and test. Every case runs through mirrorkit's `select` (what `mirrorkit plan` calls per
operator entry) on the case's catalog, read by the same decoder that reads catalog images. Every
catalog passes the real `opm validate` unless the case is about a broken catalog (then opm must
refuse it too).

Every case also runs through the oc-mirror TEST DOUBLE's filtering (tests/ocmirror_double/fbc.py,
loaded by path as the double loads it), which must give the real tools' answer with no deliberate
difference: each case calls the function its source test calls (the filter library's FilterCatalog
for catalog-filter cases, oc-mirror's filterCatalog for TestFilterCatalog, the collector's related
images for TestRelatedImagesFromCatalog).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
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


def _assert_bundles(case: Case, want: dict, names: set[str] | None, error: str | None) -> None:
    """No error, and the bundles (or their count) the case expects, whoever selected them."""
    assert error is None, f"{case.source}: unexpected error {error}"
    assert names is not None
    if "bundles" in want:
        assert names == set(want["bundles"]), case.source
    if "bundle_count" in want:
        assert len(names) == want["bundle_count"], case.source


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mirrorkit_gives_the_real_tools_answer(case: Case) -> None:
    names, error, selection = run_case(case)
    want = expected(case)
    if "error" in want:
        assert error is not None and want["error"] in error, (
            f"{case.source}: expected error {want['error']!r}, got {error or names}"
        )
        return
    _assert_bundles(case, want, names, error)
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


# -- the oc-mirror test double ----------------------------------------------------------------------


def _load_double_fbc() -> ModuleType:
    path = Path(__file__).parent / "ocmirror_double" / "fbc.py"
    spec = importlib.util.spec_from_file_location("ocmirror_double_fbc_conformance", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


double = _load_double_fbc()

# Where the recorded text is not the real tool's exact text (the case files keep mirrorkit's
# transcription), the real text, from the source test:
DOUBLE_ERRORS: dict[str, list[str]] = {
    # channel_test.go asserts the two messages separately (errors.Join puts them on two lines)
    "cf-channel-duplicate-entries": ['duplicate channel entry "foo.v1.0.0"', 'duplicate channel entry "foo.v1.1.0"'],
    # catalog_handler_test.go: Go's %q quotes the channel name with double quotes
    "ocm-package-and-channel-range": [
        'failed to validate catalog filter: package "3scale-operator" at index [0] is invalid: package specifies a '
        'VersionRange, while channel "threescale-2.11" at index [0] equally specifies one: '
        "package.VersionRange and channel.VersionRange are exclusive"
    ],
}


def _isc_entry(operator: dict[str, Any]) -> dict[str, Any]:
    """The operator entry as the double decodes an ISC: keys lower-cased, recursively."""
    out: dict[str, Any] = {}
    for key, value in operator.items():
        if isinstance(value, list):
            value = [_isc_entry(v) if isinstance(v, dict) else v for v in value]
        out[key.lower()] = value
    return out


def run_double(case: Case) -> tuple[set[str] | None, str | None, list[dict[str, Any]]]:
    """(selected bundle names, error message, filtered FBC objects) as the double answers the case."""
    spec = case.spec
    files = {f"configs/{rel}": data for rel, data in catalog_files(spec["catalog"]).items()}
    try:
        objects = double.load_fbc(files, "configs")
        if "version_range" in spec and "operator" not in spec:
            return _double_range_only(objects, spec["version_range"]), None, []
        entry = {"catalog": REF, **_isc_entry(spec.get("operator") or {})}
        if "TestRelatedImagesFromCatalog" in case.source:
            selected = double.select_catalog(objects, entry)
            double.bundle_images(selected)
        elif "catalog_handler_test.go" in case.source:
            selected = double.oc_mirror_filter(objects, entry)
        else:
            selected = double.filter_catalog(objects, entry)
    except double.FBCError as exc:
        return None, str(exc), []
    return {o["name"] for o in selected if o.get("schema") == "olm.bundle"}, None, selected


def _double_range_only(objects: list[dict[str, Any]], version_range: str) -> set[str]:
    """The library's channel-level range selection (channel_test.go calls it with a version map in
    which an unversioned bundle is absent)."""
    channel = next(o for o in objects if o.get("schema") == "olm.channel")
    versions = {}
    for bundle in (o for o in objects if o.get("schema") == "olm.bundle"):
        text = double.bundle_version(bundle)
        versions[bundle["name"]] = double.Version.strict(text) if text else None
    return set(double.Graph.of(channel).keep_in_range(versions, double.Range.parse(version_range)))


def _deprecation_refs(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    refs = set()
    for obj in objects:
        if obj.get("schema") == "olm.deprecations":
            for entry in obj.get("entries") or ():
                ref = entry.get("reference") or {}
                kind = str(ref.get("schema", "")).removeprefix("olm.")
                refs.add((kind, str(ref.get("name") or obj.get("package"))))
    return refs


def _ref_of(text: str) -> tuple[str, str]:
    """("package", "pkg1") from "package pkg1 is" (the case's wording of a deprecation)."""
    kind, name = text.split()[:2]
    return kind, name


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_double_gives_the_real_tools_answer(case: Case) -> None:
    names, error, selected = run_double(case)
    want = case.spec["expect"]
    if "error" in want:
        parts = DOUBLE_ERRORS.get(case.id, [want["error"]])
        assert error is not None and all(p in error for p in parts), (
            f"{case.source}: expected error {parts}, got {error or names}"
        )
        return
    _assert_bundles(case, want, names, error)
    for channel, head in (want.get("channel_heads") or {}).items():
        entries = [o for o in selected if o.get("schema") == "olm.channel" and o.get("name") == channel]
        assert [[e["name"] for e in c["entries"]] for c in entries] == [[head]], case.source
    refs = _deprecation_refs(selected)
    for what in want.get("deprecated") or ():
        assert _ref_of(what) in refs, f"{case.source}: no deprecation entry for {what}: {refs}"
    for what in want.get("not_deprecated") or ():
        assert _ref_of(what) not in refs, f"{case.source}: deprecation entry kept for {what}: {refs}"
