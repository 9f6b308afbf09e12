"""Target-side checks for ``verify --registry`` / ``--npm-registry`` (and push's final report).

Images: oc-mirror's disk-to-mirror keeps each image's repository path and puts it under the target
(``docker://HOST[/prefix]``), and the IDMS it writes maps ``source-registry/path`` to
``HOST[/prefix]/path``. So an image is looked up, by digest, at ``HOST[/prefix]/<path>`` where
``<path>`` is the repository of the recorded destination (the dry-run mapping) when known, else the
source's repository without its registry host.

npm: each package must be served by the target with the exact integrity recorded in the manifest
(:func:`mirrorkit.npm.publish.check_served` downloads and hashes it; nothing is stored).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.errors import MirrorkitError
from mirrorkit.oci.reference import ImageReference
from mirrorkit.report.model import CheckItem, Status


def target_reference(image: ImageEntry, registry: str) -> str:
    """Where *image* lives in the target *registry* (``host[:port][/prefix]``), by digest."""
    registry = registry.rstrip("/")
    for scheme in ("docker://", "https://", "http://"):
        if registry.startswith(scheme):
            registry = registry[len(scheme):]
    recorded = image.destination or image.source
    try:
        repository = ImageReference.parse(recorded).repository
    except MirrorkitError:
        repository = recorded.split("@", 1)[0].rsplit(":", 1)[0].split("/", 1)[-1]
    return f"{registry}/{repository}@{image.digest}"


def image_checker(registry: str, *, authfile: Path | None = None, tls_verify: bool = True, jobs: int = 4):
    """A checker: every image of the manifest is present in *registry* by digest."""
    from mirrorkit.oci.client import OciClient

    client = OciClient(authfile, tls_verify=tls_verify)

    def check_one(image: ImageEntry) -> CheckItem:
        target = target_reference(image, registry)
        try:
            present = client.has_manifest(target)
        except MirrorkitError as exc:
            return CheckItem("image", image.source, f"{target} present", "error", Status.FAILED, str(exc))
        return CheckItem("image", image.source, f"{target} present", "present" if present else "absent",
                         Status.PASSED if present else Status.FAILED,
                         "" if present else "not in the target registry by digest: run push again")

    def check(manifest: Manifest) -> Iterable[CheckItem]:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="image-check") as pool:
            return list(pool.map(check_one, manifest.images))

    return check


def npm_checker(npm_registry: str, *, token: str | None = None, npmrc: Path | None = None, jobs: int = 4):
    """A checker: every npm package of the manifest is served by *npm_registry* with its integrity."""
    from mirrorkit.npm.index import IndexEntry, NpmIndex
    from mirrorkit.npm.publish import check_served

    def check(manifest: Manifest) -> Iterable[CheckItem]:
        sizes = {f.path: f.size for f in manifest.files}
        index = NpmIndex(Path("."), tuple(
            IndexEntry(p.name, p.version, p.integrity, "", sizes.get(p.file, 0), p.file, "") for p in manifest.npm
        ))
        results = check_served(index, npm_registry, token=token, npmrc=npmrc, jobs=jobs)
        return [
            CheckItem("npm", f"{r.name}@{r.version}", r.expected, r.actual or "not served",
                      Status.PASSED if r.ok else Status.FAILED, r.reason or "" if not r.ok else r.url)
            for r in results
        ]

    return check
