"""The Kubernetes objects the documented installs need beyond the charts, generated ready to apply.

The Operator flow of the RHDH 1.8 Orchestrator docs ("Orchestrator plugin dependencies for Operator
installation") needs, besides the dynamic-plugins ConfigMap: Knative Serving and Eventing instances
(the Serverless operator runs none by itself), an ``app-config-rhdh`` ConfigMap that lets the
Orchestrator's backend call RHDH with a static token, a ``backend-auth-secret`` holding that token as
``BACKEND_SECRET``, and a Backstage CR wired to all three. When the local npm server needs a token or
a private CA, both flows also need a ``<name>-dynamic-plugins-npmrc`` Secret with an ``.npmrc`` the
plugin installer reads (the RHDH convention for a custom npm registry).

Secrets: the backend secret is random, the npmrc carries the npm token. Both files are written 0600
in push's output folder only (never the bundle, never a report, never a log line), and the backend
secret is kept across pushes into the same folder so re-running push does not rotate a live token.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mirrorkit.fsutil import atomic_write_text
from mirrorkit.install.values import DEFAULT_CONFIGMAP_NAME, dump_yaml
from mirrorkit.npm.npmrc import NpmSettings, nerf_dart, normalise_registry, parse_npmrc

BACKSTAGE_NAME = "developer-hub"
APP_CONFIG = "app-config-rhdh"
BACKEND_SECRET = "backend-auth-secret"
BACKSTAGE_API = "rhdh.redhat.com/v1alpha4"
KNATIVE_API = "operator.knative.dev/v1beta1"
SECRET_MODE = 0o600

#: The documented app-config: the Orchestrator's backend authenticates with the static token.
_APP_CONFIG_YAML = {
    "backend": {
        "auth": {"externalAccess": [{"type": "static", "options": {"token": "${BACKEND_SECRET}", "subject": "orchestrator"}}]}
    }
}


@dataclass(frozen=True)
class OperatorFiles:
    """File names (relative to the output folder) of the Operator flow's resources, in apply order."""

    knative: str = "operator/knative.yaml"
    app_config: str = "operator/app-config-rhdh.yaml"
    backend_secret: str = "operator/backend-auth-secret.yaml"
    backstage: str = "operator/backstage.yaml"
    npmrc_secret: str = "operator/dynamic-plugins-npmrc.yaml"


OPERATOR_FILES = OperatorFiles()
HELM_NPMRC_FILE = "dynamic-plugins-npmrc.yaml"


def knative_objects() -> list[dict[str, Any]]:
    """Namespaces and the KnativeServing / KnativeEventing instances the Serverless docs create."""
    out: list[dict[str, Any]] = []
    for kind, name in (("KnativeServing", "knative-serving"), ("KnativeEventing", "knative-eventing")):
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        out.append({"apiVersion": KNATIVE_API, "kind": kind, "metadata": {"name": name, "namespace": name}, "spec": {}})
    return out


def app_config_object() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": APP_CONFIG},
        "data": {"app-config.yaml": dump_yaml(_APP_CONFIG_YAML)},
    }


def backend_secret_object(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": BACKEND_SECRET},
        "type": "Opaque",
        "stringData": {"BACKEND_SECRET": value},
    }


#: The init container that installs dynamic plugins; it reads CATALOG_INDEX_IMAGE (imagesets/README.md).
PLUGIN_INSTALLER = "install-dynamic-plugins"


def backstage_object(
    *, configmap: str = DEFAULT_CONFIGMAP_NAME, name: str = BACKSTAGE_NAME, catalog_index: str | None = None
) -> dict[str, Any]:
    """The Backstage CR of the docs' Operator install: app-config, dynamic plugins, the backend secret,
    and, when the bundle carried a plugin catalog index, ``CATALOG_INDEX_IMAGE`` pointing the plugin
    installer at the mirrored index by digest (the Helm flow sets it through values.yaml)."""
    extra_envs: dict[str, Any] = {"secrets": [{"name": BACKEND_SECRET}]}
    if catalog_index:
        extra_envs["envs"] = [{"name": "CATALOG_INDEX_IMAGE", "value": catalog_index, "containers": [PLUGIN_INSTALLER]}]
    return {
        "apiVersion": BACKSTAGE_API,
        "kind": "Backstage",
        "metadata": {"name": name},
        "spec": {
            "application": {
                "appConfig": {"configMaps": [{"name": APP_CONFIG}]},
                "dynamicPluginsConfigMapName": configmap,
                "extraEnvs": extra_envs,
            }
        },
    }


def new_backend_secret() -> str:
    """24 random bytes, base64 (what the Backstage service-to-service docs generate)."""
    return base64.b64encode(secrets.token_bytes(24)).decode()


def existing_backend_secret(path: Path) -> str | None:
    """The BACKEND_SECRET an earlier push wrote to *path*, so a re-run keeps the live token."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    value = doc.get("stringData", {}).get("BACKEND_SECRET") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and value else None


def npmrc_text(npm_registry: str, *, token: str | None = None, npmrc: Path | None = None) -> str | None:
    """The ``.npmrc`` the plugin installer needs to read *npm_registry*, or None when it needs nothing.

    It needs one when the npm server takes a credential (the token push used, or one in *npmrc*) or
    when *npmrc* names a ``cafile`` (embedded as ``ca=``: the path means nothing inside the pod).
    """
    registry = normalise_registry(npm_registry)
    settings = NpmSettings.load(registry=registry, token=token, npmrc=npmrc, env={})
    header = settings.authorization(registry)
    cafile = parse_npmrc(npmrc.read_text(encoding="utf-8"), {}).get("cafile") if npmrc else None
    if not header and not cafile:
        return None
    lines = [f"registry={registry}"]
    if header:
        scheme, _, value = header.partition(" ")
        lines.append(f"{nerf_dart(registry)}:{'_authToken' if scheme == 'Bearer' else '_auth'}={value}")
    if cafile:
        pem = Path(cafile).expanduser().read_text(encoding="utf-8").strip()
        lines.append("ca=" + pem.replace("\n", "\\n"))
    return "\n".join(lines) + "\n"


def npmrc_secret_object(name: str, text: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "stringData": {".npmrc": text}}


def _write(path: Path, docs: list[dict[str, Any]], *, secret: bool = False) -> Path:
    text = "---\n".join(dump_yaml(d) for d in docs)
    atomic_write_text(path, text, SECRET_MODE if secret else None)
    return path


def write_operator_resources(
    output: Path, *, npmrc: str | None, configmap: str = DEFAULT_CONFIGMAP_NAME, catalog_index: str | None = None
) -> tuple[Path, ...]:
    """Write the Operator flow's files (see :class:`OperatorFiles`); secrets 0600."""
    files = OPERATOR_FILES
    secret_path = output / files.backend_secret
    value = existing_backend_secret(secret_path) or new_backend_secret()
    written = [
        _write(output / files.knative, knative_objects()),
        _write(output / files.app_config, [app_config_object()]),
        _write(secret_path, [backend_secret_object(value)], secret=True),
        _write(output / files.backstage, [backstage_object(configmap=configmap, catalog_index=catalog_index)]),
    ]
    stale = output / files.npmrc_secret
    if npmrc:
        written.append(_write(stale, [npmrc_secret_object(f"{BACKSTAGE_NAME}-dynamic-plugins-npmrc", npmrc)], secret=True))
    else:
        stale.unlink(missing_ok=True)  # an earlier push's token must not look current
    return tuple(written)


def write_helm_npmrc(output: Path, release: str, npmrc: str | None) -> Path | None:
    """The Helm flow's ``<release>-dynamic-plugins-npmrc`` Secret (0600), or None when not needed."""
    path = output / HELM_NPMRC_FILE
    if not npmrc:
        path.unlink(missing_ok=True)
        return None
    return _write(path, [npmrc_secret_object(f"{release}-dynamic-plugins-npmrc", npmrc)], secret=True)
