"""Demo content for local source services: what the RHDH Orchestrator release looks like, in miniature.

Used by scripts/demo.py, the end-to-end tests and the benchmarks, so all three exercise the same
shape of data: a few application images (one multi-arch), an operator bundle image whose
ClusterServiceVersion and controllers ConfigMap name more images (as the Serverless Logic
operator's bundle does), and a few NPM plugins named like the Orchestrator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.services.images import PushedImage, make_layer, push_image, push_index
from tests.services.npmpkg import NpmTarball, make_tarball, npm_publish

SERVERLESS_VERSION = "1.36.0"
RHDH_VERSION = "1.8.0"

#: Images the controllers ConfigMap names (the docs' yq expression finds these).
LOGIC_IMAGES = (
    "logic-swf-builder-rhel8",
    "logic-swf-devmode-rhel8",
    "logic-data-index-postgresql-rhel8",
    "logic-jobs-service-postgresql-rhel8",
    "logic-db-migrator-tool-rhel8",
)

PLUGINS = (
    "@redhat/backstage-plugin-orchestrator",
    "@redhat/backstage-plugin-orchestrator-backend-dynamic",
    "@redhat/backstage-plugin-scaffolder-backend-module-orchestrator-dynamic",
    "@redhat/backstage-plugin-orchestrator-form-widgets",
)


@dataclass(frozen=True)
class DemoContent:
    """What was put into the source services."""

    registry_host: str
    images: tuple[PushedImage, ...]
    bundle_image: PushedImage
    operator_image: PushedImage
    logic_images: tuple[PushedImage, ...]
    npm_registry: str
    npm_packages: tuple[NpmTarball, ...]

    @property
    def npm_specs(self) -> tuple[str, ...]:
        return tuple(f"{t.name}@{t.version}" for t in self.npm_packages)


def _csv(host: str, operator: str, related: list[str]) -> dict:
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": f"logic-operator-rhel8.v{SERVERLESS_VERSION}",
            "annotations": {"containerImage": operator},
        },
        "spec": {
            "relatedImages": [{"name": "manager", "image": operator}]
            + [{"name": r.rpartition("/")[2].partition(":")[0], "image": r} for r in related[:1]],
            "install": {
                "strategy": "deployment",
                "spec": {
                    "deployments": [
                        {
                            "name": "logic-operator-rhel8-controller-manager",
                            "spec": {
                                "template": {
                                    "spec": {
                                        "containers": [
                                            {
                                                "name": "manager",
                                                "image": operator,
                                                "env": [{"name": "RELATED_IMAGE_MANAGER", "value": operator}],
                                            }
                                        ]
                                    }
                                }
                            },
                        }
                    ]
                },
            },
        },
    }


def _controllers_configmap(images: dict[str, str]) -> dict:
    cfg = {
        "healthFailureThresholdDevMode": 50,
        "jobsServicePostgreSQLImageTag": images["logic-jobs-service-postgresql-rhel8"],
        "dataIndexPostgreSQLImageTag": images["logic-data-index-postgresql-rhel8"],
        "dbMigratorToolImageTag": images["logic-db-migrator-tool-rhel8"],
        "sonataFlowBaseBuilderImageTag": images["logic-swf-builder-rhel8"],
        "sonataFlowDevModeImageTag": images["logic-swf-devmode-rhel8"],
        "builderConfigMapName": "logic-operator-rhel8-builder-config",
        "postgreSQLPersistenceExtensions": [
            {"groupId": "io.quarkus", "artifactId": "quarkus-jdbc-postgresql", "version": "3.8.6"}
        ],
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "logic-operator-rhel8-controllers-config"},
        "data": {"controllers_cfg.yaml": yaml.safe_dump(cfg, sort_keys=True)},
    }


def push_demo_images(host: str) -> tuple[tuple[PushedImage, ...], PushedImage, PushedImage, tuple[PushedImage, ...]]:
    """Push the demo images; returns (all images, bundle image, operator image, logic images)."""
    v = SERVERLESS_VERSION
    logic = tuple(push_image(host, f"openshift-serverless-1/{name}", v) for name in LOGIC_IMAGES)
    operator = push_image(host, "openshift-serverless-1/logic-rhel8-operator", v)
    hub = push_index(host, "rhdh/rhdh-hub-rhel9", RHDH_VERSION)
    logic_by_name = {img.repo.rpartition("/")[2]: img.ref for img in logic}
    manifests = {
        "manifests/logic-operator-rhel8.clusterserviceversion.yaml": yaml.safe_dump(_csv(host, operator.ref, [hub.ref])).encode(),
        "manifests/logic-operator-rhel8-controllers-config_v1_configmap.yaml": yaml.safe_dump(
            _controllers_configmap(logic_by_name)
        ).encode(),
        "metadata/annotations.yaml": yaml.safe_dump(
            {
                "annotations": {
                    "operators.operatorframework.io.bundle.package.v1": "logic-operator-rhel8",
                    "operators.operatorframework.io.bundle.channels.v1": "alpha",
                }
            }
        ).encode(),
    }
    bundle = push_image(host, "openshift-serverless-1/logic-operator-bundle", v, [make_layer(manifests)])
    return (hub, operator, *logic, bundle), bundle, operator, logic


def publish_demo_plugins(npm_url: str, token: str, workdir: Path, payload_size: int = 64 * 1024) -> tuple[NpmTarball, ...]:
    tarballs = tuple(make_tarball(name, RHDH_VERSION, payload_size=payload_size) for name in PLUGINS)
    for tarball in tarballs:
        npm_publish(npm_url, token, tarball, workdir)
    return tarballs


def fill_demo_sources(registry_host: str, npm_url: str, npm_token: str, workdir: Path) -> DemoContent:
    images, bundle, operator, logic = push_demo_images(registry_host)
    packages = publish_demo_plugins(npm_url, npm_token, workdir)
    return DemoContent(registry_host, images, bundle, operator, logic, npm_url, packages)


def write_demo_profile(content: DemoContent, path: Path, name: str = "rhdh-orchestrator-demo") -> Path:
    """A profile in the imagesets/ format pointing at the local source services."""
    doc = {
        "apiVersion": "mirrorkit/v1",
        "kind": "Profile",
        "name": name,
        "description": "RHDH Orchestrator in miniature, served by local demo registries",
        "release": "1.8",
        "ocp": "4.19",
        "mirror": {"additionalImages": [{"name": content.images[0].ref}, {"name": content.operator_image.ref}]},
        "bundleImages": [content.bundle_image.ref],
        "npm": {"registry": content.npm_registry, "packages": list(content.npm_specs)},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
