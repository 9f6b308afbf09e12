"""oc-mirror's own checks on an ImageSetConfiguration, plus the ones it leaves to a failed run.

oc-mirror refuses duplicates, non-semver ranges, package- and channel-level ranges together,
``platforms`` with ``architectures``, invalid ``blockedImages`` patterns, target paths that are not
path components and catalogs without a tag or digest. We also catch what it only discovers minutes
into a mirror: unparseable image references (and additional images without tag or digest), ``full:
true`` with a version range, a helm URL that is not http(s), min above max, an empty platform filter,
two images mirrored to one target, an empty ``mirror``. Each check appends an :class:`Issue` and
carries on, so a user sees every problem of a file in one run.

References without a registry host are read as container tools read them (``ubi9/ubi:9`` is
``docker.io/ubi9/ubi:9``, ``alpine:3`` is ``docker.io/library/alpine:3``), so duplicates and
same-target collisions are found whichever way a name is written.
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
    PlatformTarget,
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
        issues.append(
            Issue(
                "apiVersion",
                f"must be {API_VERSION} (oc-mirror --v2), got {config.api_version!r}; oc-mirror v2 does not "
                "read apiVersion and would take the file as v2alpha1, so set it to say what the file really is",
            )
        )
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
        issues.append(Issue(path, _nothing_to_mirror(mirror)))
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


def _nothing_to_mirror(mirror: Mirror) -> str:
    """Deliberately stricter than oc-mirror, which accepts such a file and mirrors nothing."""
    samples = " (samples are declared by oc-mirror but not implemented)" if mirror.samples else ""
    return (
        f"lists nothing to mirror{samples}; add operators, additionalImages, helm or platform "
        "(oc-mirror would accept this file and mirror nothing)"
    )


_WRITTEN_APART = (
    " (the same image once a name without registry host is read as docker.io; oc-mirror compares names "
    "as written and would mirror it twice)"
)


def _check_duplicates(
    items: Sequence[T],
    path: str,
    key: str,
    identity: Callable[[T], Any],
    issues: list[Issue],
    written: Callable[[T], Any] | None = None,
) -> None:
    """Record each item whose *identity* repeats an earlier one (None identities are skipped).

    With *written*, a repeat spelled differently from the first (``alpine:3`` and
    ``docker.io/library/alpine:3``) says so, since oc-mirror would not call it a duplicate.
    """
    first: dict[Any, int] = {}
    for index, item in enumerate(items):
        ident = identity(item)
        if ident is None:
            continue
        if ident in first:
            shown = ident[0] if isinstance(ident, tuple) else ident
            apart = written is not None and written(item) != written(items[first[ident]])
            issues.append(
                Issue(
                    join(join(path, index), key),
                    f"{shown!r} duplicates {join(join(path, first[ident]), key)}{_WRITTEN_APART if apart else ''}; remove one",
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


def _parse_image(value: str | None, path: str, issues: list[Issue]) -> ImageReference | None:
    """*value* parsed (a missing registry host means Docker Hub), or None after recording why not.

    oc-mirror's reference parser wants a tag or a digest on every image and catalog; its words are
    quoted so the message matches what a run of oc-mirror prints.
    """
    if not _check_not_empty(value, path, issues):
        return None
    assert value is not None
    try:
        ref = ImageReference.parse(value)
    except InvalidReference as exc:
        issues.append(Issue(path, f"{value!r} is not an image reference (registry/path[:tag][@sha256:digest]): {exc.why}"))
        return None
    if ref.tag is None and ref.digest is None:
        issues.append(
            Issue(
                path,
                f'oc-mirror refuses it: "{value} unable to parse image correctly : tag and digest are empty"; '
                f"add a tag or digest, e.g. {value}:latest or {value}@sha256:<digest>",
            )
        )
        return None
    return ref


def _check_image(value: str | None, path: str, issues: list[Issue]) -> str | None:
    """The canonical reference (``docker.io/library/...`` for a name without host), None if refused."""
    ref = _parse_image(value, path, issues)
    return None if ref is None else str(ref)


def _check_target(repo: str | None, tag: str | None, path: str, repo_key: str, issues: list[Issue]) -> None:
    if repo is not None and not _REPO_PATH_RE.match(repo):
        issues.append(
            Issue(
                join(path, repo_key),
                f"invalid target path component {repo!r}: should not contain a tag or digest; write one or more "
                "lowercase path components separated by '/' (letters, digits, '.', '_', '__' or '-' between them)",
            )
        )
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
    ref = _parse_image(catalog, path, issues)
    if ref is None:
        return None
    return target_identity(ref, operator.target_catalog, operator.target_tag)


def target_identity(ref: ImageReference, target_repo: str | None, target_tag: str | None) -> str:
    """Where *ref* lands (oc-mirror's ``getUniqueNameWithTarget``, on the normalised reference).

    The target path replaces the repository and the target tag replaces the tag, or the digest when
    the source has no tag: one image mirrored to two targets is fine, two images to one target are not.
    """
    if target_repo is None and target_tag is None:
        return str(ref)
    name = f"{ref.registry}/{target_repo or ref.repository}"
    if target_tag is not None:
        return f"{name}:{target_tag}"
    return f"{name}:{ref.tag}" if ref.tag else f"{name}@{ref.digest}"


def _check_operators(operators: Sequence[Operator], path: str, issues: list[Issue]) -> None:
    identities: list[str | None] = []
    for index, operator in enumerate(operators):
        where = join(path, index)
        identities.append(_catalog_identity(operator, join(where, "catalog"), issues))
        _check_target(operator.target_catalog, operator.target_tag, where, "targetCatalog", issues)
        _check_not_empty(operator.target_catalog_source_template, join(where, "targetCatalogSourceTemplate"), issues)
        _check_image_platforms(operator.platforms, join(where, "platforms"), issues)
        if operator.full:
            _check_full_without_range(operator, where, issues)
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
    written = [(o.catalog, o.target_catalog, o.target_tag) for o in operators]
    _check_duplicates(list(range(len(operators))), path, "catalog", lambda i: identities[i], issues, lambda i: written[i])


def _check_full_without_range(operator: Operator, path: str, issues: list[Issue]) -> None:
    """``full: true`` with a version range: oc-mirror's catalog filter fails the whole run on it."""
    for pindex, package in enumerate(operator.packages or ()):
        ppath = join(join(path, "packages"), pindex)
        ranges = [(ppath, package.min_version, package.max_version)]
        ranges += [
            (join(join(ppath, "channels"), cindex), channel.min_version, channel.max_version)
            for cindex, channel in enumerate(package.channels or ())
        ]
        for where, low, high in ranges:
            if low is None and high is None:
                continue
            issues.append(
                Issue(
                    join(where, "minVersion" if low is not None else "maxVersion"),
                    "full: true cannot be mixed with a version range (oc-mirror fails the catalog with "
                    '"Full: true cannot be mixed with versionRange"); remove full: true or the minVersion/maxVersion',
                )
            )


def _check_image_platforms(platforms: Sequence[PlatformTarget] | None, path: str, issues: list[Issue]) -> None:
    """An image's os/architecture filter: oc-mirror fails the image when either is empty."""
    for index, target in enumerate(platforms or ()):
        where = join(path, index)
        _check_not_empty(target.os, join(where, "os"), issues)
        _check_not_empty(target.architecture, join(where, "architecture"), issues)


def _check_chart_images(
    image_paths: Sequence[str] | None, platforms: Sequence[PlatformTarget] | None, path: str, issues: list[Issue]
) -> None:
    """A chart's (a repository's or a local one) imagePaths and platforms, at *path*: no empty path,
    and each platform filter as :func:`_check_image_platforms` wants it."""
    for index, image_path in enumerate(image_paths or ()):
        _check_not_empty(image_path, join(join(path, "imagePaths"), index), issues)
    _check_image_platforms(platforms, join(path, "platforms"), issues)


def _check_additional_images(images: Sequence[AdditionalImage], path: str, issues: list[Issue]) -> None:
    sources: list[str | None] = []
    targets: list[str | None] = []
    for index, image in enumerate(images):
        where = join(path, index)
        ref = _parse_image(image.name, join(where, "name"), issues)
        sources.append(None if ref is None else str(ref))
        _check_target(image.target_repo, image.target_tag, where, "targetRepo", issues)
        _check_image_platforms(image.platforms, join(where, "platforms"), issues)
        targeted = image.target_repo is not None or image.target_tag is not None
        targets.append(target_identity(ref, image.target_repo, image.target_tag) if ref is not None and targeted else None)
    names = [_strip_transport(image.name) for image in images]
    _check_duplicates(list(range(len(images))), path, "name", lambda i: sources[i], issues, lambda i: names[i])
    _check_same_target(sources, targets, path, issues)


def _strip_transport(name: str | None) -> str | None:
    """The name as written, less ``docker://`` (which only repeats the default transport)."""
    return name[len("docker://") :] if name and name.startswith("docker://") else name


def _check_same_target(sources: Sequence[str | None], targets: Sequence[str | None], path: str, issues: list[Issue]) -> None:
    """Two different images that would be pushed to one repository and tag: the second overwrites the first."""
    landing: dict[str, int] = {}
    for index, source in enumerate(sources):
        target = targets[index] or source
        if source is None or target is None:
            continue
        first = landing.setdefault(target, index)
        if first != index and sources[first] != source:
            issues.append(
                Issue(
                    join(join(path, index), "name"),
                    f"lands on {target} like {join(join(path, first), 'name')} ({sources[first]}); "
                    "give one of them another targetRepo or targetTag (oc-mirror does not check this and would "
                    "copy both there, the last copy winning)",
                )
            )


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
            _check_chart_images(chart.image_paths, chart.platforms, cpath, issues)
        _check_duplicates(repo.charts or (), charts_path, "name", lambda c: (c.name, c.version), issues)
    _check_duplicates(helm.repositories or (), repos_path, "name", lambda r: r.name, issues)
    _check_duplicates(helm.repositories or (), repos_path, "url", lambda r: (r.url or "").rstrip("/") or None, issues)
    local_path = join(path, "local")
    for index, local in enumerate(helm.local or ()):
        where = join(local_path, index)
        _check_not_empty(local.name, join(where, "name"), issues)
        _check_not_empty(local.path, join(where, "path"), issues)
        _check_chart_images(local.image_paths, local.platforms, where, issues)
    _check_duplicates(helm.local or (), local_path, "name", lambda c: c.name, issues)
