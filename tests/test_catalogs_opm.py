"""Every File-Based Catalog the tests build, checked by the real `opm validate` (operator-registry).

Until now these catalogs were read only by mirrorkit and by the oc-mirror test double, both written
here: a catalog both accept may still be one OLM refuses, and then the tests prove nothing about
real catalogs. Each catalog is written to a directory (the FBC content before it is packed into an
image: no registry is needed, the bundle digests are worked out offline) and handed to opm.

The catalogs the reader's tests build to be refused are kept invalid: for them opm must refuse too,
so mirrorkit and opm agree on what a broken catalog is; the text opm gives is recorded with the case.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services.catalog import (
    MALFORMED_JSON,
    MALFORMED_YAML,
    bad_objects_json,
    build_catalog,
    catalog_fbc,
    parse_fbc,
    read_catalog,
    rhdh_like_packages,
    small_package_json,
    unreachable_related_packages,
)
from tests.services.fbcbig import big_fbc_files
from tests.services.registry import LocalRegistry

#: The registry the catalogs' images are addressed on (never contacted: opm validate pulls nothing).
HOST = "127.0.0.1:5000"

Files = dict[str, bytes]


@dataclass(frozen=True)
class Case:
    """One catalog: how to produce its FBC files (paths under the configs directory) and, for a
    catalog built to be refused, the part of opm's error that says why (None: opm must accept it)."""

    build: Callable[[], Files]
    refused_because: str | None = None


def _reader_overlay() -> Files:
    """test_zstd_and_gzip_layers_and_an_opaque_directory: the catalog its three layers leave."""
    return {
        "a/catalog.json": small_package_json("a", ("1.0.0", "1.1.0", "1.2.0")),
        "c/index.json": small_package_json("c"),
    }


def _reader_long_names() -> Files:
    """test_long_names_and_a_truncated_layer_through_the_registry (before the truncation)."""
    long_pkg = "p" * 63
    return {f"{long_pkg}/{'q' * 60}/catalog.json": small_package_json(long_pkg), "b/catalog.json": small_package_json("b")}


CASES: dict[str, Case] = {
    # tests/services/catalog.py: the catalog image as it presents itself (stale package whited out)
    "rhdh-like": Case(lambda: catalog_fbc(HOST, rhdh_like_packages())),
    # ... and its configs layer as written, before the last layer deletes the stale package
    "rhdh-like-configs-layer": Case(lambda: catalog_fbc(HOST, rhdh_like_packages(), whiteout=False)),
    "unreachable-related": Case(lambda: catalog_fbc(HOST, unreachable_related_packages())),
    # tests/services/fbcbig.py, scaled down: the same generator, Pareto counts, bundle objects
    "big-scaled-down": Case(lambda: dict(big_fbc_files(HOST, bundles=400, fbc_mb=2, packages=12))),
    # tests/test_catalog_reader.py
    "reader-overlay": Case(_reader_overlay),
    "reader-good": Case(lambda: {"good/catalog.json": small_package_json("good")}),
    "reader-large-objects": Case(lambda: {"big/catalog.json": small_package_json("big", ("1.0.0", "2.0.0"), pad=3_000_000)}),
    "reader-long-names": Case(_reader_long_names),
    "reader-malformed-json": Case(
        lambda: {"good/catalog.json": small_package_json("good"), "broken/catalog.json": MALFORMED_JSON},
        refused_because="json: offset 44: invalid character ',' looking for beginning of object key string",
    ),
    "reader-malformed-yaml": Case(
        lambda: {"good/catalog.json": small_package_json("good"), "broken2/catalog.yaml": MALFORMED_YAML},
        refused_because="error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'",
    ),
    "reader-bad-objects": Case(
        lambda: {"p/catalog.json": bad_objects_json()},
        refused_because="parse bundle: json: cannot unmarshal number into Go struct field Bundle.relatedImages",
    ),
}


def write_catalog(files: Files, root: Path) -> Path:
    """Write *files* under *root*; refuses an empty catalog, which opm validate would pass."""
    assert files, "the builder produced no FBC files"
    for path, data in files.items():
        assert path.endswith((".json", ".yaml", ".yml")), path
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def opm_validate(opm: Path, directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(opm), "validate", str(directory)], capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("name", list(CASES))
def test_opm_validates_the_catalog(name: str, opm_bin: Path, tmp_path: Path) -> None:
    case = CASES[name]
    result = opm_validate(opm_bin, write_catalog(case.build(), tmp_path / "configs"))
    said = (result.stderr + result.stdout).strip()
    if case.refused_because is None:
        if result.returncode != 0:
            pytest.fail(f"opm validate refuses the {name} catalog:\n{said}", pytrace=False)
    else:
        assert result.returncode != 0, f"opm validate accepts the {name} catalog, built to be refused"
        assert case.refused_because in said, said


def test_opm_refuses_what_it_should(opm_bin: Path, tmp_path: Path) -> None:
    """The check is worth something only if opm reads the catalog: a bundle no channel lists."""
    text = small_package_json("q").replace(b'"name": "q.v1.0.0"', b'"name": "q.v1.0.1"', 1)
    result = opm_validate(opm_bin, write_catalog({"q/catalog.json": text}, tmp_path))
    assert result.returncode != 0 and "q.v1.0.0" in result.stderr, result.stderr
    assert "not found in any channel entries" in result.stderr, result.stderr


@pytest.mark.integration
def test_the_offline_fbc_is_the_pushed_one(registry: LocalRegistry, skopeo: str) -> None:
    """What opm validated above is what build_catalog pushes: the same objects, the same digests."""
    built = build_catalog(registry.host, "opm/redhat-operator-index", "v4.19", rhdh_like_packages())
    offline: dict[str, list[dict]] = {}
    for path, data in catalog_fbc(registry.host, rhdh_like_packages()).items():
        for obj in parse_fbc(path, data):
            offline.setdefault(obj["name"] if obj["schema"] == "olm.package" else obj["package"], []).append(obj)
    assert read_catalog(built.ref) == offline
