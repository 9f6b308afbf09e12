"""After disk-to-mirror: the target registry holds what the manifest accounts for, and nothing more.

Why: the final target check looks each image of the manifest up *by digest*; that proves the pinned
images arrived, not that nothing else did. A tag of a mirrored repository moved to an unpinned image,
or a repository nobody asked for, would pass it, and the cluster pulls by tag (``:1.8.0``) as often as
by digest. So push takes the registry's picture before the load (``/v2/_catalog`` and the tags of every
repository the manifest mirrors, each tag's digest) and again after it, and every difference must be
one the manifest accounts for:

* every tag of a mirrored repository that this push created or moved points at a digest the manifest
  pins for that repository under that tag; the tags oc-mirror writes are the source's tag (or the
  configuration's ``targetTag``), ``sha256-<hex>`` for an image named by digest only, and for the
  rebuilt catalog the source catalog's tag (or ``sha256-<rebuilt hex>`` when pinned by digest);
* no repository appears that is not a mirrored one.

Tags and repositories that were there before the push and did not change are left alone (another
bundle's images, an earlier push). A registry that refuses ``/v2/_catalog`` (many do for non-admins)
gives one warning and the tag checks still run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import requests

from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.bundle.targets import target_reference
from mirrorkit.errors import MirrorkitError, RegistryError
from mirrorkit.oci.client import OciClient
from mirrorkit.oci.reference import ImageReference
from mirrorkit.report.model import CheckItem, Status

#: what a registry may answer for one listing page, and how many pages are followed
MAX_LISTING_BYTES = 8 * 1024 * 1024
MAX_PAGES = 200
PAGE = 1000
_LINK = re.compile(r"<([^>]+)>")
_P, _F, _W = Status.PASSED, Status.FAILED, Status.WARNING
CATEGORY = "target-tags"


def digest_tag(digest: str) -> str:
    """The tag oc-mirror gives an image named by digest only: ``sha256:<hex>`` -> ``sha256-<hex>``."""
    return digest.replace(":", "-", 1)


@dataclass(frozen=True)
class Expected:
    """What the manifest accounts for in the target: repository (``prefix/path``) -> tag -> digests."""

    tags: dict[str, dict[str, frozenset[str]]]

    @property
    def repositories(self) -> frozenset[str]:
        return frozenset(self.tags)

    def allows(self, repository: str, tag: str, digest: str) -> bool:
        return digest in self.tags.get(repository, {}).get(tag, frozenset())

    def explain(self, repository: str, tag: str) -> str:
        pinned = sorted(self.tags.get(repository, {}).get(tag, frozenset()))
        return f"the manifest pins {', '.join(pinned)} there" if pinned else "the manifest pins no image under this tag"


def target_repository(image: ImageEntry, registry: str) -> str:
    """``prefix/path`` of the repository disk-to-mirror writes *image* to (no host, no digest)."""
    return target_reference(image, registry).split("/", 1)[1].rsplit("@", 1)[0]


def _target_tags(config_text: str) -> dict[str, str]:
    """``targetTag`` of each additional image and catalog in the configuration, by reference name."""
    from mirrorkit.imageset.config import ImageSetConfig

    try:
        config = ImageSetConfig.loads(config_text, source="manifest imageset_config")
    except MirrorkitError:
        return {}
    named: list[tuple[str | None, str | None]] = [(op.catalog, op.target_tag) for op in config.operators]
    additional = config.mirror.additional_images if config.mirror else None
    named += [(image.name, image.target_tag) for image in additional or ()]
    out = {}
    for name, tag in named:
        if name and tag:
            try:
                out[ImageReference.parse(name).name] = tag
            except MirrorkitError:
                continue
    return out


def expected_tags(manifest: Manifest, registry: str) -> Expected:
    """Every (repository, tag) disk-to-mirror may write for *manifest* and the digests allowed there."""
    target_tags = _target_tags(manifest.imageset_config) if manifest.imageset_config else {}
    tags: dict[str, dict[str, set[str]]] = {}
    for image in manifest.images:
        names = {digest_tag(image.digest)}
        try:
            ref = ImageReference.parse(image.source)
            if ref.tag:
                names.add(ref.tag)
            if ref.name in target_tags:
                names.add(target_tags[ref.name])
        except MirrorkitError:
            pass
        per_repo = tags.setdefault(target_repository(image, registry), {})
        for name in names:
            per_repo.setdefault(name, set()).add(image.digest)
    return Expected({repo: {t: frozenset(d) for t, d in by_tag.items()} for repo, by_tag in tags.items()})


@dataclass(frozen=True)
class Snapshot:
    """The registry's picture: its repositories (None when ``_catalog`` was refused, with why) and,
    for the repositories looked at, each tag's digest."""

    repositories: frozenset[str] | None
    tags: dict[str, dict[str, str]]
    catalog_refused: str = ""


class RegistryLister:
    """Lists a registry's repositories and tags with an :class:`OciClient`'s connection and credentials.

    The distribution API's listing endpoints are not part of OciClient's pull API, so this reaches
    for its endpoint and authorization helpers instead of growing a second HTTP client."""

    def __init__(self, client: OciClient, host: str) -> None:
        self.client = client
        self.host = host

    def repositories(self) -> tuple[frozenset[str] | None, str]:
        """All repositories from ``/v2/_catalog`` (every page), or (None, why) when refused."""
        try:
            endpoint = self.client._endpoint(self.host)
        except MirrorkitError as exc:
            return None, str(exc)
        headers = {"Accept": "application/json"}
        challenge = endpoint.challenge
        if challenge is not None:
            creds = self.client.auth.lookup(self.host)
            if challenge.scheme != "basic" or creds is None:
                return None, f"the registry asks for {challenge.scheme} authentication to list repositories"
            headers["Authorization"] = f"Basic {creds.basic}"
        found: set[str] = set()
        url: str | None = f"{endpoint.base_url}/v2/_catalog?n={PAGE}"
        for _ in range(MAX_PAGES):
            if url is None:
                return frozenset(found), ""
            try:
                resp = self.client._send(endpoint, "GET", url, headers=headers)
            except requests.RequestException as exc:
                return None, f"/v2/_catalog could not be read ({type(exc).__name__})"
            if resp.status_code != 200:
                resp.close()
                return None, f"/v2/_catalog answered HTTP {resp.status_code}"
            page = _json_list(resp, "repositories")
            if page is None:
                return None, "/v2/_catalog answered something that is not a repository list"
            found.update(page)
            url = _next_page(resp, endpoint.base_url)
        return None, f"/v2/_catalog has more than {MAX_PAGES} pages"

    def tags(self, repository: str) -> dict[str, str]:
        """Each tag of *repository* and its digest; {} when the repository does not exist."""
        image = ImageReference(self.host, repository, "latest")
        names: list[str] = []
        path: str | None = f"tags/list?n={PAGE}"
        for _ in range(MAX_PAGES):
            if path is None:
                break
            page, path = self.client._call(image, "GET", path, _tags_page, what=f"list the tags of {self.host}/{repository}")
            names += page
        else:
            raise RegistryError(f"{self.host}/{repository} has more than {MAX_PAGES * PAGE} tags", hint="clean it up")
        return {tag: self.client.resolve_digest(ImageReference(self.host, repository, tag)) for tag in sorted(set(names))}


def _json_list(resp: requests.Response, key: str) -> list[str] | None:
    data = resp.content[: MAX_LISTING_BYTES + 1]
    resp.close()
    if len(data) > MAX_LISTING_BYTES:
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    value = doc.get(key) if isinstance(doc, dict) else None
    if value is None:
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None


def _next_page(resp: requests.Response, base_url: str) -> str | None:
    link = _LINK.match(resp.headers.get("Link", ""))
    if not link:
        return None
    target = link.group(1)
    return target if target.startswith(("http://", "https://")) else base_url + target


def _tags_page(resp: requests.Response) -> tuple[list[str], str | None]:
    if resp.status_code == 404:
        resp.close()
        return [], None
    if resp.status_code != 200:
        resp.close()
        raise RegistryError(f"listing tags answered HTTP {resp.status_code}")
    link = _LINK.match(resp.headers.get("Link", ""))
    names = _json_list(resp, "tags")
    if names is None:
        raise RegistryError("the tag list is not a JSON list of tags")
    following = "tags/" + link.group(1).split("/tags/", 1)[1] if link and "/tags/" in link.group(1) else None
    return names, following


def take_snapshot(lister: RegistryLister, repositories: Iterable[str], since: Snapshot | None = None) -> Snapshot:
    """The registry's repositories and the tags (with digests) of *repositories*, plus, given the
    snapshot taken *since*, of every repository that appeared after it."""
    found, why = lister.repositories()
    look = set(repositories)
    if since is not None and since.repositories is not None and found is not None:
        look |= found - since.repositories
    return Snapshot(found, {repo: lister.tags(repo) for repo in sorted(look)}, why)


def reconcile(expected: Expected, before: Snapshot, after: Snapshot, host: str) -> list[CheckItem]:
    """One item per repository the manifest mirrors or this push created: passed when every tag that
    is new or moved is one the manifest accounts for; failures name the tag, its digest and what to do."""
    items: list[CheckItem] = []
    if after.repositories is None or before.repositories is None:
        why = after.catalog_refused or before.catalog_refused
        items.append(
            CheckItem(
                CATEGORY,
                f"repositories of {host}",
                "only the manifest's repositories created by this push",
                "not checked",
                _W,
                f"{why}: repositories this push may have created outside the manifest's were not looked for "
                "(grant catalog access to check them); the tags of the manifest's repositories were checked",
            )
        )
    else:
        for repo in sorted(after.repositories - before.repositories - expected.repositories):
            tags = ", ".join(sorted(after.tags.get(repo, {}))) or "no tags"
            items.append(
                CheckItem(
                    CATEGORY,
                    f"{host}/{repo}",
                    "not created (not in the manifest)",
                    f"created by this push ({tags})",
                    _F,
                    "the archives carried a repository the signed manifest does not list; delete it "
                    f"(skopeo delete docker://{host}/{repo}:TAG) and find out who changed the bundle",
                )
            )
    for repo in sorted(expected.repositories):
        items.append(_repository_item(expected, repo, before.tags.get(repo, {}), after.tags.get(repo, {}), host))
    return items


def _repository_item(expected: Expected, repo: str, before: dict[str, str], after: dict[str, str], host: str) -> CheckItem:
    problems = []
    for tag, digest in sorted(after.items()):
        if before.get(tag) == digest or expected.allows(repo, tag, digest):
            continue  # unchanged since before the push, or exactly what the manifest pins
        moved = f"moved from {before[tag]} to" if tag in before else "points at"
        problems.append(f":{tag} {moved} {digest}: {expected.explain(repo, tag)}")
    want = "every tag new or moved by this push points at the manifest's digest"
    if not problems:
        pushed = sum(1 for tag, digest in after.items() if before.get(tag) != digest)
        return CheckItem(CATEGORY, f"{host}/{repo}", want, f"{len(after)} tag(s), {pushed} written by this push", _P)
    return CheckItem(
        CATEGORY,
        f"{host}/{repo}",
        want,
        f"{len(problems)} tag(s) not accounted for",
        _F,
        "; ".join(problems)
        + f"; the cluster pulling these tags would get unpinned images: delete or re-point them (skopeo delete "
        f"docker://{host}/{repo}:TAG), then run push again, and find out who changed the bundle or the registry",
    )


__all__ = ["Expected", "RegistryLister", "Snapshot", "digest_tag", "expected_tags", "reconcile", "take_snapshot"]
