"""Settle what a pack (or a plan) carries: the final ImageSetConfiguration and the image plan behind it.

One function for ``mirrorkit pack`` and ``mirrorkit plan``, so the plan a user reads is the plan pack
follows. The order is what makes the result predictable:

1. the ``mirror:`` section: a profile for one install flow (:func:`mirrorkit.imageset.build_imageset`,
   with the images found in its ``bundleImages`` when bundle inspection is on) or the user's own file;
2. the catalog plan (:func:`mirrorkit.catalog.build_plan`) over that section: the bundles oc-mirror will
   select and, with discovery on, the images hidden in them outside relatedImages; and the images of
   its Helm charts, rendered with the real ``helm`` as oc-mirror renders them (:mod:`mirrorkit.helm`);
3. those discovered images appended to additionalImages (sorted, once each), so oc-mirror mirrors
   them like any other; the plan already names them with their provenance;
4. the OCI plugins (the profile's, its catalog index's selections, ``--plugin oci://...``), each
   checked to hold its package, appended last with the catalog index (:mod:`mirrorkit.plugins`).
   They are checked before the catalog plan: a wrong package name costs seconds, not a catalog read.

Discovery needs registry access to the catalog and bundle images; without operators nothing is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirrorkit.catalog import Plan, build_plan
from mirrorkit.catalog.discover import canonical
from mirrorkit.errors import InputError
from mirrorkit.helm import ChartSource, collect_chart_images
from mirrorkit.imageset import ImageSetConfig, build_imageset
from mirrorkit.imageset.model import AdditionalImage
from mirrorkit.install.charts import chart_plugin_versions, check_specs_follow_chart, read_chart_values
from mirrorkit.plugins import split_specs
from mirrorkit.plugins.plan import with_plugins
from mirrorkit.plugins.profile import SettledPlugins, settle_plugins


@dataclass(frozen=True)
class Settled:
    """The configuration to run, the plan behind it and where it came from."""

    profile: str
    config: ImageSetConfig
    plan: Plan
    added_images: tuple[str, ...] = ()
    npm_specs: tuple[str, ...] = ()
    npm_registry: str = ""
    source: str = ""
    #: OCI plugin artifacts and the catalog index, checked; already in ``config``'s additionalImages.
    plugins: SettledPlugins = dataclasses.field(default_factory=SettledPlugins)


def _with_discovered(config: ImageSetConfig, plan: Plan) -> tuple[ImageSetConfig, tuple[str, ...]]:
    mirror = config.mirror
    assert mirror is not None  # a loaded or built configuration always has one
    present = {canonical(image.name or "") for image in mirror.additional_images or ()}
    added = sorted({i.ref for i in plan.discovered_additional() if canonical(i.ref) not in present})
    if not added:
        return config, ()
    images = (*(mirror.additional_images or ()), *(AdditionalImage(name=ref) for ref in added))
    return dataclasses.replace(config, mirror=dataclasses.replace(mirror, additional_images=images)), tuple(added)


def settle(
    *,
    client: Any,
    profile: str | None = None,
    config: Path | None = None,
    ocp: str | None = None,
    install: str = "helm",
    extra_images: Sequence[str] = (),
    plugins: Sequence[str] = (),
    inspect_bundles: bool = True,
    platform: Any = None,
    progress: bool = False,
    tls_verify: bool = True,
    say: Callable[[str], None] = lambda _msg: None,
) -> Settled:
    """The configuration and plan for exactly one of *profile* and *config* (see the module docstring).

    *inspect_bundles* covers both the profile's ``bundleImages`` and catalog discovery; a profile can
    turn discovery off for itself with ``discoverImages: false``. *plugins* are ``--plugin`` specs:
    npm ones join the profile's npm packages, ``oci://`` ones its OCI plugins."""
    if (profile is None) == (config is None):
        raise InputError("pass exactly one of --profile and --config", hint="e.g. --profile rhdh-orchestrator-1.8")
    discover = inspect_bundles
    if profile is not None:
        from mirrorkit.imageset.profiles import load_profile

        loaded = load_profile(profile)
        resolver = None
        if inspect_bundles and loaded.bundle_images:
            from mirrorkit.catalog.bundle_image import resolve_bundle_images

            def resolver(refs: Sequence[str]) -> Sequence[str]:
                return resolve_bundle_images(refs, client, platform=platform)

        built = build_imageset(loaded, ocp=ocp, install=install, extra_images=extra_images, bundle_resolver=resolver)
        for ref in built.added_images:
            say(f"operator bundle adds {ref}")
        base, added = built.config, built.added_images
        discover = discover and loaded.discover_images
        name, npm, registry, source = (
            loaded.name,
            loaded.npm_packages,
            loaded.npm_registry,
            f"profile {loaded.name} ({loaded.source})",
        )
        oci, index, enable = loaded.oci_plugins, loaded.catalog_index, loaded.catalog_index_enable
    else:
        assert config is not None
        if not config.is_file():
            raise InputError(f"ImageSetConfiguration {config} does not exist", hint="pass an existing file with --config")
        if ocp is not None:
            raise InputError("--ocp applies to profiles only", hint="write the catalog tag into your ImageSetConfiguration")
        base, added = ImageSetConfig.load(config), ()
        name, npm, registry, source = "", (), "", str(config)
        oci, index, enable = (), "", ()
    assert base.mirror is not None
    extra_npm, extra_oci = split_specs(plugins)
    npm = (*npm, *(s for s in extra_npm if s not in npm))
    settled_plugins = settle_plugins(client, oci=(*oci, *extra_oci), catalog_index=index, enable=enable, say=say)

    def inspect(source: ChartSource, path: Path) -> None:
        """Plugins follow the chart: the specs carried must resolve to the Orchestrator plugin versions
        the chart's default values name (checked as each chart is pulled, before anything is mirrored)."""
        if path.is_file():
            chart = f"{source.name} {source.version or ''}".strip()
            check_specs_follow_chart(chart, chart_plugin_versions(read_chart_values(path)), npm)

    charts = collect_chart_images(base.mirror.helm, tls_verify=tls_verify, say=say, inspect=inspect)
    # without operators the plan reads nothing (it lists the additional images)
    plan = build_plan(base.mirror, client, platform=platform, discover=discover, progress=progress, charts=charts)
    if base.operators:
        base, discovered = _with_discovered(base, plan)
        for ref in discovered:
            origin = plan.classify(ref)
            where = f" ({origin.package} {origin.version}, bundle {origin.bundle})" if origin and origin.bundle else ""
            say(f"catalog discovery adds {ref}{where}")
        added = (*added, *discovered)
    base = with_plugins(base, settled_plugins.images)
    return Settled(name, base, plan, tuple(added), tuple(npm), registry, source, settled_plugins)
