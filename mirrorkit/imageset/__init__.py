"""ImageSetConfiguration (oc-mirror v2) model, validation, canonical rendering and the profile builder.

Modules: :mod:`.model` (frozen values), :mod:`.parse` (YAML -> model, case-insensitive keys),
:mod:`.validate` (oc-mirror's rules and more), :mod:`.render` (canonical YAML), :mod:`.config`
(:class:`ImageSetConfig`), :mod:`.build` (profile -> config).
"""

from __future__ import annotations

from mirrorkit.imageset.build import INSTALL_FLOWS, BuildResult, BundleResolver, build_imageset, mirror_for_flow
from mirrorkit.imageset.config import ImageSetConfig
from mirrorkit.imageset.issues import InvalidConfiguration, Issue
from mirrorkit.imageset.model import (
    API_VERSION,
    KIND,
    AdditionalImage,
    BlockedImage,
    Channel,
    Chart,
    Helm,
    HelmRepository,
    LocalChart,
    Mirror,
    Operator,
    Package,
    Platform,
    PlatformChannel,
    PlatformTarget,
    SampleImage,
)

__all__ = [
    "API_VERSION",
    "INSTALL_FLOWS",
    "KIND",
    "AdditionalImage",
    "BlockedImage",
    "BuildResult",
    "BundleResolver",
    "Channel",
    "Chart",
    "Helm",
    "HelmRepository",
    "ImageSetConfig",
    "InvalidConfiguration",
    "Issue",
    "LocalChart",
    "Mirror",
    "Operator",
    "Package",
    "Platform",
    "PlatformChannel",
    "PlatformTarget",
    "SampleImage",
    "build_imageset",
    "mirror_for_flow",
]
