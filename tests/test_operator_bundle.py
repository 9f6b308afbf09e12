"""Operator bundle inspection against the real local registry, with bundle images built here.

The fixtures look like the Serverless Logic operator bundle the RHDH docs inspect with podman + yq:
`manifests/logic-operator-rhel8.clusterserviceversion.yaml`,
`manifests/logic-operator-rhel8-controllers-config_v1_configmap.yaml` (`controllers_cfg.yaml`), a CRD
and `metadata/annotations.yaml`.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import responses
import yaml

from mirrorkit.catalog.bundle_image import Source, collect_images, inspect_bundle, resolve_bundle_images
from mirrorkit.errors import InputError
from mirrorkit.oci.client import OciClient
from tests.services.images import make_layer, push_image, push_index, sha256_digest
from tests.services.registry import LocalRegistry

RH = "registry.redhat.io/openshift-serverless-1"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
OPERATOR = f"{RH}/logic-rhel8-operator@{D1}"
RBAC_PROXY = f"registry.redhat.io/openshift4/ose-kube-rbac-proxy-rhel9@{D2}"
CSV_FILE = "manifests/logic-operator-rhel8.clusterserviceversion.yaml"
CM_FILE = "manifests/logic-operator-rhel8-controllers-config_v1_configmap.yaml"
CRD_FILE = "manifests/sonataflow.org_sonataflows.yaml"
CFG = 'data["controllers_cfg.yaml"]'
DEPLOY = "spec.install.spec.deployments[0].spec.template.spec"


def logic_image(name: str, tag: str = "1.36.0") -> str:
    return f"{RH}/{name}:{tag}"


def csv_doc(related: list[str], *, version: str = "1.36.0") -> dict:
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {
            "name": f"logic-operator-rhel8.v{version}",
            "annotations": {"containerImage": OPERATOR, "repository": "https://github.com/apache/incubator-kie-tools"},
        },
        "spec": {
            "displayName": "OpenShift Serverless Logic Operator",
            "relatedImages": [{"name": f"img{i}", "image": ref} for i, ref in enumerate(related)],
            "install": {
                "strategy": "deployment",
                "spec": {
                    "deployments": [
                        {
                            "name": "logic-operator-rhel8-controller-manager",
                            "spec": {
                                "replicas": 1,
                                "template": {
                                    "spec": {
                                        "initContainers": [
                                            {"name": "init", "image": f"{RH}/logic-operator-init-rhel8:{version}"}
                                        ],
                                        "containers": [
                                            {
                                                "name": "kube-rbac-proxy",
                                                "image": RBAC_PROXY,
                                                "args": ["--secure-listen-address=0.0.0.0:8443"],
                                            },
                                            {
                                                "name": "manager",
                                                "image": OPERATOR,
                                                "env": [
                                                    {
                                                        "name": "POD_NAMESPACE",
                                                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                                                    },
                                                    {
                                                        "name": "RELATED_IMAGE_JOBS_SERVICE",
                                                        "value": logic_image("logic-jobs-service-ephemeral-rhel8"),
                                                    },
                                                    {"name": "WEBHOOK_URL", "value": "https://example.com/hook:443"},
                                                    {"name": "LOG_LEVEL", "value": "info"},
                                                ],
                                            },
                                        ],
                                    }
                                },
                            },
                        }
                    ]
                },
            },
        },
    }


def controllers_configmap(builder_tag: str = "1.36.0") -> dict:
    cfg = {
        "healthFailureThresholdDevMode": 50,
        "kanikoDefaultWarmerImageTag": "gcr.io/kaniko-project/warmer:v1.9.0",  # an image the docs' yq would list too
        "jobsServicePostgreSQLImageTag": logic_image("logic-jobs-service-postgresql-rhel8"),
        "jobsServiceEphemeralImageTag": logic_image("logic-jobs-service-ephemeral-rhel8"),
        "dataIndexPostgreSQLImageTag": logic_image("logic-data-index-postgresql-rhel8"),
        "dataIndexEphemeralImageTag": logic_image("logic-data-index-ephemeral-rhel8"),
        "dbMigratorToolImageTag": logic_image("logic-db-migrator-tool-rhel8"),
        "sonataFlowBaseBuilderImageTag": logic_image("logic-swf-builder-rhel8", builder_tag),
        "sonataFlowDevModeImageTag": logic_image("logic-swf-devmode-rhel8"),
        "builderConfigMapName": "logic-operator-rhel8-builder-config",
        "postgreSQLPersistenceExtensions": [
            {"groupId": "io.quarkus", "artifactId": "quarkus-jdbc-postgresql", "version": "3.8.6.redhat-00004"},
        ],
        "docsUrl": "https://docs.redhat.com/x:y",
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "logic-operator-rhel8-controllers-config"},
        "data": {"controllers_cfg.yaml": yaml.safe_dump(cfg, sort_keys=False)},
    }


def bundle_files(builder_tag: str = "1.36.0") -> dict[str, bytes | None]:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "sonataflows.sonataflow.org"},
        "spec": {
            "versions": [
                {"name": "v1alpha08", "schema": {"openAPIV3Schema": {"description": "image: quay.io/example/not-collected:1"}}}
            ]
        },
    }
    return {
        CSV_FILE: yaml.safe_dump(csv_doc([OPERATOR, RBAC_PROXY])).encode(),
        CM_FILE: yaml.safe_dump(controllers_configmap(builder_tag)).encode(),
        CRD_FILE: yaml.safe_dump(crd).encode(),
        "metadata/annotations.yaml": yaml.safe_dump(
            {
                "annotations": {
                    "operators.operatorframework.io.bundle.package.v1": "logic-operator-rhel8",
                    "operators.operatorframework.io.bundle.channels.v1": "alpha",
                    "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
                }
            }
        ).encode(),
        "root/buildinfo/content_manifests/logic-operator-bundle.json": b'{"image": "' + OPERATOR.encode() + b'"}',
    }


def expected_sources(builder_tag: str = "1.36.0") -> dict[str, set[Source]]:
    c = lambda path: Source(CSV_FILE, path)  # noqa: E731
    m = lambda key: Source(CM_FILE, f"{CFG}.{key}")  # noqa: E731
    return {
        OPERATOR: {
            c("metadata.annotations.containerImage"),
            c("spec.relatedImages[0].image"),
            c(f"{DEPLOY}.containers[1].image"),
        },
        RBAC_PROXY: {c("spec.relatedImages[1].image"), c(f"{DEPLOY}.containers[0].image")},
        f"{RH}/logic-operator-init-rhel8:1.36.0": {c(f"{DEPLOY}.initContainers[0].image")},
        logic_image("logic-jobs-service-ephemeral-rhel8"): {
            c(f"{DEPLOY}.containers[1].env[1].value"),
            m("jobsServiceEphemeralImageTag"),
        },
        "gcr.io/kaniko-project/warmer:v1.9.0": {m("kanikoDefaultWarmerImageTag")},
        logic_image("logic-jobs-service-postgresql-rhel8"): {m("jobsServicePostgreSQLImageTag")},
        logic_image("logic-data-index-postgresql-rhel8"): {m("dataIndexPostgreSQLImageTag")},
        logic_image("logic-data-index-ephemeral-rhel8"): {m("dataIndexEphemeralImageTag")},
        logic_image("logic-db-migrator-tool-rhel8"): {m("dbMigratorToolImageTag")},
        logic_image("logic-swf-builder-rhel8", builder_tag): {m("sonataFlowBaseBuilderImageTag")},
        logic_image("logic-swf-devmode-rhel8"): {m("sonataFlowDevModeImageTag")},
    }


def as_map(images) -> dict[str, set[Source]]:
    return {image.ref: set(image.sources) for image in images}


# -- pure collection -------------------------------------------------------------------------------


def test_collect_finds_exactly_the_expected_references_and_sources() -> None:
    images, warnings = collect_images({k: v for k, v in bundle_files().items() if k.startswith("manifests/")})
    assert as_map(images) == expected_sources()
    assert [i.ref for i in images] == sorted(expected_sources())
    assert warnings == ()


def test_configmap_json_values_multi_documents_and_plain_values() -> None:
    cm = {
        "kind": "ConfigMap",
        "data": {
            "images.json": json.dumps({"builders": [{"image": "quay.io/a/b:1"}, {"image": "not an image"}]}),
            "single": "quay.io/a/single@" + D1,
            "application.properties": "quarkus.container-image.image=quay.io/x/in-properties:1\nfoo=bar",
        },
    }
    csv = {"kind": "ClusterServiceVersion", "spec": {"relatedImages": [{"image": "quay.io/a/b:1"}, {"image": "bare-name:1"}]}}
    raw = (yaml.safe_dump(cm) + "---\n" + yaml.safe_dump(csv)).encode()
    images, warnings = collect_images({"manifests/all.yaml": raw, "manifests/broken.yaml": b"a: [unclosed"})
    assert as_map(images) == {
        "quay.io/a/b:1": {
            Source("manifests/all.yaml", 'document[0].data["images.json"].builders[0].image'),
            Source("manifests/all.yaml", "document[1].spec.relatedImages[0].image"),
        },
        f"quay.io/a/single@{D1}": {Source("manifests/all.yaml", 'document[0].data["single"]')},
    }
    assert len(warnings) == 1 and "manifests/broken.yaml" in warnings[0]


# -- against the real registry -------------------------------------------------------------------


@pytest.fixture
def client() -> OciClient:
    return OciClient()


@pytest.mark.integration
def test_oci_bundle_with_layers_overrides_and_whiteouts(registry: LocalRegistry, client: OciClient) -> None:
    files = bundle_files()
    base = make_layer(
        {
            **files,
            "manifests/old-extra_v1_configmap.yaml": yaml.safe_dump(
                {"kind": "ConfigMap", "data": {"x": "quay.io/old/removed-by-whiteout:1"}}
            ).encode(),
            "manifests/stale/cm.yaml": yaml.safe_dump(
                {"kind": "ConfigMap", "data": {"x": "quay.io/old/removed-by-opaque:1"}}
            ).encode(),
        }
    )
    # layer 2 overrides the controllers ConfigMap (builder 1.36.0-8) and deletes one file
    upper = make_layer(
        {CM_FILE: yaml.safe_dump(controllers_configmap("1.36.0-8")).encode(), "manifests/old-extra_v1_configmap.yaml": None}
    )
    # layer 3 makes manifests/stale opaque and adds a new file in it
    opaque = make_layer(
        {
            "manifests/stale/.wh..wh..opq": b"",
            "manifests/stale/new.yaml": yaml.safe_dump(
                {"kind": "ConfigMap", "data": {"x": "quay.io/new/added-in-layer3:1"}}
            ).encode(),
        }
    )
    pushed = push_image(registry.host, "bundles/oci-layers", "1.36.0", [base, upper, opaque])
    result = inspect_bundle(client, pushed.ref)
    expected = expected_sources("1.36.0-8")
    expected["quay.io/new/added-in-layer3:1"] = {Source("manifests/stale/new.yaml", 'data["x"]')}
    assert as_map(result.images) == expected
    assert result.digest == pushed.digest
    assert result.package == "logic-operator-rhel8"
    assert "manifests/old-extra_v1_configmap.yaml" not in result.files
    assert "manifests/stale/cm.yaml" not in result.files
    assert not any(f.startswith("root/") for f in result.files)


@pytest.mark.integration
def test_docker_manifest_list_picks_the_platform(registry: LocalRegistry, client: OciClient) -> None:
    amd = make_layer(bundle_files("1.36.0"))
    arm = make_layer(bundle_files("1.36.0-arm"))
    pushed = push_index(
        registry.host,
        "bundles/docker-multi",
        "1.36.0",
        layers_for={("linux", "amd64"): [amd], ("linux", "arm64"): [arm]},
        docker=True,
    )
    default = inspect_bundle(client, pushed.ref)
    assert as_map(default.images) == expected_sources("1.36.0")
    arm_result = inspect_bundle(client, pushed.ref, platform="linux/arm64")
    assert as_map(arm_result.images) == expected_sources("1.36.0-arm")
    assert default.digest != arm_result.digest
    assert client.resolve_digest(pushed.ref) == pushed.digest
    with pytest.raises(InputError, match=r"no linux/s390x manifest.*linux/amd64, linux/arm64"):
        inspect_bundle(client, pushed.ref, platform="linux/s390x")


@pytest.mark.integration
def test_docker_single_manifest_with_uncompressed_layer(registry: LocalRegistry, client: OciClient) -> None:
    pushed = push_image(registry.host, "bundles/docker-plain", "1", [make_layer(bundle_files(), gzip_it=False)], docker=True)
    assert as_map(inspect_bundle(client, pushed.ref).images) == expected_sources()
    assert resolve_bundle_images([pushed.ref, pushed.by_digest], client) == sorted(expected_sources())


@pytest.mark.integration
def test_bundle_labels_name_the_manifests_and_metadata_folders(registry: LocalRegistry, client: OciClient) -> None:
    """`operators.operatorframework.io.bundle.manifests.v1` (and `.metadata.v1`) say where the files are."""
    files = {
        path.replace("manifests/", "deploy/olm/", 1).replace("metadata/", "meta/", 1): data
        for path, data in bundle_files().items()
    }
    decoy = {
        "manifests/decoy_v1_configmap.yaml": yaml.safe_dump(
            {"kind": "ConfigMap", "data": {"x": "quay.io/decoy/not-the-bundle:1"}}
        ).encode()
    }
    labels = {
        "operators.operatorframework.io.bundle.manifests.v1": "deploy/olm/",
        "operators.operatorframework.io.bundle.metadata.v1": "meta/",
    }
    pushed = push_image(registry.host, "bundles/labelled", "1", [make_layer({**files, **decoy})], labels=labels)
    result = inspect_bundle(client, pushed.ref)
    expected = {
        ref: {Source(s.file.replace("manifests/", "deploy/olm/", 1), s.path) for s in sources}
        for ref, sources in expected_sources().items()
    }
    assert as_map(result.images) == expected
    assert result.package == "logic-operator-rhel8"
    assert not any(f.startswith("manifests/") for f in result.files)
    # an unsafe label falls back to the conventional manifests/ folder
    unsafe = push_image(
        registry.host,
        "bundles/labelled-unsafe",
        "1",
        [make_layer(bundle_files())],
        labels={"operators.operatorframework.io.bundle.manifests.v1": "../etc/"},
    )
    assert as_map(inspect_bundle(client, unsafe.ref).images) == expected_sources()


def _raw_tar(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for entry in entries:
            if isinstance(entry, tuple):
                tar.addfile(entry[0], io.BytesIO(entry[1]))
            else:
                tar.addfile(entry)
    return gzip.compress(raw.getvalue(), mtime=0)


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@pytest.mark.integration
def test_unsafe_entries_and_links_are_ignored(registry: LocalRegistry, client: OciClient) -> None:
    evil = yaml.safe_dump({"kind": "ConfigMap", "data": {"x": "quay.io/evil/image:1"}}).encode()
    link = tarfile.TarInfo("manifests/link.yaml")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("manifests/hard.yaml")
    hard.type, hard.linkname = tarfile.LNKTYPE, "manifests/x.yaml"
    layer = _raw_tar(
        [
            _file("./manifests/ok.yaml", yaml.safe_dump({"kind": "ConfigMap", "data": {"x": "quay.io/good/image:1"}}).encode()),
            _file("/manifests/absolute.yaml", evil),
            _file("manifests/../manifests/dotdot.yaml", evil),
            link,
            hard,
        ]
    )
    pushed = push_image(registry.host, "bundles/unsafe", "1", [layer])
    result = inspect_bundle(client, pushed.ref)
    assert result.refs == ("quay.io/good/image:1",)
    assert result.files == ("manifests/ok.yaml",)


# -- errors through the CLI: one line, the right exit code ----------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("layer", "code", "needle"),
    [
        (b"this is not a tar archive at all\n" * 40, 1, "is not a valid tar archive"),
        (gzip.compress(b"gzip, but no tar inside\n" * 40), 1, "is not a valid gzip-compressed tar archive"),
        (b"\x28\xb5\x2f\xfd" + b"\0" * 600, 1, "zstd-compressed"),
        (make_layer({"usr/share/doc/readme": b"not a bundle"}), 2, "has no manifests/ folder"),
    ],
    ids=["not-a-tar", "gzip-not-tar", "zstd", "no-manifests"],
)
def test_bad_bundles_give_a_clear_error(
    registry: LocalRegistry, cli_run: Callable[..., tuple[int, str, str]], layer: bytes, code: int, needle: str
) -> None:
    pushed = push_image(registry.host, "bundles/bad", sha256_digest(layer)[7:19], [layer])
    rc, out, err = cli_run("bundle-images", pushed.ref)
    assert rc == code, err
    assert needle in err and "Traceback" not in err
    assert err.count("\n") == 1 and out == ""


@pytest.mark.integration
def test_missing_image_and_missing_platform(registry: LocalRegistry, cli_run: Callable[..., tuple[int, str, str]]) -> None:
    rc, _, err = cli_run("bundle-images", f"{registry.host}/bundles/does-not-exist:1")
    assert rc == 1 and "not found in registry" in err
    pushed = push_index(registry.host, "bundles/multi-for-cli", "1")
    rc, _, err = cli_run("bundle-images", pushed.ref, "--platform", "linux/ppc64le")
    assert rc == 2 and "no linux/ppc64le manifest" in err and "--platform" in err
    rc, _, err = cli_run("bundle-images", pushed.ref, "--platform", "amd64")
    assert rc == 2 and "invalid platform" in err


@pytest.mark.integration
def test_cli_formats(registry: LocalRegistry, cli_run: Callable[..., tuple[int, str, str]]) -> None:
    pushed = push_image(registry.host, "bundles/cli-formats", "1.36.0", [make_layer(bundle_files())])
    rc, out, _ = cli_run("bundle-images", pushed.ref, "--format", "json")
    assert rc == 0
    data = json.loads(out)
    assert data["images"] == sorted(expected_sources())
    assert data["bundles"][0]["digest"] == pushed.digest
    rc, out, _ = cli_run("bundle-images", pushed.ref, "--format", "yaml")
    assert rc == 0
    snippet = yaml.safe_load(out)
    assert snippet == {"additionalImages": [{"name": ref} for ref in sorted(expected_sources())]}
    rc, out, _ = cli_run("bundle-images", pushed.ref)
    assert rc == 0
    assert f"    {CM_FILE}: {CFG}.sonataFlowBaseBuilderImageTag" in out
    assert out.splitlines()[0].startswith(f"# {pushed.ref} ({pushed.digest}) package logic-operator-rhel8")


@responses.activate
def test_cli_manifest_digest_mismatch(
    cli_run: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    body = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {}, "layers": []}'
    responses.get("https://quay.example.com/v2/", status=200)
    responses.get(
        "https://quay.example.com/v2/ns/bundle/manifests/1", body=body, headers={"Docker-Content-Digest": "sha256:" + "f" * 64}
    )
    rc, _, err = cli_run("bundle-images", "quay.example.com/ns/bundle:1")
    assert rc == 1 and "does not verify" in err and "Traceback" not in err


# -- the profile build uses bundle inspection ------------------------------------------------------


@pytest.mark.integration
def test_imageset_build_inspect_bundles_adds_only_missing_images(
    registry: LocalRegistry, tmp_path: Path, cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    pushed = push_image(registry.host, "bundles/for-profile", "1.36.0", [make_layer(bundle_files())])
    present = [logic_image("logic-swf-builder-rhel8"), logic_image("logic-swf-devmode-rhel8")]
    profile = {
        "apiVersion": "mirrorkit/v1",
        "kind": "Profile",
        "name": "bundle-test",
        "description": "bundle inspection test",
        "release": "1.8",
        "ocp": "4.19",
        "mirror": {"additionalImages": [{"name": ref} for ref in present]},
        "bundleImages": [pushed.ref],
    }
    path = tmp_path / "bundle-test.yaml"
    path.write_text(yaml.safe_dump(profile))
    rc, out, err = cli_run("imageset", "build", "--profile", str(path), "--install", "operator", "--discover")
    assert rc == 0, err
    names = [entry["name"] for entry in yaml.safe_load(out)["mirror"]["additionalImages"]]
    expected_added = sorted(set(expected_sources()) - set(present))
    assert names == present + expected_added
    assert f"added {len(expected_added)} image(s)" in err
    assert all(f"  added {ref}" in err for ref in expected_added)
    assert not any(f"  added {ref}" in err for ref in present)
    # without the flag the build stays offline and unchanged
    rc, out, err = cli_run("imageset", "build", "--profile", str(path), "--install", "operator")
    assert rc == 0 and [e["name"] for e in yaml.safe_load(out)["mirror"]["additionalImages"]] == present
