"""Source content with the real shape of a curated profile: operators from an FBC catalog, Helm charts
from an HTTP chart repository, additionalImages and npm plugins, all on local services.

Used by scripts/demo.py and the end-to-end tests, so both run what users of the curated profiles run:

* an operator index image (tests/services/catalog.py, ``rhdh_like_packages``): logic-operator-rhel8,
  serverless-operator, rhdh and decoys, several channels and versions, bundles with relatedImages by
  digest, the Serverless Logic bundle naming more images in its controllers ConfigMap;
* a Helm repository on 127.0.0.1 (tests/services/helmrepo.py) with redhat-developer-hub 1.7.0 and
  1.8.0, the orchestrator-infra chart and a library chart, whose images are in the source registry;
* an additional image and the four Orchestrator plugins on the source npm server, at the version
  the hub chart's default values name (the plugins follow the chart, as push checks).

The profile selects like the curated one: logic-operator-rhel8 1.36.0 (alpha), serverless-operator
1.36.0 to 1.36.1 (stable), charts 1.8.0; ``--install operator`` adds rhdh fast-1.8 (head 1.8.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.services.catalog import BuiltCatalog, build_catalog, rhdh_like_packages
from tests.services.demo_content import PLUGINS
from tests.services.helmrepo import (
    CHART_PLUGIN_VERSIONS,
    ORCHESTRATOR_INFRA,
    RHDH,
    HelmRepo,
    default_charts,
    expected_images,
    push_default_images,
    start_helm_repo,
)
from tests.services.images import PushedImage, push_image
from tests.services.npmpkg import NpmTarball, make_tarball, npm_publish

CATALOG_REPO = "redhat/redhat-operator-index"
CATALOG_TAG = "v4.19"
#: (package, versions) the profile selects in each flow.
SELECTED = {
    "helm": {"logic-operator-rhel8": ("1.36.0",), "serverless-operator": ("1.36.0", "1.36.1")},
    "operator": {"logic-operator-rhel8": ("1.36.0",), "serverless-operator": ("1.36.0", "1.36.1"), "rhdh": ("1.8.1",)},
}
CHARTS = (RHDH, ORCHESTRATOR_INFRA)
CHART_VERSION = "1.8.0"
#: The plugins follow the chart: the version its default orchestrator.plugins name (1.8.2 for 1.8.0).
PLUGIN_VERSION = CHART_PLUGIN_VERSIONS[CHART_VERSION]


@dataclass(frozen=True)
class OrchestratorSources:
    """What was put into the source services (the Helm repository keeps serving until ``stop()``)."""

    registry_host: str
    catalog: BuiltCatalog
    helm: HelmRepo
    additional: PushedImage
    npm_registry: str
    npm_packages: tuple[NpmTarball, ...]

    def stop(self) -> None:
        self.helm.stop()

    @property
    def npm_specs(self) -> tuple[str, ...]:
        return tuple(f"{t.name}@{t.version}" for t in self.npm_packages)

    def operator_images(self, install: str = "helm") -> set[str]:
        """Bundle and related images (by digest) of the bundles the flow selects."""
        return {ref for package, versions in SELECTED[install].items() for ref in self.catalog.images_of(package, *versions)}

    def unselected_images(self, install: str = "helm") -> set[str]:
        return self.catalog.all_images() - self.operator_images(install)

    def discovered_images(self, install: str = "helm") -> set[str]:
        """Images named only in the selected bundles' ConfigMaps (catalog discovery must add them)."""
        return {
            ref
            for package, versions in SELECTED[install].items()
            for version in versions
            for ref in self.catalog.bundle(package, version).config_images
        }

    def undiscovered_images(self) -> set[str]:
        """ConfigMap images of bundles no flow selects (must never be mirrored)."""
        every = {ref for b in self.catalog.bundles for ref in b.config_images}
        return every - self.discovered_images("operator")

    def chart_images(self) -> set[str]:
        return {ref for chart in CHARTS for ref in expected_images(self.registry_host)[chart, CHART_VERSION]}

    def unselected_chart_images(self) -> set[str]:
        every = {ref for refs in expected_images(self.registry_host).values() for ref in refs}
        return every - self.chart_images()


def fill_orchestrator_sources(registry_host: str, npm_url: str, npm_token: str, workdir: Path) -> OrchestratorSources:
    """Fill the source registry and npm server and start the chart repository (see the module docstring)."""
    catalog = build_catalog(registry_host, CATALOG_REPO, CATALOG_TAG, rhdh_like_packages())
    push_default_images(registry_host)
    helm = start_helm_repo(workdir / "charts", default_charts(registry_host))
    additional = push_image(registry_host, "rhdh/rhdh-hub-rhel9", "1.8-additional")
    plugins = tuple(make_tarball(name, PLUGIN_VERSION, payload_size=64 * 1024) for name in PLUGINS)
    for tarball in plugins:
        npm_publish(npm_url, npm_token, tarball, workdir / "npm")
    return OrchestratorSources(registry_host, catalog, helm, additional, npm_url, plugins)


def write_orchestrator_profile(sources: OrchestratorSources, path: Path, name: str = "rhdh-orchestrator-demo") -> Path:
    """A profile in the imagesets/ format, shaped like rhdh-orchestrator-1.8, on the local services."""
    doc = {
        "apiVersion": "mirrorkit/v1",
        "kind": "Profile",
        "name": name,
        "description": "RHDH Orchestrator in miniature: operators from an FBC catalog, Helm charts, plugins",
        "release": "1.8",
        "ocp": "4.19",
        "mirror": {
            "additionalImages": [{"name": sources.additional.ref}],
            "operators": [
                {
                    "catalog": f"{sources.registry_host}/{CATALOG_REPO}:v{{ocp}}",
                    "packages": [
                        {
                            "name": "logic-operator-rhel8",
                            "channels": [{"name": "alpha", "minVersion": "1.36.0", "maxVersion": "1.36.0"}],
                        },
                        {
                            "name": "serverless-operator",
                            "channels": [{"name": "stable", "minVersion": "1.36.0", "maxVersion": "1.36.1"}],
                        },
                    ],
                }
            ],
            "helm": {
                "repositories": [
                    {
                        "name": "openshift-charts",
                        "url": sources.helm.url,
                        "charts": [{"name": chart, "version": CHART_VERSION} for chart in CHARTS],
                    }
                ]
            },
        },
        "npm": {"registry": sources.npm_registry, "packages": list(sources.npm_specs)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
