"""The real schemas of what the runbook tells the administrator to apply, and a validator for them.

Where each schema comes from (pins in scripts/tools.env, "schemas"; scripts/setup.sh fetches them into
the Go module cache with ``go mod download``):

- Namespace, ConfigMap, Secret: the Kubernetes OpenAPI v3 spec, ``k8s.io/kubernetes@v1.32.5``
  ``api/openapi-spec/v3/api__v1_openapi.json`` (its ``$ref`` s resolved with ``referencing``).
- Subscription, OperatorGroup (and CatalogSource): the OLM CRDs, ``github.com/operator-framework/api@v0.34.0``
  ``crds/operators.coreos.com_{subscriptions,operatorgroups,catalogsources}.yaml``.
- KnativeServing, KnativeEventing: ``knative.dev/operator@v0.42.2``
  ``config/crd/bases/operator.knative.dev_{knativeservings,knativeeventings}.yaml`` (the newest release
  the Go module proxy serves; it refuses v0.43.0 on).
- SonataFlowPlatform: NOT the real CRD: the one under the orchestrator-infra test chart's ``crds/``
  (``tests/services/helmrepo.py``). The proxy refuses the operator modules that carry the generated CRD
  (``github.com/kiegroup/kogito-serverless-operator``, ``github.com/apache/incubator-kie-kogito-serverless-operator``,
  their ``/api`` modules at every version asked but one); the one it serves,
  ``github.com/kiegroup/kogito-serverless-operator/api@v1.44.1``, run through controller-gen v0.16.5, gives a
  CRD without ``spec.services``, which Serverless Logic 1.36 accepts and the chart sets.
- Backstage: NOT the real CRD. The proxy refuses ``github.com/redhat-developer/rhdh-operator`` at every
  version asked (v1.8.1, v1.8.0, v1.7.0, a commit; 403 "This module version is not available.") and
  ``github.com/janus-idp/operator``, and no other registry ships it, so ``BACKSTAGE_CRD`` below stays
  cut down by hand from the shape the operator ships (group, version, kind and the fields mirrorkit
  writes).

The validator is ``jsonschema`` (Draft 7). Each schema is read as the API server reads it: OpenAPI's
``nullable`` admits null, ``x-kubernetes-*`` keywords are annotations, and an object schema with
``properties`` and no ``additionalProperties`` or ``x-kubernetes-preserve-unknown-fields`` refuses
unknown fields (a CRD's structural schema prunes them and strict field validation refuses them; for core
objects this is ``kubectl --validate=strict``), so a misspelt field fails instead of vanishing.

A schema source that is not on the machine skips the tests that need it with the command that fetches
it, and fails them under CI=true.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import subprocess
import tarfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS_ENV = ROOT / "scripts" / "tools.env"
_K8S_URI = "urn:mirrorkit:kubernetes-openapi-v3:api/v1"

_META = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"}, "namespace": {"type": "string"}},
}


def pins() -> dict[str, str]:
    """KEY=VALUE lines of scripts/tools.env."""
    out = {}
    for line in TOOLS_ENV.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = " ".join(shlex.split(value))
    return out


def _missing(what: str) -> None:
    message = f"schema source missing: {what}; run scripts/setup.sh"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@cache
def _gomodcache() -> Path:
    try:
        done = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        _missing("go (to find the Go module cache)")
    return Path(done.stdout.strip())


def module_dir(name: str) -> Path:
    """The module cache folder of tools.env's NAME_SCHEMA_MODULE@NAME_SCHEMA_VERSION."""
    p = pins()
    module, version = p[f"{name}_SCHEMA_MODULE"], p[f"{name}_SCHEMA_VERSION"]
    escaped = "".join(f"!{c.lower()}" if c.isupper() else c for c in module)
    folder = _gomodcache() / f"{escaped}@{version}"
    if not folder.is_dir():
        _missing(f"{module}@{version} (go mod download {module}@{version})")
    return folder


@cache
def _read(path: Path) -> Any:
    if not path.is_file():
        _missing(str(path))
    text = path.read_text()
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.load(text.replace("\t", " "), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # tabs as Go reads them


def _as_server_reads(node: Any) -> Any:
    """`nullable` admits null; an object with `properties` and nothing that keeps unknown fields refuses them."""
    if isinstance(node, list):
        return [_as_server_reads(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("example", "default", "enum") else _as_server_reads(v)) for k, v in node.items()}
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
        and out.get("type", "object") == "object"
    ):
        out["additionalProperties"] = False
    return out


def real_crds() -> list[dict[str, Any]]:
    """The CRDs of the real operators (module docstring): OLM and the Knative operator."""
    olm = module_dir("OLM") / "crds"
    knative = module_dir("KNATIVE") / "config" / "crd" / "bases"
    files = [
        olm / "operators.coreos.com_subscriptions.yaml",
        olm / "operators.coreos.com_operatorgroups.yaml",
        olm / "operators.coreos.com_catalogsources.yaml",
        knative / "operator.knative.dev_knativeservings.yaml",
        knative / "operator.knative.dev_knativeeventings.yaml",
    ]
    return [_read(f) for f in files]


@cache
def _kubernetes() -> tuple[dict[str, Any], referencing.Registry[Any]]:
    """The core/v1 OpenAPI v3 document (read as the server reads it) and a registry to resolve its `$ref`s."""
    spec = _as_server_reads(_read(module_dir("KUBERNETES") / "api" / "openapi-spec" / "v3" / "api__v1_openapi.json"))
    resource = referencing.Resource.from_contents(spec, default_specification=referencing.jsonschema.DRAFT7)
    return spec, referencing.Registry().with_resource(_K8S_URI, resource)


#: (apiVersion, kind) of the core objects mirrorkit writes -> their schema in the Kubernetes OpenAPI spec.
CORE = {
    ("v1", "Namespace"): "io.k8s.api.core.v1.Namespace",
    ("v1", "ConfigMap"): "io.k8s.api.core.v1.ConfigMap",
    ("v1", "Secret"): "io.k8s.api.core.v1.Secret",
}

_NAMED_LIST = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "key": {"type": "string"}, "containers": {"type": "array"}},
        "additionalProperties": False,
    },
}

BACKSTAGE_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "backstages.rhdh.redhat.com"},
    "spec": {
        "group": "rhdh.redhat.com",
        "names": {"kind": "Backstage", "plural": "backstages", "singular": "backstage"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1alpha4",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "application": {
                                        "type": "object",
                                        "properties": {
                                            "appConfig": {
                                                "type": "object",
                                                "properties": {"configMaps": _NAMED_LIST, "mountPath": {"type": "string"}},
                                                "additionalProperties": False,
                                            },
                                            "dynamicPluginsConfigMapName": {"type": "string"},
                                            "extraEnvs": {
                                                "type": "object",
                                                "properties": {
                                                    "configMaps": _NAMED_LIST,
                                                    "secrets": _NAMED_LIST,
                                                    "envs": {"type": "array"},
                                                },
                                                "additionalProperties": False,
                                            },
                                            "extraFiles": {"type": "object"},
                                            "replicas": {"type": "integer"},
                                            "route": {"type": "object"},
                                        },
                                        "additionalProperties": False,
                                    },
                                    "database": {"type": "object"},
                                    "deployment": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                },
                                "additionalProperties": False,
                            },
                            "status": {"type": "object"},
                        },
                    }
                },
            }
        ],
    },
}


def chart_crds(archive: Path) -> list[dict[str, Any]]:
    """The CRDs under `<chart>/crds/` of a chart archive (tabs read as Go's YAML reads them)."""
    out = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.isfile() and "/crds/" in member.name:
                handle = tar.extractfile(member)
                text = handle.read().decode() if handle else ""
                out += [d for d in yaml.safe_load_all(text.replace("\t", " ")) if d]
    return out


def _wrap(api_version: str, kind: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "allOf": [
            dict(schema),
            {
                "type": "object",
                "required": ["apiVersion", "kind", "metadata"],
                "properties": {"apiVersion": {"const": api_version}, "kind": {"const": kind}, "metadata": _META},
            },
        ]
    }


class SchemaSet:
    """Schemas by (apiVersion, kind): the core objects' from the Kubernetes OpenAPI spec, then each CRD's
    (a later CRD for the same kind wins); `validate` raises for an object no schema knows."""

    def __init__(self, crds: Iterable[Mapping[str, Any]] = ()) -> None:
        spec, self.registry = _kubernetes()
        components = spec["components"]["schemas"]
        self.schemas: dict[tuple[str, str], dict[str, Any]] = {}
        for key, name in CORE.items():
            assert name in components, f"{name} not in the Kubernetes OpenAPI spec"
            self.schemas[key] = _wrap(*key, {"$ref": f"{_K8S_URI}#/components/schemas/{name}"})
        meta = {"$ref": f"{_K8S_URI}#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
        for crd in crds:
            spec_ = crd["spec"]
            for version in spec_["versions"]:
                key = (f"{spec_['group']}/{version['name']}", spec_["names"]["kind"])
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                root = schema.setdefault("properties", {})  # the server checks these itself at the root
                root.update(metadata=meta, apiVersion={"type": "string"}, kind={"type": "string"})
                self.schemas[key] = _wrap(*key, _as_server_reads(schema))

    def errors(self, obj: Mapping[str, Any]) -> list[str]:
        key = (str(obj.get("apiVersion")), str(obj.get("kind")))
        if key not in self.schemas:
            return [f"no schema for {key}"]
        validator = jsonschema.Draft7Validator(self.schemas[key], registry=self.registry)
        name = obj.get("metadata", {}).get("name")
        return [f"{key[1]}/{name}: {'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]

    def validate_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        problems = [p for obj in objects for p in self.errors(obj)]
        assert not problems, "\n".join(problems)


def load_documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text.replace("\t", " ")) if isinstance(d, dict)]
