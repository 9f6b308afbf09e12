"""Target-side checks for ``verify --registry`` / ``--npm-registry`` (and push's final report).

Images: where an image must be is decided, in this order, by

1. the IDMS/ITMS oc-mirror wrote after disk-to-mirror (:mod:`mirrorkit.bundle.mirrorsets`), when they
   are given (push always uses the ones its own disk-to-mirror run wrote; ``verify`` with
   ``--cluster-resources DIR``): that is what the cluster will pull from, renamed repositories included;
2. else the path convention: disk-to-mirror keeps each image's repository path under the target
   (``docker://HOST[/prefix]``), so the image is looked up at ``HOST[/prefix]/<path>`` where ``<path>``
   is the repository of the recorded destination (the dry-run mapping, which already carries a
   ``targetRepo``) when known, else the source's repository without its registry host.

Either way the lookup is by digest: a tag that moved cannot make a wrong image pass.

npm: each package must be served by the target with the exact integrity recorded in the manifest
(:func:`mirrorkit.npm.publish.check_served` downloads and hashes it; nothing is stored).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.bundle.mirrorsets import MirrorSets
from mirrorkit.errors import MirrorkitError
from mirrorkit.http import NO_ANSWER, RetryPolicy, did_not_answer
from mirrorkit.oci.reference import ImageReference
from mirrorkit.report.model import CheckItem, Status

if TYPE_CHECKING:
    from mirrorkit.bundle.verify import Checker


def target_root(registry: str) -> str:
    """``host[:port][/prefix]`` from what a user may type for a target registry (``docker://``,
    ``https://`` and ``http://`` accepted); refuses anything else with an :class:`InputError`."""
    from mirrorkit.ocmirror import Target

    text = registry.strip()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    target = Target.parse(text.rstrip("/"))
    return f"{target.registry}/{target.prefix}" if target.prefix else target.registry


def target_reference(image: ImageEntry, registry: str) -> str:
    """Where *image* lives in the target *registry* by the path convention (``host[:port][/prefix]``), by digest."""
    root = target_root(registry)
    recorded = image.destination or image.source
    try:
        repository = ImageReference.parse(recorded).repository
    except MirrorkitError:
        repository = recorded.split("@", 1)[0].rsplit(":", 1)[0].split("/", 1)[-1]
    return f"{root}/{repository}@{image.digest}"


def image_locations(image: ImageEntry, registry: str | None, mirror_sets: MirrorSets | None) -> tuple[tuple[str, ...], str]:
    """Every place *image* may be found (by digest, in the order the cluster tries them) and how
    that was decided; empty when there is neither a mirror-set rule nor a *registry*."""
    if mirror_sets is not None:
        try:
            repository = ImageReference.parse(image.source).name
        except MirrorkitError:
            repository = image.source.split("@", 1)[0]
        found = mirror_sets.match(repository)
        if found is not None:
            return tuple(f"{repo}@{image.digest}" for repo in found.repositories), found.via
    if registry is None:
        return (), "no mirror set covers this image and no --registry was given"
    via = "path convention" + (" (no mirror set covers this image)" if mirror_sets is not None else "")
    return (target_reference(image, registry),), via


def image_group(image: ImageEntry) -> str:
    """The report group of *image*: its kind and, where known, the package (or chart) and version."""
    return " ".join(part for part in (image.kind, image.package, image.version) if part)


def image_checker(
    registry: str | None,
    *,
    mirror_sets: MirrorSets | None = None,
    authfile: Path | None = None,
    tls_verify: bool = True,
    jobs: int = 4,
    policy: RetryPolicy | None = None,
    on_done: Callable[[CheckItem], None] | None = None,
) -> Checker:
    """A checker: every image of the manifest is present by digest where the cluster will look for it.

    A registry that cannot be reached (connect failed after *policy*'s retries) is given up on once:
    the images not yet looked up there fail at once as "not checked", so a dead registry costs one
    retry cycle, not one per image. *on_done* hears of each image as its look-up ends (per-image progress)."""
    from mirrorkit.oci.client import OciClient

    if registry is not None:
        target_root(registry)  # a malformed target fails now, before any hashing
    client = (
        OciClient(authfile, tls_verify=tls_verify)
        if policy is None
        else OciClient(authfile, tls_verify=tls_verify, policy=policy)
    )
    unreachable: dict[str, str] = {}  # registry host -> why it was given up on

    def check_one(image: ImageEntry) -> CheckItem:
        item = dataclasses.replace(look_up(image), group=image_group(image))
        if on_done is not None:
            on_done(item)
        return item

    def look_up(image: ImageEntry) -> CheckItem:
        locations, via = image_locations(image, registry, mirror_sets)
        if not locations:
            return CheckItem("image", image.source, f"{image.digest} present in a mirror", "not checked", Status.FAILED, via)
        expected = " or ".join(locations) + " present"
        errors = []
        for location in locations:
            host = location.split("/", 1)[0]
            if host in unreachable:
                errors.append(f"not checked: {unreachable[host]}")
                continue
            try:
                if client.has_manifest(location):
                    found = CheckItem(
                        "image",
                        image.source,
                        expected,
                        f"present at {location}" if len(locations) > 1 else "present",
                        Status.PASSED,
                        via,
                    )
                    return _plugin_content(client, image, location, found)
            except MirrorkitError as exc:
                errors.append(str(exc))
                if exc.what.startswith("connect to registry ") or did_not_answer(exc.why or ""):
                    unreachable.setdefault(host, exc.what)
        if errors:
            return CheckItem("image", image.source, expected, "error", Status.FAILED, f"{via}; " + "; ".join(errors))
        return CheckItem(
            "image",
            image.source,
            expected,
            "absent",
            Status.FAILED,
            f"not in the target registry by digest ({via}): run push again",
        )

    def check(manifest: Manifest) -> Iterable[CheckItem]:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="image-check") as pool:
            items = list(pool.map(check_one, manifest.images))
        return by_root_cause(items, unreachable)

    return check


def _plugin_content(client: object, image: ImageEntry, location: str, found: CheckItem) -> CheckItem:
    """A plugin image must also still hold its packages (see :mod:`mirrorkit.plugins.verify`)."""
    from mirrorkit.plugins.verify import check_plugin_content

    return check_plugin_content(client, image, location, found) if image.kind == "plugin" else found


def _hosts(item: CheckItem) -> list[str]:
    """The registry hosts an image item was looked up at (from its *expected* locations)."""
    locations = item.expected.removesuffix(" present").split(" or ")
    return [loc.split("/", 1)[0] for loc in locations if "@" in loc]


def by_root_cause(items: list[CheckItem], unreachable: dict[str, str]) -> list[CheckItem]:
    """One ``target`` item per registry host looked up: passed when it answered, failed when it did
    not; the images that could only be looked up at a registry that did not answer become ``not
    checked`` with that registry as their cause, so a dead registry reads as one failure, not one
    per image."""
    hosts = list(dict.fromkeys(h for item in items for h in _hosts(item)))
    out: list[CheckItem] = []
    causes = {h: CheckItem("target", h, "", "", Status.FAILED).key for h in unreachable}
    for item in items:
        dead = [h for h in _hosts(item) if h in unreachable]
        if item.failed and item.actual == "error" and dead and len(dead) == len(_hosts(item)):
            item = dataclasses.replace(
                item,
                status=Status.NOT_CHECKED,
                actual="not checked",
                detail=f"registry {dead[0]} did not answer",
                cause=causes[dead[0]],
            )
        out.append(item)
    targets = []
    for host in hosts:
        if host in unreachable:
            skipped = sum(1 for i in out if i.cause == causes[host])
            targets.append(
                CheckItem(
                    "target",
                    host,
                    "the registry answers",
                    "did not answer",
                    Status.FAILED,
                    f"registry {host} did not answer ({unreachable[host]}); {skipped} images not checked",
                )
            )
        else:
            looked = sum(1 for i in out if host in _hosts(i))
            targets.append(
                CheckItem("target", host, "the registry answers", "answered", Status.PASSED, f"{looked} images looked up")
            )
    return targets + out


def npm_checker(npm_registry: str, *, token: str | None = None, npmrc: Path | None = None, jobs: int = 4) -> Checker:
    """A checker: every npm package of the manifest is served by *npm_registry* with its integrity."""
    from mirrorkit.npm.client import strip_credentials
    from mirrorkit.npm.index import IndexEntry, NpmIndex
    from mirrorkit.npm.publish import check_served

    def check(manifest: Manifest) -> Iterable[CheckItem]:
        sizes = {f.path: f.size for f in manifest.files}
        index = NpmIndex(
            Path("."),
            tuple(IndexEntry(p.name, p.version, p.integrity, "", sizes.get(p.file, 0), p.file, "") for p in manifest.npm),
        )
        results = check_served(index, npm_registry, token=token, npmrc=npmrc, jobs=jobs)
        items = [
            CheckItem(
                "npm",
                f"{r.name}@{r.version}",
                r.expected,
                r.actual or "not served",
                Status.PASSED if r.ok else Status.FAILED,
                r.reason or "" if not r.ok else r.url,
            )
            for r in results
        ]
        return npm_by_root_cause(items, strip_credentials(npm_registry))

    return check


def npm_by_root_cause(items: list[CheckItem], server: str) -> list[CheckItem]:
    """One ``target`` item for the npm server; when it did not answer at all, its packages are
    ``not checked`` with the server as their cause (one failure, not one per package)."""
    if not items:
        return []
    dead = all(i.failed and any(w in i.detail for w in NO_ANSWER) for i in items)
    if not dead:
        answered = CheckItem(
            "target", server, "the npm server answers", "answered", Status.PASSED, f"{len(items)} packages looked up"
        )
        return [answered, *items]
    root = CheckItem(
        "target",
        server,
        "the npm server answers",
        "did not answer",
        Status.FAILED,
        f"npm server {server} did not answer ({items[0].detail.split(': ', 1)[-1][:200]}); {len(items)} packages not checked",
    )
    skipped = [
        dataclasses.replace(
            i, status=Status.NOT_CHECKED, actual="not checked", detail=f"npm server {server} did not answer", cause=root.key
        )
        for i in items
    ]
    return [root, *skipped]
