"""Everything INSTALL.md tells the administrator to apply, rendered by the real helm and validated
against the real schemas: the Helm flow, the Operator flow and the 1.7 -> 1.8 upgrade."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.errors import ConfigError
from mirrorkit.install import install_context, render_runbook, write_install_extras
from mirrorkit.install.values import write_dynamic_plugins_configmap, write_values
from mirrorkit.npm.index import IndexEntry, NpmIndex, read_index, write_index
from mirrorkit.ocmirror.result import ClusterResource
from tests.services.helmrepo import (
    ORCHESTRATOR_INFRA,
    ORCHESTRATOR_PLUGINS,
    RHDH,
    build_chart,
    expected_images,
    orchestrator_infra_chart,
    rhdh_chart,
)
from tests.services.schemas import BACKSTAGE_CRD, SchemaSet, chart_crds, load_documents, real_crds

SRC = "src.local:5000"
NPM = "http://npm.local:4873"
CS = "cs-redhat-operator-index-v4-19"
TOKEN = "npm-token-not-for-logs"
D = "sha256:" + "1" * 64


def _isc(operator_flow: bool) -> str:
    rhdh = "        - name: rhdh\n          channels:\n            - name: fast-1.8\n" if operator_flow else ""
    return (
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  operators:\n"
        "    - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19\n      packages:\n"
        "        - name: logic-operator-rhel8\n          channels:\n            - name: alpha\n"
        "        - name: serverless-operator\n          channels:\n            - name: stable\n" + rhdh
    )


def _manifest(operator_flow: bool) -> Manifest:
    bundles = [
        ("logic-operator-rhel8", "1.36.0", "logic-operator-rhel8.v1.36.0"),
        ("serverless-operator", "1.36.1", "serverless-operator.v1.36.1"),
    ]
    bundles += [("rhdh", "1.8.1", "rhdh-operator.v1.8.1")] if operator_flow else []
    images = tuple(
        ImageEntry(f"registry.redhat.io/x/{p}-bundle@{D}", D, kind="operator", package=p, version=v, bundle=b)
        for p, v, b in bundles
    )
    return Manifest(
        created="2026-12-03T10:00:00Z",
        mirrorkit_version="0",
        profile="rhdh-orchestrator-1.8",
        imageset_config=_isc(operator_flow),
        images=images,
    )


def _resources(out: Path) -> tuple[ClusterResource, ...]:
    folder = out / "cluster-resources"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{CS}.yaml").write_text(
        f"apiVersion: operators.coreos.com/v1alpha1\nkind: CatalogSource\nmetadata: {{name: {CS}}}\n"
    )
    return (
        ClusterResource(folder / f"{CS}.yaml", "operators.coreos.com/v1alpha1", "CatalogSource", CS, "openshift-marketplace"),
    )


def _index(tmp_path: Path, version: str) -> NpmIndex:
    folder = tmp_path / "npm-index"
    entries = [
        IndexEntry(
            name, version, f"sha512-{i}{version}", "0" * 40, 1, f"{name.rpartition('/')[2]}-{version}.tgz", "https://src/x.tgz"
        )
        for i, name in enumerate(ORCHESTRATOR_PLUGINS)
    ]
    write_index(NpmIndex(folder).with_entries(entries))
    return read_index(folder)


def _hand_out(out: Path, *, with_infra: bool = True) -> list[Path]:
    (out / "charts").mkdir(parents=True, exist_ok=True)
    specs = [rhdh_chart(SRC, "1.8.0")] + ([orchestrator_infra_chart(SRC)] if with_infra else [])
    paths = []
    for spec in specs:
        path = out / "charts" / spec.filename
        path.write_bytes(build_chart(spec))
        paths.append(path)
    return paths


def _helm(helm_bin: Path, *args: str) -> list[dict[str, Any]]:
    done = subprocess.run([str(helm_bin), "template", *args], capture_output=True, text=True, check=True)
    return load_documents(done.stdout)


def _images(docs: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "image" and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for doc in docs:
        if "helm.sh/hook" not in (doc.get("metadata", {}).get("annotations") or {}):
            walk(doc)
    return found


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def _runbook(out: Path, operator: bool, resources, written, **extra) -> str:
    """INSTALL.md for the demo release (the Operator or the Helm flow) written into *out*, checked to
    paste as is."""
    ctx = install_context(
        _manifest(operator),
        output=out,
        registry="mirror.local:5000",
        npm_registry=NPM,
        resources=resources,
        written=written,
        **extra,
    )
    text = render_runbook(ctx)
    _pastes_as_is(text)
    return text


def _pastes_as_is(text: str) -> None:
    """Every shell block parses (bash -n) and holds no `<placeholder>` a value mirrorkit knows could fill."""
    for block in _code_blocks(text):
        subprocess.run(["bash", "-n"], input=block, text=True, check=True)
        assert not re.search(r"<[a-z_-]+>", block), block


def _applied(out: Path, text: str) -> list[dict[str, Any]]:
    """Every object mirrorkit generated that the runbook applies: `oc apply -f FILE` files and `<<'EOF'`
    here-documents (oc-mirror's own cluster-resources/ are its output, checked by the oc-mirror tests)."""
    objects: list[dict[str, Any]] = []
    for block in _code_blocks(text):
        for line in block.splitlines():
            words = shlex.split(line) if line.startswith("oc apply") and "-f -" not in line else []
            if words and not words[-1].startswith("cluster-resources/"):
                objects += load_documents((out / words[-1]).read_text())
        for doc in re.findall(r"<<'EOF'\n(.*?)\nEOF", block, flags=re.S):
            objects += load_documents(doc)
    return objects


def _schemas(out: Path) -> SchemaSet:
    infra = out / "charts" / orchestrator_infra_chart(SRC).filename
    if not infra.exists():
        infra.parent.mkdir(parents=True, exist_ok=True)
        infra.write_bytes(build_chart(orchestrator_infra_chart(SRC)))
    return SchemaSet([BACKSTAGE_CRD, *chart_crds(infra), *real_crds()])


# ------------------------------------------------------------------------------------------- Helm flow
def test_helm_flow_everything_rendered_points_at_the_mirror_and_validates(tmp_path, helm_bin):
    out = tmp_path / "out"
    charts = _hand_out(out)
    resources = _resources(out)
    index = _index(tmp_path, "1.8.2")
    written = [write_values(index, NPM, out / "values.yaml"), *charts]
    written += write_install_extras(
        out, _manifest(False), charts=charts, resources=resources, index=index, npm_registry=NPM, npm_token=TOKEN
    )
    assert {p.name for p in written} >= {"infra-values.yaml", "dynamic-plugins-npmrc.yaml"}
    hub_chart, infra_chart = charts
    schemas = _schemas(out)

    infra = _helm(helm_bin, "orchestrator-infra", str(infra_chart), "-f", str(out / "infra-values.yaml"))
    subs = [d for d in infra if d["kind"] == "Subscription"]
    assert {(s["spec"]["name"], s["spec"]["source"], s["spec"]["sourceNamespace"], s["spec"]["startingCSV"]) for s in subs} == {
        ("serverless-operator", CS, "openshift-marketplace", "serverless-operator.v1.36.1"),
        ("logic-operator-rhel8", CS, "openshift-marketplace", "logic-operator-rhel8.v1.36.0"),
    }
    assert all(s["spec"]["installPlanApproval"] == "Manual" for s in subs)
    assert _images(infra) <= set(expected_images(SRC)[ORCHESTRATOR_INFRA, "1.8.0"])  # only what oc-mirror mirrored
    schemas.validate_all(d for d in infra if d["kind"] not in ("Job",))

    hub = _helm(
        helm_bin,
        "redhat-developer-hub",
        str(hub_chart),
        "-n",
        "rhdh",
        "-f",
        str(out / "values.yaml"),
        "--set",
        "orchestrator.enabled=true",
    )
    assert _images(hub) <= set(expected_images(SRC)[RHDH, "1.8.0"])
    configmap = next(d for d in hub if d["kind"] == "ConfigMap")
    plugins = yaml.safe_load(configmap["data"]["dynamic-plugins.yaml"])["plugins"]
    orchestrator = [p for p in plugins if "orchestrator" in p["package"]]
    assert len(orchestrator) == 4 and all(
        p["package"].startswith(NPM + "/@redhat/") and "-1.8.2.tgz" in p["package"] for p in orchestrator
    )
    assert "npm.registry.redhat.com" not in configmap["data"]["dynamic-plugins.yaml"]
    backend = next(p for p in orchestrator if p["package"].endswith("backend-dynamic-1.8.2.tgz"))
    assert backend["pluginConfig"]["orchestrator"]["dataIndexService"]["url"].endswith(".rhdh")  # tpl ran
    schemas.validate_all(d for d in hub if d["kind"] in ("ConfigMap", "SonataFlowPlatform"))

    text = _runbook(out, False, resources, written)
    schemas.validate_all(_applied(out, text))
    infra_at = text.index("helm install orchestrator-infra charts/redhat-developer-hub-orchestrator-infra-1.8.0.tgz")
    assert "-f infra-values.yaml" in text[infra_at : infra_at + 200]
    approve = text.index("approve_plan openshift-serverless serverless-operator.v1.36.1")
    assert infra_at < approve < text.index("helm install redhat-developer-hub charts/redhat-developer-hub-1.8.0.tgz")
    assert "approve_plan openshift-serverless-logic logic-operator-rhel8.v1.36.0" in text
    assert "oc wait sonataflowplatform/sonataflow-platform" in text and "sonataflow-platform-data-index-service" in text
    assert 'oc apply -n "$RHDH_NAMESPACE" -f dynamic-plugins-npmrc.yaml' in text
    npmrc = out / "dynamic-plugins-npmrc.yaml"
    assert npmrc.stat().st_mode & 0o777 == 0o600 and TOKEN in npmrc.read_text() and TOKEN not in text


def test_plugins_must_follow_the_chart_the_disagreement_names_both_versions(tmp_path):
    out = tmp_path / "out"
    charts = _hand_out(out, with_infra=False)
    with pytest.raises(ConfigError) as err:
        write_install_extras(
            out, _manifest(False), charts=charts, resources=_resources(out), index=_index(tmp_path, "1.8.0"), npm_registry=NPM
        )
    message = str(err.value)
    assert "redhat-developer-hub-1.8.0.tgz" in message
    assert "@redhat/backstage-plugin-orchestrator: the chart names 1.8.2, the bundle carries 1.8.0" in message


# --------------------------------------------------------------------------------------- Operator flow
def test_operator_flow_applies_only_objects_that_validate_and_keeps_the_secret_private(tmp_path):
    out = tmp_path / "out"
    resources = _resources(out)
    index = _index(tmp_path, "1.8.2")
    written = [write_dynamic_plugins_configmap(index, NPM, out / "dynamic-plugins.yaml")]
    extras = write_install_extras(
        out, _manifest(True), charts=(), resources=resources, index=index, npm_registry=NPM, npm_token=TOKEN
    )
    written += extras
    text = _runbook(out, True, resources, written)
    objects = _applied(out, text)
    _schemas(out).validate_all(objects)
    kinds = [o["kind"] for o in objects]
    for kind in ("KnativeServing", "KnativeEventing", "Subscription", "OperatorGroup", "ConfigMap", "Secret", "Backstage"):
        assert kind in kinds, kind
    assert kinds.index("Secret") < kinds.index("Backstage")  # what the CR names exists first
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    cr = by_name["Backstage", "developer-hub"]["spec"]["application"]
    assert cr["dynamicPluginsConfigMapName"] == "dynamic-plugins-rhdh" and ("ConfigMap", "dynamic-plugins-rhdh") in by_name
    assert [c["name"] for c in cr["appConfig"]["configMaps"]] == ["app-config-rhdh"] and (
        "ConfigMap",
        "app-config-rhdh",
    ) in by_name
    assert [s["name"] for s in cr["extraEnvs"]["secrets"]] == ["backend-auth-secret"]
    app_config = yaml.safe_load(by_name["ConfigMap", "app-config-rhdh"]["data"]["app-config.yaml"])
    assert app_config["backend"]["auth"]["externalAccess"][0]["options"]["token"] == "${BACKEND_SECRET}"
    assert ("Secret", "developer-hub-dynamic-plugins-npmrc") in by_name
    subs = [o for o in objects if o["kind"] == "Subscription"]
    assert {s["spec"]["source"] for s in subs} == {CS} and len(subs) == 3

    secret_file = out / "operator" / "backend-auth-secret.yaml"
    value = by_name["Secret", "backend-auth-secret"]["stringData"]["BACKEND_SECRET"]
    assert len(value) >= 32 and value not in text and TOKEN not in text
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert (out / "operator" / "dynamic-plugins-npmrc.yaml").stat().st_mode & 0o777 == 0o600
    # a second push into the same folder keeps the live secret; another folder gets another one
    write_install_extras(out, _manifest(True), charts=(), resources=resources, index=index, npm_registry=NPM)
    assert value in secret_file.read_text() and not (out / "operator" / "dynamic-plugins-npmrc.yaml").exists()
    other = tmp_path / "other"
    write_install_extras(other, _manifest(True), charts=(), resources=_resources(other), index=index, npm_registry=NPM)
    assert value not in (other / "operator" / "backend-auth-secret.yaml").read_text()


# --------------------------------------------------------------------------------------------- upgrade
def _merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON merge patch, as `oc patch --type merge` applies it."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge_patch(result[key], value)
        else:
            result[key] = value
    return result


def test_operator_upgrade_from_a_1_7_install_patches_the_subscriptions_it_finds(tmp_path):
    out = tmp_path / "out"
    resources = _resources(out)
    index = _index(tmp_path, "1.8.2")
    written = [write_dynamic_plugins_configmap(index, NPM, out / "dynamic-plugins.yaml")]
    written += write_install_extras(out, _manifest(True), charts=(), resources=resources, index=index, npm_registry=NPM)
    text = _runbook(out, True, resources, written, upgrade_from="1.7")
    assert "kind: Subscription" not in text and "an existing 1.7 install" in text
    patches = re.findall(r"oc patch subscription \"\$SUB\" -n (\S+) --type merge -p '(.*?)'", text)
    assert [ns for ns, _ in patches] == ["openshift-serverless-logic", "openshift-serverless", "rhdh-operator"]
    installed_1_7 = {  # what the 1.7 install created: the online catalog, the 1.7 channel
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": "rhdh", "namespace": "rhdh-operator"},
        "spec": {
            "name": "rhdh",
            "channel": "fast-1.7",
            "source": "redhat-operators",
            "sourceNamespace": "openshift-marketplace",
            "installPlanApproval": "Manual",
            "startingCSV": "rhdh-operator.v1.7.3",
        },
    }
    upgraded = _merge_patch(installed_1_7, json.loads(patches[-1][1]))
    _schemas(out).validate_all([upgraded])
    assert (upgraded["spec"]["channel"], upgraded["spec"]["source"]) == ("fast-1.8", CS)
    order = [
        text.index(s)
        for s in ("oc patch subscription", "approve_plan rhdh-operator rhdh-operator.v1.8.1", "-f dynamic-plugins.yaml")
    ]
    assert order == sorted(order)
    plugins = yaml.safe_load(yaml.safe_load((out / "dynamic-plugins.yaml").read_text())["data"]["dynamic-plugins.yaml"])[
        "plugins"
    ]
    assert all(p["package"].endswith("-1.8.2.tgz") for p in plugins)  # the docs' 1.8 upgrade: plugins at 1.8.2


def test_helm_upgrade_from_1_7_upgrades_both_releases_in_place(tmp_path, helm_bin):
    out = tmp_path / "out"
    charts = _hand_out(out)
    resources = _resources(out)
    index = _index(tmp_path, "1.8.2")
    written = [write_values(index, NPM, out / "values.yaml"), *charts]
    written += write_install_extras(out, _manifest(False), charts=charts, resources=resources, index=index, npm_registry=NPM)
    text = _runbook(out, False, resources, written, upgrade_from="1.7")
    assert "helm install" not in text
    order = [
        text.index("helm upgrade orchestrator-infra charts/redhat-developer-hub-orchestrator-infra-1.8.0.tgz"),
        text.index("approve_plan openshift-serverless serverless-operator.v1.36.1"),
        text.index("helm upgrade redhat-developer-hub charts/redhat-developer-hub-1.8.0.tgz"),
    ]
    assert order == sorted(order)
    # the 1.7 release's chart rendered with 1.8's values: the same values file fits both
    old = tmp_path / "rhdh-1.7.0.tgz"
    old.write_bytes(build_chart(rhdh_chart(SRC, "1.7.0")))
    hub = _helm(helm_bin, "redhat-developer-hub", str(old), "-f", str(out / "values.yaml"), "--set", "orchestrator.enabled=true")
    assert any(d["kind"] == "SonataFlowPlatform" for d in hub)


def test_the_schemas_catch_what_a_cluster_would_refuse(tmp_path):
    schemas = _schemas(tmp_path / "out")
    cr = {"apiVersion": "rhdh.redhat.com/v1alpha4", "kind": "Backstage", "metadata": {"name": "x"}}
    assert schemas.errors({**cr, "spec": {"application": {"extraEnvs": {"secrets": [{"name": "s"}]}}}}) == []
    assert schemas.errors({**cr, "spec": {"application": {"extraEnv": {}}}})  # misspelt: pruned by the real CRD
    sub = {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription", "metadata": {"name": "s"}}
    assert schemas.errors({**sub, "spec": {"name": "p", "source": "c", "sourceNamespace": "n"}}) == []
    # the real OLM CRD requires sourceNamespace and prunes a misspelt field (it has no enum for
    # installPlanApproval: OLM's controller, not the schema, refuses "manual")
    assert schemas.errors({**sub, "spec": {"name": "p", "source": "c", "sourceNamespce": "n"}})
    assert schemas.errors({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "datas": {"n": "1"}})
    assert schemas.errors({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c", "label": {}}, "type": "Opaque"})
    ks = {"apiVersion": "operator.knative.dev/v1beta1", "kind": "KnativeServing", "metadata": {"name": "k"}}
    assert schemas.errors({**ks, "spec": {"high-availability": {"replicas": 2}}}) == []
    assert schemas.errors({**ks, "spec": {"high-availability": {"replicas": "two"}}})
    assert schemas.errors({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"n": 1}})
    assert schemas.errors(
        {"apiVersion": "sonataflow.org/v1alpha08", "kind": "SonataFlowPlatform", "metadata": {"name": "s"}, "spec": []}
    )
