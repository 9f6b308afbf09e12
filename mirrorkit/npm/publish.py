"""Bastion side: publish mirrored tarballs to the local npm server and prove it serves them unchanged.

For each tarball: check its bytes against the index, read its package.json, look the version up on
the target (already there with our integrity = done; with another integrity = error), PUT the
document `npm publish` sends (one version, one attachment), then read the version back and compare
its `dist.integrity`. Versions of one package are published in order by one worker (npm servers lock
per package); different packages run in parallel.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from tqdm import tqdm

from mirrorkit.cancel import Cancel
from mirrorkit.digests import CHUNK
from mirrorkit.errors import Interrupted, MirrorkitError, NpmError
from mirrorkit.http import DEFAULT_POLICY, RetryPolicy, retrying
from mirrorkit.npm.body import StreamingPublishBody
from mirrorkit.npm.client import NpmClient, strip_credentials, tarball_chunks
from mirrorkit.npm.index import IndexEntry, NpmIndex, read_index
from mirrorkit.npm.integrity import Digests, hash_file, new_hasher, sha512_of
from mirrorkit.npm.npmrc import NpmSettings, normalise_registry
from mirrorkit.npm.tarball import read_manifest
from mirrorkit.semver import Version

PUBLISHED = "published"
PRESENT = "present"
FAILED = "failed"


@dataclass(frozen=True)
class PublishResult:
    name: str
    version: str
    status: str  # published | present | failed
    integrity: str
    reason: str | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "version": self.version, "status": self.status, "integrity": self.integrity}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class PublishReport:
    registry: str
    results: tuple[PublishResult, ...]

    @property
    def failed(self) -> tuple[PublishResult, ...]:
        return tuple(r for r in self.results if r.status == FAILED)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "registry": self.registry, "packages": [r.to_dict() for r in self.results]}


@dataclass(frozen=True)
class ServedCheck:
    """Whether the server delivers a package's tarball with the recorded integrity."""

    name: str
    version: str
    url: str
    expected: str
    actual: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.actual == self.expected

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "url": self.url,
            "ok": self.ok,
            "expected": self.expected,
            "actual": self.actual,
            "reason": self.reason,
        }


def _load_index(dir_or_index: Path | NpmIndex) -> NpmIndex:
    return dir_or_index if isinstance(dir_or_index, NpmIndex) else read_index(Path(dir_or_index))


def _settings(registry_url: str, token: str | None, npmrc: Path | None, settings: NpmSettings | None) -> NpmSettings:
    return settings or NpmSettings.load(registry=registry_url, token=token, npmrc=npmrc)


def publish_packages(
    dir_or_index: Path | NpmIndex,
    registry_url: str,
    *,
    token: str | None = None,
    jobs: int = 4,
    npmrc: Path | None = None,
    settings: NpmSettings | None = None,
    progress: bool | None = False,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> PublishReport:
    """Publish every index entry to *registry_url*; idempotent (re-running reports `present`).

    Per-package failures are in the report (check `.ok`); nothing raises for one bad package.
    The token comes from *token*, else `NPM_TOKEN`, else the `.npmrc` (see :mod:`mirrorkit.npm.npmrc`).
    """
    index = _load_index(dir_or_index)
    registry = normalise_registry(registry_url)
    cancel = Cancel()
    client = NpmClient(_settings(registry, token, npmrc, settings), policy=policy, cancel=cancel)
    groups: dict[str, list[IndexEntry]] = {}
    for entry in index.entries:
        groups.setdefault(entry.name, []).append(entry)
    show = sys.stderr.isatty() if progress is None else progress
    results: dict[tuple[str, str], PublishResult] = {}
    interrupted = False
    with tqdm(total=len(index.entries), unit="pkg", desc="npm publish", file=sys.stderr, disable=not show, leave=False) as bar:
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="npm-publish") as pool:
            futures = [pool.submit(_publish_group, client, index, registry, entries, bar) for entries in groups.values()]
            try:
                for future in as_completed(futures):
                    for result in future.result():
                        results[(result.name, result.version)] = result
            except KeyboardInterrupt:
                # Drop queued publishes and break the uploads in flight (an npm server stores a version
                # only once its whole document arrived, so nothing half-published is left).
                cancel.cancel()
                for future in futures:
                    future.cancel()
                interrupted = True
    if interrupted:
        raise Interrupted(
            f"npm publish interrupted: {len(results)} of {len(index.entries)} package(s) done",
            hint="Run the same command again to resume: versions already on the server are skipped",
        )
    return PublishReport(strip_credentials(registry), tuple(results[e.key] for e in index.entries))


def _publish_group(
    client: NpmClient, index: NpmIndex, registry: str, entries: list[IndexEntry], bar: tqdm
) -> list[PublishResult]:
    newest = max(entries, key=lambda e: (Version.try_parse(e.version, loose=True) or Version(0, 0, 0)).sort_key())
    out = []
    for entry in entries:
        if client.cancel is not None:
            client.cancel.check()
        try:
            status = _publish_one(client, index, registry, entry, tag_latest=entry is newest)
            out.append(PublishResult(entry.name, entry.version, status, entry.integrity))
        except MirrorkitError as exc:
            out.append(PublishResult(entry.name, entry.version, FAILED, entry.integrity, client.redact(str(exc))))
        except OSError as exc:
            out.append(
                PublishResult(entry.name, entry.version, FAILED, entry.integrity, f"cannot read {exc.filename}: {exc.strerror}")
            )
        bar.update(1)
    return out


def _served_integrity(doc: dict[str, Any] | None, version: str) -> tuple[str | None, str | None] | None:
    """(integrity, shasum) the server lists for *version*, or None when it does not have it."""
    if not doc:
        return None
    v = (doc.get("versions") or {}).get(version)
    if not isinstance(v, dict):
        return None
    dist = v.get("dist") or {}
    return dist.get("integrity"), dist.get("shasum")


def _same(entry: IndexEntry, served: tuple[str | None, str | None]) -> bool:
    integrity, shasum = served
    if integrity and sha512_of(integrity):
        return sha512_of(integrity) == entry.integrity
    if shasum:
        return shasum.lower() == entry.shasum
    return False


def _differs(entry: IndexEntry, registry: str, served: tuple[str | None, str | None]) -> NpmError:
    return NpmError(
        f"{entry.name}@{entry.version} is already on {strip_credentials(registry)} with different content",
        f"server has {served[0] or 'shasum ' + str(served[1])}, the mirror has {entry.integrity}",
        "remove that version from the npm server (npm unpublish) or mirror the same bytes",
    )


def publish_document(
    manifest: dict[str, Any], entry: IndexEntry, registry: str, *, tag_latest: bool = True
) -> tuple[dict[str, Any], str]:
    """The document `npm publish` PUTs (libnpmpublish), without `_attachments`, and the attachment's name.

    As npm builds it: the attachment is named `<name>-<version>.tgz` with the full (scoped) name and
    `dist.tarball` is `<registry>/<name>/-/<name>-<version>.tgz`; servers keep only the basename
    (Verdaccio stores `Path.basename` of the attachment key and serves `.../-/<basename>`). Unlike npm,
    an older version published next to a newer one of the same mirror does not move `latest` back,
    and the URL keeps the registry's scheme (npm rewrites https to http here; clients ignore it).
    """
    name, version = entry.name, entry.version
    attachment = f"{name}-{version}.tgz"
    version_doc = {
        **manifest,
        "_id": f"{name}@{version}",
        "dist": {
            "integrity": entry.integrity,
            "shasum": entry.shasum,
            "tarball": urljoin(registry if registry.endswith("/") else registry + "/", f"{name}/-/{attachment}"),
        },
    }
    document: dict[str, Any] = {"_id": name, "name": name}
    if manifest.get("description") is not None:
        document["description"] = manifest["description"]
    document.update(
        {"dist-tags": {"latest": version} if tag_latest else {}, "versions": {version: version_doc}, "access": "public"}
    )
    if manifest.get("readme"):
        document["readme"] = manifest["readme"]
    return document, attachment


def _publish_one(client: NpmClient, index: NpmIndex, registry: str, entry: IndexEntry, *, tag_latest: bool) -> str:
    path = index.file(entry)
    pkg = entry.package
    local = hash_file(path)
    if (local.integrity, local.shasum) != (entry.integrity, entry.shasum):
        raise NpmError(
            f"{pkg}: {path} does not match the mirror index",
            f"index has {entry.integrity}, file is {local.integrity}",
            "the file changed after it was pulled; copy the mirror (or bundle) again from the connected host",
        )
    manifest = read_manifest(path)
    if (manifest.get("name"), manifest.get("version")) != (entry.name, entry.version):
        raise NpmError(
            f"{pkg}: its package.json says {manifest.get('name')}@{manifest.get('version')}",
            hint="the tarball is not the package the index names; copy the mirror (or bundle) again from the connected host",
        )
    served = _served_integrity(client.packument(pkg.name, registry, missing_ok=True), entry.version)
    if served is not None:
        if _same(entry, served):
            return PRESENT
        raise _differs(entry, registry, served)
    url = f"{registry.rstrip('/')}/{pkg.name.escaped}"
    document, attachment = publish_document(manifest, entry, registry, tag_latest=tag_latest)

    def put() -> str:
        body = StreamingPublishBody(document, attachment, path, entry.size)
        resp = client.put_json(url, body, content_length=len(body))
        with resp:
            if resp.status_code == 409:
                return "conflict"
            if resp.status_code == 413:
                raise NpmError(
                    f"publish {pkg}: {strip_credentials(registry)} refused the upload as too large (HTTP 413)",
                    f"the request body is {len(body)} bytes (the tarball is {entry.size} bytes, base64-encoded)",
                    "raise the server's body size limit (Verdaccio: 'max_body_size: 100mb' in config.yaml, then restart it; "
                    "a reverse proxy in front may have its own limit, e.g. nginx client_max_body_size)",
                )
            client.check_status(resp, f"publish {pkg}", strip_credentials(registry))
            return "ok"

    outcome = retrying(
        put, what=f"publish {pkg} to {strip_credentials(registry)}", error=NpmError, policy=client.policy, sleep=client.sleep
    )
    served = _served_integrity(client.packument(pkg.name, registry, missing_ok=True), entry.version)
    if served is None:
        detail = "the server refused it as a conflict (HTTP 409) but" if outcome == "conflict" else "the server accepted it but"
        raise NpmError(
            f"publish {pkg}: {detail} does not list the version afterwards", hint="check the server's logs and its access rules"
        )
    if not _same(entry, served):
        raise _differs(entry, registry, served)
    return PRESENT if outcome == "conflict" else PUBLISHED


def check_served(
    index: NpmIndex | Path,
    registry_url: str,
    *,
    token: str | None = None,
    npmrc: Path | None = None,
    settings: NpmSettings | None = None,
    jobs: int = 4,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> list[ServedCheck]:
    """Download each package from the URL values.yaml will name and compare its sha512 (nothing stored)."""
    index = _load_index(index)
    registry = normalise_registry(registry_url)
    client = NpmClient(_settings(registry, token, npmrc, settings), policy=policy)

    def check(entry: IndexEntry) -> ServedCheck:
        url = entry.package.tarball_path(registry)
        shown = strip_credentials(url)

        def fetch() -> Digests:
            hasher = new_hasher()
            with client.open_stream(url, f"fetch {entry.name}@{entry.version}", registry) as resp:
                hasher.consume(tarball_chunks(resp, url, CHUNK))
            return Digests.from_hasher(hasher)

        try:
            got = retrying(fetch, what=f"fetch {entry.name}@{entry.version}", error=NpmError, policy=policy)
        except MirrorkitError as exc:
            return ServedCheck(entry.name, entry.version, shown, entry.integrity, None, client.redact(str(exc)))
        reason = (
            None
            if got.integrity == entry.integrity
            else f"served bytes are {got.integrity}, the mirror recorded {entry.integrity}"
        )
        return ServedCheck(entry.name, entry.version, shown, entry.integrity, got.integrity, reason)

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="npm-check") as pool:
        return list(pool.map(check, index.entries))
