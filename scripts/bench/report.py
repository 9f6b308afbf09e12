"""The benchmark's outputs: a Markdown table for people, a JSON document for machines."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

from scripts.bench.results import CaseResult


def _cell(seconds: float, mib: float) -> str:
    return f"{seconds:.2f} s · {mib:.0f} MiB"


def markdown(cases: Sequence[CaseResult], *, runs: int, floor_mib: float, command: str) -> str:
    """One row per (case, reference tool); ratios above 1 mean mirrorkit is faster / uses less memory."""
    lines = [
        "| Case | Workload | mirrorkit (time · peak RSS) | Reference | Reference (time · peak RSS) | Time ratio | Memory ratio |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for case in cases:
        mk = case.mirrorkit
        for ref in case.references:
            lines.append(
                f"| {case.title} | {case.workload} | {mk.name}: {_cell(mk.seconds, mk.peak_rss_mib)} | {ref.name} | "
                f"{_cell(ref.seconds, ref.peak_rss_mib)} | {case.time_ratio(ref):.2f}× | {case.memory_ratio(ref):.2f}× |"  # noqa: RUF001 - the times sign
            )
    loads = ", ".join(f"{c.key} {c.load_before:.1f}→{c.load_after:.1f}" for c in cases)
    notes = [f"- {c.title}: {note}" for c in cases for note in c.notes]
    return "\n".join(
        [
            *lines,
            "",
            f"Median wall time of {runs} run(s); peak RSS is the largest over the runs (each process tree measured by a "
            f"launcher whose own {floor_mib:.0f} MiB is a floor under every figure). Ratios are reference ÷ mirrorkit: "
            "above 1 means mirrorkit is faster / uses less memory.",
            f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, Python {platform.python_version()}; "
            f"1-minute load average before→after each case: {loads}.",
            *notes,
            "",
            f"Reproduce: `{command}`",
        ]
    )


def json_document(
    cases: Sequence[CaseResult], *, runs: int, floor_mib: float, options: dict[str, object], total_seconds: float
) -> dict[str, object]:
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "system": platform.system(),
            "arch": platform.machine(),
            "python": platform.python_version(),
        },
        "runs": runs,
        "options": options,
        "launcher_floor_mib": round(floor_mib, 1),
        "total_seconds": round(total_seconds, 1),
        "ratios": "reference / mirrorkit: above 1 means mirrorkit is faster or uses less memory",
        "cases": [c.to_dict() for c in cases],
    }
