"""The ImageSetConfiguration (mirror.openshift.io/v2alpha1) as frozen values.

Every field carries its canonical camelCase key, its kind and whether oc-mirror needs it, in the
dataclass field metadata. One generic reader (:mod:`.parse`) and one generic writer (:mod:`.render`)
walk that metadata, so the key order of the written YAML is the field order below (oc-mirror's own
struct order) and adding a field is a one-line change.

``None`` means "not written in the file": oc-mirror distinguishes an omitted ``charts`` (every chart
of the repository) from an empty one, so the model keeps that difference instead of defaulting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

API_VERSION = "mirror.openshift.io/v2alpha1"
KIND = "ImageSetConfiguration"


def spec(key: str, kind: Any, *, required: bool = False) -> Any:
    """A dataclass field that maps to YAML key *key*; *kind* is str, bool, int, a model class or [kind]."""
    return field(default=None, metadata={"key": key, "kind": kind, "required": required})


@dataclass(frozen=True)
class PlatformChannel:
    name: str | None = spec("name", str, required=True)
    type: str | None = spec("type", str)
    min_version: str | None = spec("minVersion", str)
    max_version: str | None = spec("maxVersion", str)
    shortest_path: bool | None = spec("shortestPath", bool)
    full: bool | None = spec("full", bool)


@dataclass(frozen=True)
class PlatformTarget:
    os: str | None = spec("os", str, required=True)
    architecture: str | None = spec("architecture", str, required=True)


@dataclass(frozen=True)
class Platform:
    graph: bool | None = spec("graph", bool)
    architectures: tuple[str, ...] | None = spec("architectures", [str])
    platforms: tuple[PlatformTarget, ...] | None = spec("platforms", [PlatformTarget])
    channels: tuple[PlatformChannel, ...] | None = spec("channels", [PlatformChannel])
    release: str | None = spec("release", str)  # disk-to-mirror: a release payload already on disk
    kube_virt_container: bool | None = spec("kubeVirtContainer", bool)  # also the payload's KubeVirt image


@dataclass(frozen=True)
class Channel:
    name: str | None = spec("name", str, required=True)
    min_version: str | None = spec("minVersion", str)
    max_version: str | None = spec("maxVersion", str)


@dataclass(frozen=True)
class Package:
    name: str | None = spec("name", str, required=True)
    default_channel: str | None = spec("defaultChannel", str)
    min_version: str | None = spec("minVersion", str)
    max_version: str | None = spec("maxVersion", str)
    channels: tuple[Channel, ...] | None = spec("channels", [Channel])


@dataclass(frozen=True)
class Operator:
    catalog: str | None = spec("catalog", str, required=True)
    target_catalog: str | None = spec("targetCatalog", str)
    target_tag: str | None = spec("targetTag", str)
    full: bool | None = spec("full", bool)
    packages: tuple[Package, ...] | None = spec("packages", [Package])
    skip_dependencies: bool | None = spec("skipDependencies", bool)
    target_catalog_source_template: str | None = spec("targetCatalogSourceTemplate", str)
    platforms: tuple[PlatformTarget, ...] | None = spec("platforms", [PlatformTarget])


@dataclass(frozen=True)
class AdditionalImage:
    name: str | None = spec("name", str, required=True)
    target_repo: str | None = spec("targetRepo", str)
    target_tag: str | None = spec("targetTag", str)
    platforms: tuple[PlatformTarget, ...] | None = spec("platforms", [PlatformTarget])


@dataclass(frozen=True)
class Chart:
    name: str | None = spec("name", str, required=True)
    version: str | None = spec("version", str)
    path: str | None = spec("path", str)  # oc-mirror's one Chart type serves repository and local charts
    image_paths: tuple[str, ...] | None = spec("imagePaths", [str])
    platforms: tuple[PlatformTarget, ...] | None = spec("platforms", [PlatformTarget])


@dataclass(frozen=True)
class HelmRepository:
    name: str | None = spec("name", str, required=True)
    url: str | None = spec("url", str, required=True)
    charts: tuple[Chart, ...] | None = spec("charts", [Chart])


@dataclass(frozen=True)
class LocalChart:
    name: str | None = spec("name", str, required=True)
    version: str | None = spec("version", str)  # oc-mirror's local charts are Charts too
    path: str | None = spec("path", str, required=True)
    image_paths: tuple[str, ...] | None = spec("imagePaths", [str])
    platforms: tuple[PlatformTarget, ...] | None = spec("platforms", [PlatformTarget])


@dataclass(frozen=True)
class Helm:
    repositories: tuple[HelmRepository, ...] | None = spec("repositories", [HelmRepository])
    local: tuple[LocalChart, ...] | None = spec("local", [LocalChart])


@dataclass(frozen=True)
class BlockedImage:
    name: str | None = spec("name", str, required=True)


@dataclass(frozen=True)
class SampleImage:
    """oc-mirror declares ``mirror.samples`` but does not implement it; accepted and carried as written."""

    name: str | None = spec("name", str, required=True)


@dataclass(frozen=True)
class Mirror:
    platform: Platform | None = spec("platform", Platform)
    operators: tuple[Operator, ...] | None = spec("operators", [Operator])
    additional_images: tuple[AdditionalImage, ...] | None = spec("additionalImages", [AdditionalImage])
    helm: Helm | None = spec("helm", Helm)
    blocked_images: tuple[BlockedImage, ...] | None = spec("blockedImages", [BlockedImage])
    samples: tuple[SampleImage, ...] | None = spec("samples", [SampleImage])


@dataclass(frozen=True)
class ImageSetData:
    """The document's values; :class:`mirrorkit.imageset.config.ImageSetConfig` adds load, validate
    and render (kept apart so that :mod:`.validate` checks the values without importing the loader)."""

    #: keys that belong to another document kind: named with oc-mirror's own refusal, not "unknown key"
    REFUSED_KEYS: ClassVar[dict[str, str]] = {
        "delete": (
            'is not allowed in an ImageSetConfiguration (oc-mirror: "delete: is not allowed in '
            'ImageSetConfiguration"); put what to delete in a DeleteImageSetConfiguration file'
        ),
    }

    api_version: str | None = spec("apiVersion", str, required=True)
    kind: str | None = spec("kind", str, required=True)
    archive_size: int | None = spec("archiveSize", int)
    mirror: Mirror | None = spec("mirror", Mirror, required=True)

    # -- accessors the other commands use --
    @property
    def additional_images(self) -> list[str]:
        """The names under ``mirror.additionalImages``, in file order."""
        images: tuple[AdditionalImage, ...] = (self.mirror.additional_images or ()) if self.mirror else ()
        return [image.name for image in images if image.name is not None]

    @property
    def operators(self) -> tuple[Operator, ...]:
        return (self.mirror.operators or ()) if self.mirror else ()

    @property
    def helm(self) -> Helm | None:
        return self.mirror.helm if self.mirror else None

    @property
    def platform(self) -> Platform | None:
        return self.mirror.platform if self.mirror else None
