"""Schemas to validate what the runbook tells the administrator to apply, and a validator for them.

Custom resources are checked against a CRD's ``openAPIV3Schema`` (the SonataFlowPlatform CRD is read
from the orchestrator-infra chart archive the tests build; Backstage and Knative CRDs are below, cut
down from the shape the operators ship: same group, version, kind and the fields mirrorkit writes,
with ``additionalProperties: false`` where the real structural schema prunes unknown fields, so a
misspelt field fails instead of vanishing). Core and OLM objects use the facts of the Kubernetes
OpenAPI schema and the OLM CRDs mirrorkit relies on, written out here: ConfigMap ``data`` and Secret
``stringData`` are string-to-string maps, Secret ``type`` is a string, an OperatorGroup ``spec`` is an
object, a Subscription ``spec`` needs ``name``, ``source`` and ``sourceNamespace``, and
``installPlanApproval`` is Automatic or Manual.

The validator is ``jsonschema`` (Draft 7 reads OpenAPI v3 structural schemas once the
``x-kubernetes-*`` and ``nullable`` keywords, which it does not know, are left to it as annotations).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

_STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_META = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"}, "namespace": {"type": "string"}},
}

#: (apiVersion, kind) -> schema of the whole object (apiVersion/kind/metadata checked by `_wrap`).
CORE: dict[tuple[str, str], dict[str, Any]] = {
    ("v1", "Namespace"): {"type": "object"},
    ("v1", "ConfigMap"): {"type": "object", "properties": {"data": _STR_MAP, "binaryData": _STR_MAP}},
    ("v1", "Secret"): {
        "type": "object",
        "properties": {"data": _STR_MAP, "stringData": _STR_MAP, "type": {"type": "string"}},
    },
    ("operators.coreos.com/v1", "OperatorGroup"): {
        "type": "object",
        "properties": {
            "spec": {"type": "object", "properties": {"targetNamespaces": {"type": "array", "items": {"type": "string"}}}}
        },
    },
    ("operators.coreos.com/v1alpha1", "Subscription"): {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "required": ["name", "source", "sourceNamespace"],
                "properties": {
                    "name": {"type": "string"},
                    "channel": {"type": "string"},
                    "source": {"type": "string"},
                    "sourceNamespace": {"type": "string"},
                    "startingCSV": {"type": "string"},
                    "installPlanApproval": {"enum": ["Automatic", "Manual"]},
                },
                "additionalProperties": False,
            }
        },
    },
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


def _knative_crd(kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.operator.knative.dev"},
        "spec": {
            "group": "operator.knative.dev",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1beta1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                        }
                    },
                }
            ],
        },
    }


KNATIVE_CRDS = (_knative_crd("KnativeServing", "knativeservings"), _knative_crd("KnativeEventing", "knativeeventings"))


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
    """Schemas by (apiVersion, kind); `validate` raises for an object no schema knows."""

    def __init__(self, crds: Iterable[Mapping[str, Any]] = ()) -> None:
        self.schemas = {key: _wrap(*key, schema) for key, schema in CORE.items()}
        for crd in crds:
            spec = crd["spec"]
            for version in spec["versions"]:
                key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                self.schemas[key] = _wrap(*key, version["schema"]["openAPIV3Schema"])

    def errors(self, obj: Mapping[str, Any]) -> list[str]:
        key = (str(obj.get("apiVersion")), str(obj.get("kind")))
        if key not in self.schemas:
            return [f"no schema for {key}"]
        validator = jsonschema.Draft7Validator(self.schemas[key])
        name = obj.get("metadata", {}).get("name")
        return [f"{key[1]}/{name}: {'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]

    def validate_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        problems = [p for obj in objects for p in self.errors(obj)]
        assert not problems, "\n".join(problems)


def load_documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text.replace("\t", " ")) if isinstance(d, dict)]
