"""Curated mirroring profiles: what one RHDH Orchestrator release needs in a disconnected cluster.

A profile (``imagesets/<name>.yaml``, format in ``imagesets/README.md``) holds the ``mirror:`` section
of an ImageSetConfiguration with ``{ocp}`` placeholders, the operator bundle images whose contents
must be inspected for images oc-mirror misses, and the NPM plugin packages with their registry.

The curated files ship inside the package as ``mirrorkit/imageset/profiles_data``, a symlink to the
repository's ``imagesets/`` folder: a checkout (editable install) reads the folder itself, and
``pip install .`` copies the files into the wheel through ``[tool.setuptools.package-data]``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from mirrorkit.errors import ConfigError, InputError, InvalidReference
from mirrorkit.imageset.issues import Issue, join
from mirrorkit.imageset.model import Mirror, spec
from mirrorkit.imageset.parse import load_document
from mirrorkit.imageset.validate import validate_mirror
from mirrorkit.oci.reference import ImageReference
from mirrorkit.semver import Version

PROFILE_API_VERSION = "mirrorkit/v1"
PROFILE_KIND = "Profile"
OCP_PLACEHOLDER = "{ocp}"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_OCP_RE = re.compile(r"^[1-9][0-9]*\.(0|[1-9][0-9]*)$")
_NPM_SPEC_RE = re.compile(r"^(?P<name>(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*)@(?P<version>[^@\s]+)$")

T = TypeVar("T")


@dataclass(frozen=True)
class _NpmSection:
    registry: str | None = spec("registry", str, required=True)
    packages: tuple[str, ...] | None = spec("packages", [str], required=True)


@dataclass(frozen=True)
class _CatalogIndexSection:
    image: str | None = spec("image", str, required=True)
    enable: tuple[str, ...] | None = spec("enable", [str], required=True)


@dataclass(frozen=True)
class _PluginsSection:
    oci: tuple[str, ...] | None = spec("oci", [str])
    catalog_index: _CatalogIndexSection | None = spec("catalogIndex", _CatalogIndexSection)


@dataclass(frozen=True)
class _ProfileDocument:
    """The profile file as written; :class:`Profile` is what the rest of mirrorkit uses."""

    api_version: str | None = spec("apiVersion", str, required=True)
    kind: str | None = spec("kind", str, required=True)
    name: str | None = spec("name", str, required=True)
    description: str | None = spec("description", str, required=True)
    release: str | None = spec("release", str, required=True)
    ocp: str | None = spec("ocp", str, required=True)
    mirror: Mirror | None = spec("mirror", Mirror, required=True)
    bundle_images: tuple[str, ...] | None = spec("bundleImages", [str])
    discover_images: bool | None = spec("discoverImages", bool)
    npm: _NpmSection | None = spec("npm", _NpmSection)
    plugins: _PluginsSection | None = spec("plugins", _PluginsSection)
    notes: tuple[str, ...] | None = spec("notes", [str])


@dataclass(frozen=True)
class Profile:
    """One release's mirroring needs. ``mirror`` still holds ``{ocp}``: use :meth:`mirror_for`."""

    name: str
    description: str
    release: str
    ocp: str
    mirror: Mirror
    bundle_images: tuple[str, ...] = ()
    #: Inspect the catalog's selected bundles for images outside relatedImages (``discoverImages``).
    discover_images: bool = True
    npm_registry: str = ""
    npm_packages: tuple[str, ...] = ()
    #: Dynamic plugins as OCI artifacts (``oci://REGISTRY/REPO:TAG!PACKAGE``).
    oci_plugins: tuple[str, ...] = ()
    #: A plugin catalog index image (``oci://...``) and the packages of it to carry.
    catalog_index: str = ""
    catalog_index_enable: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    source: str = ""

    def mirror_for(self, ocp: str | None = None) -> Mirror:
        """The ``mirror:`` section for OpenShift *ocp* (MAJOR.MINOR; default: the profile's)."""
        version = check_ocp(ocp) if ocp is not None else self.ocp
        return _substitute(self.mirror, OCP_PLACEHOLDER, version)

    def to_json(self) -> dict[str, Any]:
        """Summary for ``mirrorkit profiles --json``."""
        return {
            "name": self.name,
            "description": self.description,
            "release": self.release,
            "ocp": self.ocp,
            "bundleImages": list(self.bundle_images),
            "discoverImages": self.discover_images,
            "npmRegistry": self.npm_registry,
            "npmPackages": list(self.npm_packages),
            "ociPlugins": list(self.oci_plugins),
            "catalogIndex": {"image": self.catalog_index, "enable": list(self.catalog_index_enable)}
            if self.catalog_index
            else None,
            "source": self.source,
        }


def check_ocp(ocp: str) -> str:
    """*ocp* when it is an OpenShift MAJOR.MINOR such as 4.19; else an :class:`InputError`."""
    if not isinstance(ocp, str) or not _OCP_RE.match(ocp.strip().removeprefix("v")):
        raise InputError(f"invalid OpenShift version {ocp!r}", "expected MAJOR.MINOR", "Pass e.g. --ocp 4.19")
    return ocp.strip().removeprefix("v")


def _substitute(value: T, placeholder: str, replacement: str) -> T:
    if isinstance(value, str):
        return value.replace(placeholder, replacement)  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(_substitute(item, placeholder, replacement) for item in value)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _substitute(getattr(value, f.name), placeholder, replacement) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


def profiles_dir() -> Path:
    """The folder of curated profiles (``mirrorkit/imageset/profiles_data`` -> ``imagesets/``)."""
    return Path(str(resources.files("mirrorkit.imageset") / "profiles_data"))


def _is_path(name_or_path: str) -> bool:
    return "/" in name_or_path or "\\" in name_or_path or name_or_path.endswith((".yaml", ".yml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A curated profile by name (``rhdh-orchestrator-1.8``) or any profile file by path."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or _is_path(text) or Path(text).is_file():
        return load_profile_file(Path(text))
    path = profiles_dir() / f"{text}.yaml"
    if not _NAME_RE.match(text) or not path.is_file():
        names = ", ".join(p.name for p in list_profiles()) or "none installed"
        raise InputError(
            f"unknown profile {text!r}",
            f"available: {names}",
            "Run 'mirrorkit profiles' to list them, or pass the path of a profile file",
        )
    return load_profile_file(path, expect_name=text)


def list_profiles() -> list[Profile]:
    """Every curated profile, sorted by name."""
    folder = profiles_dir()
    if not folder.is_dir():
        return []
    return [load_profile_file(path, expect_name=path.stem) for path in sorted(folder.glob("*.yaml"))]


def load_profile_file(path: Path, *, expect_name: str | None = None) -> Profile:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"cannot read profile {source}", "no such file", "Pass a profile name from 'mirrorkit profiles' or an existing file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read profile {source}", str(exc), "Pass a readable YAML profile file") from None
    return loads_profile(text, source=source, expect_name=expect_name)


def loads_profile(text: str, *, source: str = "<string>", expect_name: str | None = None) -> Profile:
    """Parse and validate profile YAML; every problem is listed in one :class:`InvalidConfiguration`."""
    doc = load_document(
        _ProfileDocument,
        text,
        source=source,
        what="mirrorkit profile (see imagesets/README.md)",
        expected="a mirrorkit profile",
        check=lambda d: _check_document(d, expect_name),
    )
    npm = doc.npm or _NpmSection(registry="", packages=())
    plugins = doc.plugins or _PluginsSection()
    index = plugins.catalog_index or _CatalogIndexSection(image="", enable=())
    return Profile(
        name=doc.name or "",
        description=doc.description or "",
        release=doc.release or "",
        ocp=doc.ocp or "",
        mirror=doc.mirror or Mirror(),
        bundle_images=doc.bundle_images or (),
        discover_images=doc.discover_images is not False,
        npm_registry=(npm.registry or "").rstrip("/"),
        npm_packages=npm.packages or (),
        oci_plugins=plugins.oci or (),
        catalog_index=index.image or "",
        catalog_index_enable=index.enable or (),
        notes=doc.notes or (),
        source=source,
    )


def _check_document(doc: _ProfileDocument, expect_name: str | None) -> list[Issue]:
    issues: list[Issue] = []
    if doc.api_version is not None and doc.api_version != PROFILE_API_VERSION:
        issues.append(Issue("apiVersion", f"must be {PROFILE_API_VERSION}, got {doc.api_version!r}"))
    if doc.kind is not None and doc.kind != PROFILE_KIND:
        issues.append(Issue("kind", f"must be {PROFILE_KIND}, got {doc.kind!r}"))
    if doc.name is not None:
        if not _NAME_RE.match(doc.name):
            issues.append(Issue("name", f"{doc.name!r} must be lowercase letters, digits, '.', '_' or '-'"))
        elif expect_name is not None and doc.name != expect_name:
            issues.append(Issue("name", f"{doc.name!r} must match the file name {expect_name!r}"))
    ocp_ok = doc.ocp is not None and bool(_OCP_RE.match(doc.ocp))
    if doc.ocp is not None and not ocp_ok:
        issues.append(Issue("ocp", f"{doc.ocp!r} is not an OpenShift MAJOR.MINOR version such as '4.19'"))
    if doc.mirror is not None and ocp_ok:
        issues.extend(validate_mirror(_substitute(doc.mirror, OCP_PLACEHOLDER, doc.ocp or ""), "mirror"))
    seen: dict[str, int] = {}
    for index, ref in enumerate(doc.bundle_images or ()):
        where = join("bundleImages", index)
        try:
            parsed = ImageReference.parse(ref, require_registry=True)
        except InvalidReference as exc:
            issues.append(Issue(where, f"{ref!r} is not an image reference: {exc.why}"))
            continue
        if parsed.tag is None and parsed.digest is None:
            issues.append(Issue(where, f"{ref!r} needs a tag or digest so the same bundle is inspected every time"))
        if str(parsed) in seen:
            issues.append(Issue(where, f"{ref!r} duplicates {join('bundleImages', seen[str(parsed)])}; remove one"))
        seen.setdefault(str(parsed), index)
    if doc.npm is not None:
        _check_npm(doc.npm, issues)
    if doc.plugins is not None:
        _check_plugins(doc.plugins, issues)
    return issues


def _check_plugins(plugins: _PluginsSection, issues: list[Issue]) -> None:
    """Each OCI reference must parse as RHDH's installer reads it and pin a tag or digest."""
    from mirrorkit.plugins.reference import PluginRef

    refs = [(join("plugins.oci", i), ref) for i, ref in enumerate(plugins.oci or ())]
    if plugins.catalog_index is not None and plugins.catalog_index.image is not None:
        refs.append(("plugins.catalogIndex.image", plugins.catalog_index.image))
    seen: dict[str, str] = {}
    for where, ref in refs:
        try:
            PluginRef.parse(ref)
        except InputError as exc:
            issues.append(Issue(where, f"{exc.what}{': ' + exc.why if exc.why else ''}"))
            continue
        if ref in seen:
            issues.append(Issue(where, f"{ref!r} duplicates {seen[ref]}; remove one"))
        seen.setdefault(ref, where)
    if plugins.catalog_index is not None and plugins.catalog_index.image and "!" in plugins.catalog_index.image:
        issues.append(Issue("plugins.catalogIndex.image", "a catalog index image takes no !PACKAGE; list packages under enable"))


def _check_npm(npm: _NpmSection, issues: list[Issue]) -> None:
    if npm.registry is not None:
        parts = urlsplit(npm.registry)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            issues.append(Issue("npm.registry", f"{npm.registry!r} is not an http(s) URL, e.g. https://npm.registry.redhat.com"))
    names: dict[str, int] = {}
    for index, package in enumerate(npm.packages or ()):
        where = join("npm.packages", index)
        match = _NPM_SPEC_RE.match(package)
        if not match:
            issues.append(Issue(where, f"{package!r} must be NAME@VERSION, e.g. @redhat/backstage-plugin-orchestrator@1.8.0"))
            continue
        if Version.try_parse(match.group("version")) is None:
            issues.append(Issue(where, f"{package!r} must pin an exact semantic version, not {match.group('version')!r}"))
        name = match.group("name")
        if name in names:
            issues.append(Issue(where, f"{name!r} is already listed at {join('npm.packages', names[name])}; keep one version"))
        names.setdefault(name, index)
