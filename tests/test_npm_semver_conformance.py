"""npm's own answers, as data: mirrorkit resolves plugin specs exactly as `npm install` does.

tests/data/npm_semver/ holds inputs from node-semver's test fixtures, the cases issue 23 names and a
pool of versions, with the answers the real `semver` (loose mode) and `npm-pick-manifest` gave for
them (scripts/gen_npm_semver_fixtures.js made it; node is not needed here). Every case mirrorkit's
API can express is checked; the few it cannot are listed in NOT_EXPRESSIBLE and counted, not skipped
silently.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mirrorkit.errors import InvalidReference, NpmError
from mirrorkit.npm.semver import Range, clean_version, max_satisfying, parse_version, resolve_version, satisfies

DATA = Path(__file__).parent / "data" / "npm_semver"

# What npm answers that mirrorkit's resolver has no input for (it sees version keys and dist-tags only).
NOT_EXPRESSIBLE = {
    "deprecated versions, engines, --before, staged and policy-restricted versions": "resolve_version "
    "gets no version documents, so npm-pick-manifest's preferences among them are not modelled",
}


@cache
def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return doc


def _short(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} chars)"


def _mismatches(cases: list[tuple[Any, Any, Any]]) -> list[str]:
    """(input, npm's answer, mirrorkit's answer) -> the lines where they differ."""
    return [f"{_short(repr(i))}: npm {expected!r}, mirrorkit {got!r}" for i, expected, got in cases if expected != got]


def test_satisfies_matches_npm() -> None:
    """node-semver's range-include/exclude and gt/lt-range fixtures and the issue's cases."""
    cases = _load("satisfies.json")["cases"]
    assert len(cases) > 2000
    assert not _mismatches([((r, v), expected, satisfies(v, r)) for r, v, expected, _ in cases])


def test_range_parse_matches_npm() -> None:
    """`semver.validRange(r, {loose: true})`: the canonical form, or None for an invalid range."""
    parsed = _load("ranges.json")["parse"]
    got = [(text, expected, (rng.normalized if (rng := Range.try_parse(text)) else None)) for text, expected in parsed]
    assert not _mismatches(got)


def test_every_range_against_a_version_pool_matches_npm() -> None:
    """Every fixture range against the same pool: satisfies for each version, and maxSatisfying."""
    doc = _load("ranges.json")
    pool = doc["pool"]
    rows = []
    for text, answers, best in doc["poolCases"]:
        rows.append(((text, "satisfies"), answers, [satisfies(v, text) for v in pool]))
        rows.append(((text, "maxSatisfying"), best, max_satisfying(pool, text)))
    assert len(rows) * len(pool) // 2 > 10000
    assert not _mismatches(rows)


def test_version_validity_matches_npm() -> None:
    """`semver.valid` / `semver.clean` in loose mode (valid- and invalid-versions fixtures)."""
    rows = []
    for text, valid, clean in _load("versions.json")["valid"]:
        parsed = parse_version(text)
        rows.append(((text, "valid"), valid, None if parsed is None else str(parsed)))
        rows.append(((text, "clean"), clean, clean_version(text)))
    assert not _mismatches(rows)


def test_order_matches_npm() -> None:
    """comparisons and equality fixtures, and `semver.sort` of the pool (stable among equals)."""
    doc = _load("versions.json")
    rows = []
    for a, b, expected, _ in doc["compare"]:
        va, vb = parse_version(a), parse_version(b)
        assert va is not None and vb is not None
        rows.append(((a, b), expected, (va > vb) - (va < vb)))
    assert not _mismatches(rows)
    pool = [v for v in _load("ranges.json")["pool"] if parse_version(v) is not None]
    assert sorted(pool, key=lambda v: parse_version(v)) == doc["sorted"]  # type: ignore[arg-type, return-value]


def _picked(versions: list[str], tags: dict[str, str], wanted: str) -> dict[str, str]:
    """mirrorkit's answer in the generator's terms: the version, or npm's error code."""
    try:
        return {"version": resolve_version("p", wanted, versions, tags)}
    except NpmError:
        return {"error": "ETARGET"}
    except InvalidReference:
        return {"error": "EINVALIDTAGNAME"}


def test_resolution_matches_npm_pick_manifest() -> None:
    """What `npm install p@wanted` picks from a packument: latest first (`*` even if a prerelease),
    exact versions under their clean key, build-metadata twins in packument order, tags."""
    doc = _load("pick.json")
    packuments = {p["id"]: p for p in doc["packuments"]}
    rows = []
    for pid, wanted, expected in doc["cases"]:
        p = packuments[pid]
        rows.append(((pid, wanted), expected, _picked(p["versions"], p["tags"], wanted)))
    assert len(rows) >= 500
    assert not _mismatches(rows)


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (">1.2 <2", "1.4.0"),  # never 1.3.0-beta: `>1.2` is `>=1.3.0`
        ("^1.2-beta.1 || 2.x", "2.0.0"),  # loose mode drops the unreadable part
        ("*", "1.3.0-beta"),  # the latest tag, although a prerelease
        ("1.2 - 1.4", "1.4.0"),
    ],
)
def test_issue_23_cases(wanted: str, expected: str) -> None:
    versions = ["1.2.0", "1.3.0-beta", "1.4.0", "2.0.0"]
    assert resolve_version("p", wanted, versions, {"latest": "1.3.0-beta"} if wanted == "*" else {}) == expected


@pytest.mark.parametrize("wanted", ["^1.2-beta.1", f"^{'9' * 5000}", "npm:other@1"])
def test_what_npm_refuses_is_a_clean_refusal(wanted: str) -> None:
    with pytest.raises(InvalidReference, match="unsupported npm version range"):
        resolve_version("p", wanted, ["1.2.0"], {})


def test_thousands_of_digits_is_no_internal_error() -> None:
    huge = "9" * 5000
    assert parse_version(f"1.2.{huge}") is None and not satisfies("1.2.3", f"1.2.{huge}")
    with pytest.raises(NpmError, match="no dist-tag"):  # npm reads it as a tag name, as here
        resolve_version("p", f"1.2.{huge}", ["1.2.0"], {})
