"""oc-mirror's own checks on an ImageSetConfiguration, plus the ones it leaves to a failed run.

oc-mirror refuses duplicates, non-semver ranges, package- and channel-level ranges together,
``platforms`` with ``architectures`` and invalid ``blockedImages`` patterns. We also catch what it
only discovers minutes into a mirror: unparseable image references, a helm URL that is not http(s),
min above max, an empty ``mirror``. Each check appends an :class:`Issue` and carries on, so a user
sees every problem of a file in one run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mirrorkit.errors import InvalidReference
from mirrorkit.imageset.issues import Issue, join
from mirrorkit.imageset.model import (
    API_VERSION,
    KIND,
    AdditionalImage,
    Helm,
    ImageSetData,
    Mirror,
    Operator,
    Platform,
)
from mirrorkit.oci.reference import ImageReference
from mirrorkit.semver import Version

T = TypeVar("T")

ARCHITECTURES = ("amd64", "arm64", "ppc64le", "s390x", "multi")
CHANNEL_TYPES = ("ocp", "okd")
_REPO_PATH_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def validate_config(config: ImageSetData) -> list[Issue]:
    """Every problem of *config*, in file order; an empty list means oc-mirror will accept it."""
    issues: list[Issue] = []
    if config.api_version is not None and config.api_version != API_VERSION:
        issues.append(Issue("apiVersion", f"must be {API_VERSION} (oc-mirror --v2), got {config.api_version!r}"))
    if config.kind is not None and config.kind != KIND:
        issues.append(Issue("kind", f"must be {KIND}, got {config.kind!r}"))
    if config.archive_size is not None and config.archive_size <= 0:
        issues.append(Issue("archiveSize", f"must be a positive number of GiB, got {config.archive_size}"))
    if config.mirror is not None:
        issues.extend(validate_mirror(config.mirror, "mirror"))
    return issues


def validate_mirror(mirror: Mirror, path: str) -> list[Issue]:
    """Problems of a ``mirror:`` section at key path *path* (profiles reuse this)."""
    issues: list[Issue] = []
    if not any((mirror.platform, mirror.operators, mirror.additional_images, mirror.helm)):
        issues.append(Issue(path, "lists nothing to mirror; add operators, additionalImages, helm or platform"))
    if mirror.platform is not None:
        _check_platform(mirror.platform, join(path, "platform"), issues)
    _check_operators(mirror.operators or (), join(path, "operators"), issues)
    _check_additional_images(mirror.additional_images or (), join(path, "additionalImages"), issues)
    if mirror.helm is not None:
        _check_helm(mirror.helm, join(path, "helm"), issues)
    blocked_path = join(path, "blockedImages")
    for index, blocked in enumerate(mirror.blocked_images or ()):
        if blocked.name is None:
            continue
        try:
            re.compile(blocked.name)
        except re.error as exc:
            issues.append(Issue(join(join(blocked_path, index), "name"), f"is not a valid regular expression: {exc}"))
    _check_duplicates(mirror.blocked_images or (), blocked_path, "name", lambda b: b.name, issues)
    return issues


def _check_duplicates(items: Sequence[T], path: str, key: str, identity: Callable[[T], Any], issues: list[Issue]) -> None:
    """Record each item whose *identity* repeats an earlier one (None identities are skipped)."""
    first: dict[Any, int] = {}
    for index, item in enumerate(items):
        ident = identity(item)
        if ident is None:
            continue
        if ident in first:
            shown = ident[0] if isinstance(ident, tuple) else ident
            issues.append(
                Issue(
                    join(join(path, index), key),
                    f"{shown!r} duplicates {join(join(path, first[ident]), key)}; remove one",
                )
            )
        else:
            first[ident] = index


def _check_not_empty(value: str | None, path: str, issues: list[Issue]) -> bool:
    if value is not None and not value.strip():
        issues.append(Issue(path, "must not be empty"))
        return False
    return value is not None


def _check_range(min_version: str | None, max_version: str | None, path: str, issues: list[Issue]) -> None:
    parsed: dict[str, Version] = {}
    for key, value in (("minVersion", min_version), ("maxVersion", max_version)):
        if value is None:
            continue
        version = Version.try_parse(value)
        if version is None:
            issues.append(Issue(join(path, key), f"{value!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.36.0)"))
        else:
            parsed[key] = version
    if len(parsed) == 2 and parsed["minVersion"] > parsed["maxVersion"]:
        issues.append(Issue(join(path, "minVersion"), f"{min_version} is above maxVersion {max_version}; swap them or fix one"))


def _check_platform(platform: Platform, path: str, issues: list[Issue]) -> None:
    if platform.architectures is not None and platform.platforms is not None:
        issues.append(
            Issue(join(path, "platforms"), "cannot be used together with the deprecated architectures; keep platforms only")
        )
    for index, arch in enumerate(platform.architectures or ()):
        if arch not in ARCHITECTURES:
            issues.append(Issue(join(join(path, "architectures"), index), f"{arch!r} is not one of {', '.join(ARCHITECTURES)}"))
    for index, target in enumerate(platform.platforms or ()):
        where = join(join(path, "platforms"), index)
        _check_not_empty(target.os, join(where, "os"), issues)
        if target.architecture is not None and target.architecture not in ARCHITECTURES:
            issues.append(Issue(join(where, "architecture"), f"{target.architecture!r} is not one of {', '.join(ARCHITECTURES)}"))
    channels_path = join(path, "channels")
    for index, channel in enumerate(platform.channels or ()):
        where = join(channels_path, index)
        _check_not_empty(channel.name, join(where, "name"), issues)
        if channel.type is not None and channel.type not in CHANNEL_TYPES:
            issues.append(Issue(join(where, "type"), f"{channel.type!r} is not one of {', '.join(CHANNEL_TYPES)}"))
        _check_range(channel.min_version, channel.max_version, where, issues)
    # oc-mirror (validateReleaseChannels) keys release channels by name alone, whatever their type
    _check_duplicates(platform.channels or (), channels_path, "name", lambda c: c.name, issues)


def _check_image(value: str | None, path: str, issues: list[Issue]) -> str | None:
    """The canonical reference, or None after recording why *value* does not parse."""
    if not _check_not_empty(value, path, issues):
        return None
    assert value is not None
    try:
        return str(ImageReference.parse(value, require_registry=True))
    except InvalidReference as exc:
        issues.append(Issue(path, f"{value!r} is not an image reference (registry/path[:tag][@sha256:digest]): {exc.why}"))
        return None


def _check_target(repo: str | None, tag: str | None, path: str, repo_key: str, issues: list[Issue]) -> None:
    if repo is not None and not _REPO_PATH_RE.match(repo):
        issues.append(Issue(join(path, repo_key), f"{repo!r} must be lowercase path components separated by '/'"))
    if tag is not None and not _TAG_RE.match(tag):
        issues.append(Issue(join(path, "targetTag"), f"{tag!r} is not a valid tag (letters, digits, _ . -; max 128)"))


def _catalog_identity(operator: Operator, path: str, issues: list[Issue]) -> str | None:
    """The name oc-mirror tracks a catalog under (its ``GetUniqueName``), None when it does not parse.

    ``targetCatalog`` replaces the catalog's path and ``targetTag`` its tag, so one index mirrored twice
    under different targets is not a duplicate, and two sources mirrored to one target are.
    """
    catalog = operator.catalog
    if not _check_not_empty(catalog, path, issues):
        return None
    assert catalog is not None
    if catalog.startswith("oci://"):
        if not catalog[len("oci://") :].strip("/"):
            issues.append(Issue(path, f"{catalog!r} names no directory; write oci:///absolute/path/to/catalog"))
            return None
        if operator.target_catalog is None and operator.target_tag is None:
            return catalog
        return f"{operator.target_catalog or catalog}:{operator.target_tag or ''}"
    canonical = _check_image(catalog, path, issues)
    if canonical is None or (operator.target_catalog is None and operator.target_tag is None):
        return canonical
    ref = ImageReference.parse(canonical, require_registry=True)
    name = f"{ref.registry}/{operator.target_catalog or ref.repository}"
    if operator.target_tag is not None:
        return f"{name}:{operator.target_tag}"
    return f"{name}:{ref.tag}" if ref.tag else f"{name}@{ref.digest}"


def _check_operators(operators: Sequence[Operator], path: str, issues: list[Issue]) -> None:
    identities: list[str | None] = []
    for index, operator in enumerate(operators):
        where = join(path, index)
        identities.append(_catalog_identity(operator, join(where, "catalog"), issues))
        _check_target(operator.target_catalog, operator.target_tag, where, "targetCatalog", issues)
        packages_path = join(where, "packages")
        for pindex, package in enumerate(operator.packages or ()):
            ppath = join(packages_path, pindex)
            _check_not_empty(package.name, join(ppath, "name"), issues)
            _check_not_empty(package.default_channel, join(ppath, "defaultChannel"), issues)
            _check_range(package.min_version, package.max_version, ppath, issues)
            channels_path = join(ppath, "channels")
            ranged = [
                cindex
                for cindex, channel in enumerate(package.channels or ())
                if channel.min_version is not None or channel.max_version is not None
            ]
            if ranged and (package.min_version is not None or package.max_version is not None):
                key = "minVersion" if package.min_version is not None else "maxVersion"
                issues.append(
                    Issue(
                        join(ppath, key),
                        f"a package-level range cannot be combined with channel-level ranges "
                        f"({join(channels_path, ranged[0])}); keep one of them",
                    )
                )
            for cindex, channel in enumerate(package.channels or ()):
                cpath = join(channels_path, cindex)
                _check_not_empty(channel.name, join(cpath, "name"), issues)
                _check_range(channel.min_version, channel.max_version, cpath, issues)
            _check_duplicates(package.channels or (), channels_path, "name", lambda c: c.name, issues)
        _check_duplicates(operator.packages or (), packages_path, "name", lambda p: p.name, issues)
    _check_duplicates(list(range(len(operators))), path, "catalog", lambda i: identities[i], issues)


def _check_additional_images(images: Sequence[AdditionalImage], path: str, issues: list[Issue]) -> None:
    identities: list[str | None] = []
    for index, image in enumerate(images):
        where = join(path, index)
        identities.append(_check_image(image.name, join(where, "name"), issues))
        _check_target(image.target_repo, image.target_tag, where, "targetRepo", issues)
    _check_duplicates(list(range(len(images))), path, "name", lambda i: identities[i], issues)


def _check_helm(helm: Helm, path: str, issues: list[Issue]) -> None:
    repos_path = join(path, "repositories")
    for index, repo in enumerate(helm.repositories or ()):
        where = join(repos_path, index)
        _check_not_empty(repo.name, join(where, "name"), issues)
        if repo.url is not None:
            parts = urlsplit(repo.url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                issues.append(Issue(join(where, "url"), f"{repo.url!r} is not an http(s) URL, e.g. https://charts.openshift.io"))
        charts_path = join(where, "charts")
        for cindex, chart in enumerate(repo.charts or ()):
            cpath = join(charts_path, cindex)
            _check_not_empty(chart.name, join(cpath, "name"), issues)
            _check_not_empty(chart.version, join(cpath, "version"), issues)
            for ipath_index, image_path in enumerate(chart.image_paths or ()):
                _check_not_empty(image_path, join(join(cpath, "imagePaths"), ipath_index), issues)
        _check_duplicates(repo.charts or (), charts_path, "name", lambda c: (c.name, c.version), issues)
    _check_duplicates(helm.repositories or (), repos_path, "name", lambda r: r.name, issues)
    _check_duplicates(helm.repositories or (), repos_path, "url", lambda r: (r.url or "").rstrip("/") or None, issues)
    local_path = join(path, "local")
    for index, local in enumerate(helm.local or ()):
        _check_not_empty(local.name, join(join(local_path, index), "name"), issues)
        _check_not_empty(local.path, join(join(local_path, index), "path"), issues)
    _check_duplicates(helm.local or (), local_path, "name", lambda c: c.name, issues)
