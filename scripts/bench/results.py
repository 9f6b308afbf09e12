"""What one benchmark case measured: mirrorkit and its reference tools, run by run."""

from __future__ import annotations

from dataclasses import dataclass, field

from scripts.bench.measure import Sample, max_peak_kib, median_seconds


@dataclass(frozen=True)
class Contender:
    """One way of doing the case's job, with every measured run."""

    name: str
    command: str
    samples: tuple[Sample, ...]

    @property
    def seconds(self) -> float:
        """Median wall time over the runs."""
        return median_seconds(self.samples)

    @property
    def peak_rss_mib(self) -> float:
        """Largest peak RSS over the runs (memory limits are about the worst run, not the typical one)."""
        return max_peak_kib(self.samples) / 1024

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "command": self.command,
            "median_seconds": round(self.seconds, 3),
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "runs": [
                {"seconds": round(s.seconds, 3), "peak_rss_mib": round(s.peak_rss_mib, 1), "processes": s.processes}
                for s in self.samples
            ],
        }


@dataclass(frozen=True)
class CaseResult:
    """A case: mirrorkit beside its references. Ratios are reference ÷ mirrorkit (above 1: mirrorkit is better)."""

    key: str
    title: str
    workload: str
    mirrorkit: Contender
    references: tuple[Contender, ...]
    load_before: float
    load_after: float
    notes: tuple[str, ...] = field(default=())

    def time_ratio(self, reference: Contender) -> float:
        return reference.seconds / self.mirrorkit.seconds

    def memory_ratio(self, reference: Contender) -> float:
        return reference.peak_rss_mib / self.mirrorkit.peak_rss_mib

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "workload": self.workload,
            "mirrorkit": self.mirrorkit.to_dict(),
            "references": [
                {**r.to_dict(), "time_ratio": round(self.time_ratio(r), 2), "memory_ratio": round(self.memory_ratio(r), 2)}
                for r in self.references
            ],
            "loadavg_1m": {"before": round(self.load_before, 2), "after": round(self.load_after, 2)},
            "notes": list(self.notes),
        }
