"""Smoke test of scripts/bench.py, the one entry point of the scripts/bench package: every case runs end to end
on tiny sizes and reports real measurements."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
CASES = {"npm_pull", "npm_publish", "verify", "bundle_inspect", "pack_incremental", "catalog_plan", "pack_delta", "sync"}
#: ocmirror_overhead reports pack and push for each of its two releases
OCMIRROR_KEYS = {f"ocmirror_overhead_{side}_{size}" for side in ("pack", "push") for size in ("small", "synthetic")}


def test_quick_run_reports_every_case_with_measurements(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench.py"),
            "--quick",
            "--runs",
            "1",
            "--json",
            # tiny releases for ocmirror_overhead (its --quick synthetic release is 50 images)
            "--ocm-small-images",
            "2",
            "--ocm-small-mb",
            "2",
            "--ocm-images",
            "3",
            "--ocm-mb",
            "3",
            "--workdir",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    cases = {case["key"]: case for case in doc["cases"]}
    assert set(cases) == CASES | OCMIRROR_KEYS
    expected_refs = {
        "npm_pull": 2,
        "npm_publish": 1,
        "verify": 3,
        "bundle_inspect": 1,
        "pack_incremental": 1,
        "catalog_plan": 1,
        "pack_delta": 1,
        "sync": 1,
    }
    expected_refs |= dict.fromkeys(OCMIRROR_KEYS, 1)
    for key, case in cases.items():
        assert len(case["references"]) == expected_refs[key], key
        for contender in [case["mirrorkit"], *case["references"]]:
            assert len(contender["runs"]) == 1
            assert contender["median_seconds"] > 0, (key, contender["name"])
            # every measured process starts as a fork of the launcher, so its peak is at least about the floor
            assert contender["peak_rss_mib"] >= 0.9 * doc["launcher_floor_mib"] > 0, (key, contender["name"])
        for ref in case["references"]:
            assert ref["time_ratio"] == pytest.approx(ref["median_seconds"] / case["mirrorkit"]["median_seconds"], rel=0.05)
    # sequential npm pack runs one process per package
    assert cases["npm_pull"]["references"][0]["runs"][0]["processes"] == doc["options"]["npm_count"]
    for key in OCMIRROR_KEYS:  # the overhead and where mirrorkit's time went, oc-mirror calls timed by kind
        notes = " ".join(cases[key]["notes"])
        assert "overhead" in notes and "where mirrorkit's time goes" in notes, key
        assert ("oc-mirror mirror-to-disk" if "_pack_" in key else "oc-mirror disk-to-mirror") in notes, key
    assert not (tmp_path / "w").exists(), "the working directory is removed unless --keep"


def test_markdown_table_has_a_row_per_reference(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "bench.py"),
            "--quick",
            "--runs",
            "1",
            "--cases",
            "verify",
            "--workdir",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| Bundle verify")]
    assert len(rows) == 3 and "sha256sum -c" in rows[0] and "openssl" in rows[1] and "push: copy" in rows[2]
    assert "Reproduce: `.cache/venv/bin/python scripts/bench.py --quick --runs 1 --cases verify" in proc.stdout


def test_unknown_case_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--cases", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "unknown case(s) nope" in proc.stderr
