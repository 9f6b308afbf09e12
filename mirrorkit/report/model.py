"""The report model: what was checked, what was expected, what was found.

A report is plain data (frozen dataclasses) so it can be built by any check, compared in tests and
rendered by :mod:`mirrorkit.report.json`, :mod:`~mirrorkit.report.markdown` and
:mod:`~mirrorkit.report.html` without those renderers knowing where the items came from.

Status semantics: ``failed`` makes a command exit 1; ``warning`` is shown prominently but does not fail
(for example "bundle is unauthenticated: no --verify-key given" is a warning, never a pass of the
signature check); ``passed`` is a check that ran and matched.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(str, enum.Enum):
    FAILED = "failed"
    WARNING = "warning"
    PASSED = "passed"

    @property
    def rank(self) -> int:
        """Sort key: failures first, then warnings, then passes."""
        return {"failed": 0, "warning": 1, "passed": 2}[self.value]


@dataclass(frozen=True)
class CheckItem:
    """One check: *category* (signature, file, part, image, npm, ...), the *subject* it is about
    (a file path, an image reference, a package), and the expected and actual values as text.

    *group* says what the subject belongs to where that helps a reader more than its name: for an
    image, what brought it into the bundle (``operator serverless-operator 1.36.1``, ``helm
    redhat-developer-hub 1.8.0``, ``catalog``, ``additional``), so an incomplete operator shows as one
    line of the per-group summary instead of hiding among hundreds of digests."""

    category: str
    subject: str
    expected: str
    actual: str
    status: Status
    detail: str = ""
    group: str = ""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED


@dataclass(frozen=True)
class BundleIdentity:
    """What identifies the bundle a report is about: the manifest's own sha256 (the bytes the
    signature covers), the profile it was packed from and when."""

    manifest_sha256: str = ""
    profile: str = ""
    created: str = ""
    path: str = ""


@dataclass(frozen=True)
class Summary:
    passed: int
    failed: int
    warnings: int

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.warnings

    @property
    def ok(self) -> bool:
        return self.failed == 0


@dataclass(frozen=True)
class Report:
    """A titled list of check items about one bundle, with the signer's fingerprint when a key was
    used (None means the bundle was not authenticated)."""

    title: str
    identity: BundleIdentity = field(default_factory=BundleIdentity)
    signer_fingerprint: str | None = None
    items: tuple[CheckItem, ...] = ()

    @property
    def summary(self) -> Summary:
        return Summary(
            passed=sum(1 for i in self.items if i.status is Status.PASSED),
            failed=sum(1 for i in self.items if i.status is Status.FAILED),
            warnings=sum(1 for i in self.items if i.status is Status.WARNING),
        )

    @property
    def ok(self) -> bool:
        """True only when no item failed (the CLI's exit code 0)."""
        return self.summary.ok

    def ordered_items(self) -> tuple[CheckItem, ...]:
        """Failures first, then warnings, then passes; stable within each group."""
        return tuple(sorted(self.items, key=lambda i: i.status.rank))

    def group_summaries(self) -> tuple[tuple[str, Summary], ...]:
        """Counts per :attr:`CheckItem.group` (items without a group left out), groups with a
        failure first, then by name."""
        groups: dict[str, list[CheckItem]] = {}
        for item in self.items:
            if item.group:
                groups.setdefault(item.group, []).append(item)
        summaries = [(name, Report("", items=tuple(items)).summary) for name, items in groups.items()]
        return tuple(sorted(summaries, key=lambda g: (g[1].ok, g[0])))

    def failures(self) -> tuple[CheckItem, ...]:
        return tuple(i for i in self.items if i.failed)

    def with_items(self, *more: CheckItem) -> Report:
        return Report(self.title, self.identity, self.signer_fingerprint, self.items + tuple(more))
