"""Connected side: download plugin tarballs, prove them against the registry's integrity, record them.

A tarball is streamed into a temporary file beside its final name while sha512 and sha1 are computed;
only when both match the registry's `dist.integrity` / `dist.shasum` is it renamed into place and
added to the index. The index is rewritten atomically, so an interrupted run
keeps what it finished (the index is flushed about once a second and at the end) and the next run skips it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from mirrorkit.cancel import Cancel
from mirrorkit.digests import CHUNK
from mirrorkit.errors import Interrupted, MirrorkitError, NpmError
from mirrorkit.fsutil import atomic_writer
from mirrorkit.http import DEFAULT_POLICY, RetryPolicy, retrying
from mirrorkit.npm.client import NpmClient, strip_credentials, tarball_chunks
from mirrorkit.npm.index import INDEX_NAME, IndexEntry, NpmIndex, read_index, relative_path, write_index
from mirrorkit.npm.integrity import Digests, hash_file, mismatches, new_hasher
from mirrorkit.npm.npmrc import NpmSettings
from mirrorkit.npm.semver import checked_version, clean_version, resolve_version
from mirrorkit.npm.spec import PackageSpec, PinnedPackage

DOWNLOADED = "downloaded"
PRESENT = "present"
FAILED = "failed"
INDEX_FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class PullResult:
    """What happened to one requested spec."""

    spec: str
    status: str  # downloaded | present | failed
    entry: IndexEntry | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"spec": self.spec, "status": self.status}
        if self.entry:
            out.update(
                name=self.entry.name,
                version=self.entry.version,
                integrity=self.entry.integrity,
                size=self.entry.size,
                path=self.entry.path,
            )
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class PullReport:
    """Results in the order the specs were given, plus the index as written."""

    results: tuple[PullResult, ...]
    index: NpmIndex
    index_path: Path | None = None

    @property
    def failed(self) -> tuple[PullResult, ...]:
        return tuple(r for r in self.results if r.status == FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "index": str(self.index_path) if self.index_path else None,
            "packages": [r.to_dict() for r in self.results],
        }


@dataclass
class _Run:
    """Mutable state of one pull, shared by the worker threads (guarded by `lock`)."""

    client: NpmClient
    index: NpmIndex
    policy: RetryPolicy
    lock: threading.Lock = field(default_factory=threading.Lock)
    cancel: Cancel = field(default_factory=Cancel)

    last_write: float = field(default_factory=time.monotonic)

    def record(self, entry: IndexEntry) -> None:
        """Add *entry*; persist the index at most about once a second (and always at the end of the run),
        so an interrupted run keeps most of its work without an fsync per package."""
        with self.lock:
            self.index = self.index.with_entries([entry])
            if time.monotonic() - self.last_write >= INDEX_FLUSH_SECONDS:
                write_index(self.index)
                self.last_write = time.monotonic()

    def present(self, pkg: PinnedPackage) -> IndexEntry | None:
        """The index entry for *pkg* if its file is there and its bytes still match."""
        with self.lock:
            entry = self.index.get(pkg.name.full, pkg.version)
        if entry is None:
            return None
        path = self.index.file(entry)
        if not path.is_file() or path.stat().st_size != entry.size:
            return None
        digests = hash_file(path)
        return entry if (digests.integrity, digests.shasum) == (entry.integrity, entry.shasum) else None


def parse_specs(specs: Iterable[str | PackageSpec]) -> list[PackageSpec]:
    """Parse every spec before any network call (a typo fails fast, exit 2); duplicates dropped."""
    parsed: list[PackageSpec] = []
    for spec in specs:
        item = spec if isinstance(spec, PackageSpec) else PackageSpec.parse(spec)
        if item not in parsed:
            parsed.append(item)
    return parsed


def pull_packages(
    specs: Sequence[str | PackageSpec],
    out_dir: Path,
    *,
    settings: NpmSettings | None = None,
    jobs: int = 8,
    progress: bool | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> PullReport:
    """Download and verify *specs* into the mirror directory *out_dir* (see :mod:`mirrorkit.npm.index`).

    Never raises for a single package's failure: each is reported in the returned
    :class:`PullReport` (check `.ok`). Raises :class:`~mirrorkit.errors.InputError` for a spec that
    does not parse. *progress* None shows a bar only when stderr is a terminal.
    """
    wanted = parse_specs(specs)
    settings = settings or NpmSettings.load()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    existing = read_index(out_dir) if (out_dir / INDEX_NAME).is_file() else NpmIndex(out_dir)
    cancel = Cancel()
    run = _Run(NpmClient(settings, policy=policy, cancel=cancel), existing, policy, cancel=cancel)
    show = sys.stderr.isatty() if progress is None else progress
    results: dict[PackageSpec, PullResult] = {}
    interrupted = False
    try:
        with tqdm(total=len(wanted), unit="pkg", desc="npm pull", file=sys.stderr, disable=not show, leave=False) as bar:
            with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="npm-pull") as pool:
                futures = {pool.submit(_pull_one, run, spec): spec for spec in wanted}
                try:
                    for future in as_completed(futures):
                        results[futures[future]] = future.result()
                        bar.update(1)
                except KeyboardInterrupt:
                    # Drop queued downloads and break the running ones (their temporary files are
                    # removed); the pool's exit then waits only for workers that are already leaving.
                    cancel.cancel()
                    for future in futures:
                        future.cancel()
                    interrupted = True
    finally:  # also after Ctrl-C: keep what finished
        index_path = write_index(run.index)
    if interrupted:
        raise Interrupted(
            f"npm pull interrupted: {len(results)} of {len(wanted)} package(s) done, no partial file kept",
            hint=f"Run the same command again to resume: finished packages are in {index_path} and are skipped",
        )
    return PullReport(tuple(results[s] for s in wanted), run.index, index_path)


def _exact(wanted: str) -> str | None:
    """The version key npm would look an exact spec up under (`=v1.2.3+b` -> `1.2.3`), so a
    tarball already mirrored is found without asking the registry; None for ranges and tags."""
    return clean_version(wanted)


def _pull_one(run: _Run, spec: PackageSpec) -> PullResult:
    try:
        exact = _exact(spec.wanted)
        if exact is not None and (entry := run.present(PinnedPackage(spec.name, exact))):
            return PullResult(str(spec), PRESENT, entry)
        doc = run.client.packument(spec.name)
        assert doc is not None
        versions = doc.get("versions") or {}
        version = resolve_version(spec.name.full, spec.wanted, versions.keys(), doc.get("dist-tags") or {})
        version = checked_version(spec.name.full, version)  # before it becomes a file name
        pkg = PinnedPackage(spec.name, version)
        if (entry := run.present(pkg)) is not None:
            return PullResult(str(spec), PRESENT, entry)
        dist = (versions.get(version) or {}).get("dist") or {}
        url = dist.get("tarball")
        if not isinstance(url, str) or not url:
            raise NpmError(f"{pkg}: the registry lists no tarball URL", hint="check the package on the registry")
        entry = _download(run, pkg, url, dist)
        run.record(entry)
        return PullResult(str(spec), DOWNLOADED, entry)
    except MirrorkitError as exc:
        return PullResult(str(spec), FAILED, reason=run.client.redact(str(exc)))
    except OSError as exc:
        return PullResult(str(spec), FAILED, reason=run.client.redact(f"cannot write {exc.filename or 'file'}: {exc.strerror}"))


def _download(run: _Run, pkg: PinnedPackage, url: str, dist: dict[str, object]) -> IndexEntry:
    rel = relative_path(pkg)
    dest = run.index.root / rel
    what = f"download {pkg}"

    def attempt() -> Digests:
        with atomic_writer(dest) as sink:  # the temporary file is removed on any exception
            hasher = new_hasher()
            with run.client.open_stream(url, what, run.client.settings.registry_for(pkg.name)) as resp:
                hasher.consume(run.cancel.iterate(tarball_chunks(resp, url, CHUNK)), sink)
            digests = Digests.from_hasher(hasher)
            if digests.size == 0:
                raise NpmError(f"{pkg}: the registry served an empty tarball", hint="check the package on the registry")
            try:
                problems = mismatches(digests, dist)
            except ValueError as exc:
                raise NpmError(
                    f"{pkg}: cannot verify the download", str(exc), "mirrorkit only mirrors packages it can verify"
                ) from exc
            if problems:
                raise NpmError(
                    f"{pkg}: downloaded bytes do not match the registry",
                    "; ".join(problems),
                    "the tarball was altered in transit or the registry is inconsistent; nothing was kept",
                )
        return digests

    digests = retrying(attempt, what=what, error=NpmError, policy=run.policy, sleep=run.cancel.sleep)
    return IndexEntry(pkg.name.full, pkg.version, digests.integrity, digests.shasum, digests.size, rel, strip_credentials(url))
