"""The report model: what was checked, what was expected, what was found, and what crossed the gap.

A report is plain data (frozen dataclasses) so it can be built by any check, compared in tests and
rendered by :mod:`mirrorkit.report.json`, :mod:`~mirrorkit.report.markdown` and
:mod:`~mirrorkit.report.html` without those renderers knowing where the items came from. Every
derived view (root causes, carried sections, counts) is computed here, once, so the three renderings
cannot disagree about it.

Status semantics: ``failed`` makes a command exit 1; ``warning`` is shown prominently but does not fail
(for example "bundle is unauthenticated: no --verify-key given" is a warning, never a pass of the
signature check); ``passed`` is a check that ran and matched; ``not checked`` is a check that could
not run because of another failure (its *cause*), so one dead registry reads as one failure.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from mirrorkit.report.carried import Carried, CarriedSection, sections
from mirrorkit.report.provenance import Provenance


class Status(str, enum.Enum):
    FAILED = "failed"
    WARNING = "warning"
    NOT_CHECKED = "not_checked"
    PASSED = "passed"

    @property
    def rank(self) -> int:
        """Sort key: failures first, then warnings, then what could not be checked, then passes."""
        return {"failed": 0, "warning": 1, "not_checked": 2, "passed": 3}[self.value]

    @property
    def label(self) -> str:
        """How a person reads the status (``not checked``, not ``not_checked``)."""
        return self.value.replace("_", " ")


@dataclass(frozen=True)
class CheckItem:
    """One check: *category* (signature, file, part, image, npm, ...), the *subject* it is about
    (a file path, an image reference, a package), and the expected and actual values as text.

    *group* says what the subject belongs to where that helps a reader more than its name: for an
    image, what brought it into the bundle (``operator serverless-operator 1.36.1``, ``helm
    redhat-developer-hub 1.8.0``, ``catalog``, ``additional``), so an incomplete operator shows as one
    line of the per-group summary instead of hiding among hundreds of digests.

    *cause* names the root failure this item follows from (``category subject`` of that item): a
    changed tarball also breaks its npm index entry and its SBOM hashes, and a reader must see one
    problem with its consequences, not three."""

    category: str
    subject: str
    expected: str
    actual: str
    status: Status
    detail: str = ""
    group: str = ""
    cause: str = ""

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED

    @property
    def key(self) -> str:
        """What a consequence's :attr:`cause` names."""
        return f"{self.category} {self.subject}"


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
    """Counts a change board reads first. *failed* counts root causes only; *consequences* are the
    further failed checks explained by one of them (shown under it)."""

    passed: int
    failed: int
    warnings: int
    not_checked: int = 0
    consequences: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.warnings + self.not_checked + self.consequences

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.consequences == 0

    @property
    def all_failed(self) -> int:
        """Every failed check, root causes and consequences (a group table's one "failed" column)."""
        return self.failed + self.consequences

    @property
    def text(self) -> str:
        """The one line of counts every rendering shows, word for word."""
        more = f" (and {self.consequences} consequent failures)" if self.consequences else ""
        return (
            f"{self.failed} failed{more}, {self.passed} passed, {self.not_checked} not checked, "
            f"{self.warnings} warnings ({self.total} checks)"
        )


@dataclass(frozen=True)
class RootCause:
    """One failure that is not explained by another, with what followed from it: the further failed
    checks and the checks that could not run."""

    item: CheckItem
    consequences: tuple[CheckItem, ...] = ()
    not_checked: tuple[CheckItem, ...] = ()

    def named_not_checked(self, limit: int) -> tuple[tuple[str, ...], int]:
        """The subjects of the first *limit* checks that could not run because of it, and how many
        more there are (each rendering names the same ones, escaped its own way)."""
        return tuple(c.subject for c in self.not_checked[:limit]), max(0, len(self.not_checked) - limit)


def summarize(items: tuple[CheckItem, ...]) -> Summary:
    def count(status: Status, caused: bool | None = None) -> int:
        return sum(1 for i in items if i.status is status and (caused is None or bool(i.cause) == caused))

    return Summary(
        passed=count(Status.PASSED),
        failed=count(Status.FAILED, caused=False),
        warnings=count(Status.WARNING),
        not_checked=count(Status.NOT_CHECKED),
        consequences=count(Status.FAILED, caused=True),
    )


@dataclass(frozen=True)
class Report:
    """A titled list of check items about one bundle, with the signer's fingerprint when a key was
    used (None means the bundle was not authenticated), who checked it where (*provenance*), what
    the bundle carried, and the files written beside the report (*attachments*, relative names)."""

    title: str
    identity: BundleIdentity = field(default_factory=BundleIdentity)
    signer_fingerprint: str | None = None
    items: tuple[CheckItem, ...] = ()
    provenance: Provenance = field(default_factory=Provenance)
    carried: Carried = field(default_factory=Carried)
    attachments: tuple[str, ...] = ()

    @property
    def summary(self) -> Summary:
        return summarize(self.items)

    @property
    def ok(self) -> bool:
        """True only when no item failed (the CLI's exit code 0)."""
        return not any(i.failed for i in self.items)

    def ordered_items(self) -> tuple[CheckItem, ...]:
        """Failures first, then warnings, not checked, passes; stable within each group."""
        return tuple(sorted(self.items, key=lambda i: i.status.rank))

    def group_summaries(self) -> tuple[tuple[str, Summary], ...]:
        """Counts per :attr:`CheckItem.group` (items without a group left out), groups with a
        failure first, then by name."""
        groups: dict[str, list[CheckItem]] = {}
        for item in self.items:
            if item.group:
                groups.setdefault(item.group, []).append(item)
        summaries = [(name, summarize(tuple(items))) for name, items in groups.items()]
        return tuple(sorted(summaries, key=lambda g: (g[1].ok and not g[1].not_checked, g[0])))

    def root_causes(self) -> tuple[RootCause, ...]:
        """Failures not explained by another, each with its consequences; a consequence whose
        cause is not in the report becomes a root cause of its own (nothing is hidden)."""
        roots = [i for i in self.items if i.failed and not i.cause]
        keys = {r.key for r in roots}
        roots += [i for i in self.items if i.failed and i.cause and i.cause not in keys]
        return tuple(
            RootCause(
                root,
                tuple(i for i in self.items if i.failed and i.cause == root.key and i is not root),
                tuple(i for i in self.items if i.status is Status.NOT_CHECKED and i.cause == root.key),
            )
            for root in roots
        )

    def carried_sections(self) -> tuple[CarriedSection, ...]:
        """What crossed the gap, grouped for a reader, each row with its check result."""
        return sections(self.carried, {i.key: i.status.label for i in self.items})

    def targets(self) -> tuple[str, ...]:
        """The targets checked: the provenance's, else the ``target`` items' subjects."""
        return self.provenance.targets or tuple(dict.fromkeys(i.subject for i in self.items if i.category == "target"))

    def header(self) -> tuple[tuple[str, str], ...]:
        """The provenance header, label and value, in the order every rendering shows it."""
        p, ident = self.provenance, self.identity
        return (
            ("Checked at", p.checked_at or "not recorded"),
            ("Host", p.host or "not recorded"),
            ("User", p.user or "not recorded"),
            ("mirrorkit version", p.mirrorkit_version or "not recorded"),
            ("oc-mirror version (packed the bundle)", p.oc_mirror_text),
            ("Bundle", ident.path),
            ("Profile", ident.profile),
            ("Created", ident.created),
            ("Manifest sha256", ident.manifest_sha256),
            ("Signer fingerprint", self.signer_fingerprint or "none: UNAUTHENTICATED (no verify key given)"),
            ("Targets checked", ", ".join(self.targets()) or "none (the bundle only)"),
            ("Carried", self.carried_text()),
        )

    def carried_text(self) -> str:
        """One line: how many images, plugins, files and bytes crossed."""
        from mirrorkit.report.carried import size_text

        c = self.carried
        if c.empty:
            return "not known (the manifest was not read)"
        return f"{len(c.images)} images, {len(c.plugins)} plugins, {len(c.files)} files, {size_text(c.total_bytes)}"

    def failures(self) -> tuple[CheckItem, ...]:
        return tuple(i for i in self.items if i.failed)

    def with_items(self, *more: CheckItem) -> Report:
        return dataclasses.replace(self, items=self.items + tuple(more))
