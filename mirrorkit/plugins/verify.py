"""Target check for plugin images: present by digest is not enough, the copy must still hold each
package RHDH will extract from it (a repackaged or truncated artifact under the same name would
otherwise pass until the init container fails in the cluster)."""

from __future__ import annotations

import dataclasses
from typing import Any

from mirrorkit.bundle.manifest import ImageEntry
from mirrorkit.errors import MirrorkitError
from mirrorkit.oci.reference import ImageReference
from mirrorkit.plugins.artifact import PLATFORM, holds_package
from mirrorkit.report.model import CheckItem, Status


def check_plugin_content(client: Any, image: ImageEntry, location: str, item: CheckItem) -> CheckItem:
    """*item* (the image found at *location*) failed when a package of *image* is missing there."""
    from mirrorkit.plugins.mirrored import plugin_packages

    packages = plugin_packages(image)
    if not packages or item.status is not Status.PASSED:
        return item
    try:
        manifest = client.get_manifest(ImageReference.parse(location), PLATFORM)
        missing = [p for p in packages if not holds_package(client, manifest, p)]
    except MirrorkitError as exc:
        return dataclasses.replace(
            item, actual="unreadable", status=Status.FAILED, detail=f"plugin artifact at {location}: {exc}"
        )
    if missing:
        return dataclasses.replace(
            item,
            actual=f"present without package {', '.join(missing)}",
            status=Status.FAILED,
            detail=f"{location} no longer holds {', '.join(p + '/package.json' for p in missing)} in its first layer: "
            "run push again from a verified bundle",
        )
    return dataclasses.replace(item, actual=f"{item.actual}, holds {', '.join(packages)}")
