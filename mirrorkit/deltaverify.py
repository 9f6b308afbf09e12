"""verify of a delta against its base bundles, offline (issue 27): the whole release, not only the delta.

A delta carries what changed and lists what it leaves to its base (:class:`BaseRef`). Without a
target to look at, the question "is this release complete?" is answered by the bases themselves:
``mirrorkit verify DELTA --base BASE [--base OLDER_BASE ...]`` checks that

* the base the delta names (by the sha256 of its manifest.json) is among those given, and each base
  on the chain verifies as a bundle with the same key policy (its signature, its files);
* every image (by digest), plugin (by name, version and integrity), chart (by sha256) and blob (a
  layer or manifest its archives leave out, :mod:`mirrorkit.deltablobs`: looked up in the base's
  archives) the delta leaves to its base is carried by that base, or left by it in turn to its own
  base, which must then be given too (a chain base -> delta1 -> delta2 needs both older bundles).

Each left item gets one check, so the report says which base carries what, or what nothing carries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.bundle import layout
from mirrorkit.bundle.manifest import Manifest
from mirrorkit.bundle.snapshot import archive_entries
from mirrorkit.delta import load_base
from mirrorkit.deltablobs import archived_blobs
from mirrorkit.errors import MirrorkitError
from mirrorkit.report.model import CheckItem, Report, Status

CATEGORY = "base"
_P, _F = Status.PASSED, Status.FAILED


@dataclass(frozen=True)
class GivenBase:
    """A bundle given with ``--base``: where it is, its manifest and that manifest's sha256."""

    path: Path
    manifest: Manifest
    sha256: str


def read_base(path: Path) -> GivenBase:
    """The bundle folder *path* as a possible base (read as pack reads ``--base``: :func:`load_base`)."""
    base = load_base(path)
    return GivenBase(path, base.manifest, base.sha256)


def _left(manifest: Manifest) -> dict[str, str]:
    """What *manifest* leaves to its base, keyed by what identifies it, valued by how a report names it."""
    ref = manifest.base
    if ref is None:
        return {}
    out = {f"image {i.digest}": f"image {i.source}@{i.digest}" for i in ref.images}
    out |= {f"npm {p.name}@{p.version} {p.integrity}": f"npm {p.name}@{p.version}" for p in ref.npm}
    out |= {f"chart {c.sha256}": f"chart {c.path}" for c in ref.charts}
    out |= {f"blob {b.digest}": f"blob {b.digest} of {b.repository}" for b in ref.blobs}
    return out


def _carried(base: GivenBase) -> tuple[set[str], bool]:
    """The keys of :func:`_left` that the base's own files carry, and whether its blobs could be
    looked at (its archives are in the folder: a bundle carried as parts has them once reassembled)."""
    manifest = base.manifest
    own = {f"image {i.digest}" for i in manifest.images}
    own |= {f"npm {p.name}@{p.version} {p.integrity}" for p in manifest.npm}
    own |= {f"chart {f.sha256}" for f in manifest.files if f.path.startswith(layout.CHARTS_DIR + "/")}
    archives = [base.path / f.path for f in archive_entries(manifest)]
    if archives and not all(a.is_file() for a in archives):
        return own, False
    own |= {f"blob {digest}" for digest in archived_blobs(archives)} if archives else set()
    return own, True


def base_items(delta: Manifest, bases: Sequence[Path], verify: Callable[[Path], Report]) -> list[CheckItem]:
    """The checks of the module docstring. *verify* checks one base bundle (the caller's key policy)."""
    given: dict[str, GivenBase] = {}
    items: list[CheckItem] = []
    for path in bases:
        try:
            found = read_base(Path(path))
        except MirrorkitError as exc:
            items.append(CheckItem(CATEGORY, str(path), "a mirrorkit bundle", "refused", _F, str(exc)))
            continue
        given[found.sha256] = found
    if delta.base is None:
        items.append(
            CheckItem(
                CATEGORY, layout.MANIFEST, "a delta (a manifest naming its base)", "a full bundle", _F, "--base is for deltas"
            )
        )
        return items
    needed = _left(delta)
    current, named = delta, delta.base.manifest_sha256
    while needed:
        base = given.get(named)
        if base is None:
            items.append(
                CheckItem(
                    CATEGORY,
                    f"base {named[:12]}",
                    f"given with --base (manifest sha256 {named})",
                    "not given",
                    _F,
                    f"{len(needed)} item(s) the release leaves to it are unchecked; pass that bundle with --base",
                )
            )
            break
        items.append(_verified(base, current, verify))
        carried, blobs_seen = _carried(base)
        left_further = _left(base.manifest)
        for key in sorted(needed):
            if key in carried:
                items.append(CheckItem(CATEGORY, needed[key], "carried by a base", f"carried by {base.path}", _P))
            elif key.startswith("blob ") and not blobs_seen and key not in left_further:
                items.append(
                    CheckItem(
                        CATEGORY,
                        needed[key],
                        "carried by a base",
                        "not checked",
                        Status.NOT_CHECKED,
                        f"{base.path} holds its archives as parts only: verify it with --reassemble, then pass that folder",
                    )
                )
                carried.add(key)
        missing = {k: v for k, v in needed.items() if k not in carried and k not in left_further}
        for _key, shown in sorted(missing.items()):
            items.append(
                CheckItem(
                    CATEGORY,
                    shown,
                    "carried by a base",
                    "in no base",
                    _F,
                    f"the delta leaves it to {base.path}, which neither carries it nor leaves it to a base of its own",
                )
            )
        needed = {k: v for k, v in needed.items() if k not in carried and k in left_further}
        if base.manifest.base is None:
            break
        current, named = base.manifest, base.manifest.base.manifest_sha256
    return items


def _verified(base: GivenBase, child: Manifest, verify: Callable[[Path], Report]) -> CheckItem:
    """One item: the base bundle verifies (signature and files, by the caller's key policy)."""
    report = verify(base.path)
    failed = [i for i in report.items if i.failed]
    detail = ""
    if failed:
        more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
        detail = (
            f"{failed[0].category} {failed[0].subject}: {failed[0].actual}{more}; run mirrorkit verify {base.path} for its report"
        )
    return CheckItem(
        CATEGORY,
        str(base.path),
        f"the base named by {'the delta' if child.base else 'its child'} (manifest sha256 {base.sha256[:12]}), verified",
        f"{report.summary.passed} checks passed" if report.ok else f"{len(failed)} check(s) failed",
        _P if report.ok else _F,
        detail,
    )


__all__ = ["CATEGORY", "GivenBase", "base_items", "read_base"]
