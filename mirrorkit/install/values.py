"""values.yaml and dynamic-plugins ConfigMap that point RHDH at the mirrored plugins.

Both list every mirrored package (the newest version per package) by the tarball URL the local npm
server serves (`<npm server>/@scope/name/-/name-<version>.tgz`) with the sha512 `integrity` recorded
when it was pulled, which is what the RHDH plugin installer checks.

* Helm flavour (RHDH chart 1.8): `orchestrator.plugins: [{disabled, package, integrity, pluginConfig}]`.
  The air-gapped docs show only the first three keys, but Helm replaces a list value as a whole: the
  chart's own default entries also carry each plugin's `pluginConfig` (the data index URL
  `http://sonataflow-platform-data-index-service.{{ .Release.Namespace }}`, the frontend routes and
  mount points), and an override without them would silently drop that configuration. So the known
  Orchestrator plugins get the chart's `pluginConfig` too (``plugin_config=False`` writes the bare
  docs layout). When an existing values file is given, everything else in it is kept; an existing
  entry for a mirrored package gets our package URL and integrity but keeps its own other keys.
* Operator flavour: a ConfigMap whose `dynamic-plugins.yaml` includes
  `dynamic-plugins.default.yaml` and lists the same plugins, with the `pluginConfig` and
  `dependencies` the Orchestrator docs give for the known Orchestrator plugins.

OCI plugins (:mod:`mirrorkit.plugins`) are listed by their mirrored copy pinned by digest,
`oci://MIRROR/REPO@sha256:...!PACKAGE`, with no `integrity` (the digest is the integrity). In the
Helm flavour they go to `global.dynamic.plugins`, the chart's general plugin list (an entry there
for the same package folder gets our `package` and keeps its other keys); in the ConfigMap they
follow the npm plugins. A plugin selected from a catalog index carries the index entry's keys
(`pluginConfig`, ...): the installer would only merge them into an entry with the index's own
registry, which the mirrored reference does not have. The mirrored index itself, by digest, goes to
`global.dynamic.catalogIndex.image` (the chart's setting for `CATALOG_INDEX_IMAGE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mirrorkit.errors import ConfigError
from mirrorkit.fsutil import atomic_write_text
from mirrorkit.npm.index import IndexEntry, NpmIndex
from mirrorkit.npm.npmrc import normalise_registry
from mirrorkit.plugins.catalog_index import NOT_CONFIG_KEYS
from mirrorkit.semver import Version

if TYPE_CHECKING:
    from mirrorkit.plugins.mirrored import MirroredPlugin

DEFAULT_CONFIGMAP_NAME = "dynamic-plugins-rhdh"
DATA_INDEX_URL = "http://sonataflow-platform-data-index-service"
# The RHDH chart renders its values through `tpl`, so the data index is addressed in the release namespace.
HELM_DATA_INDEX_URL = "http://sonataflow-platform-data-index-service.{{ .Release.Namespace }}"
_OURS = ("disabled", "package", "integrity")


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line strings as literal blocks (readable embedded dynamic-plugins.yaml)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def newest_entries(index: NpmIndex) -> list[IndexEntry]:
    """One entry per package (its highest version), in name order: RHDH loads each plugin once."""
    best: dict[str, IndexEntry] = {}
    for entry in index.entries:
        current = best.get(entry.name)
        key = (Version.try_parse(entry.version, loose=True) or Version(0, 0, 0)).sort_key()
        if current is None or key > (Version.try_parse(current.version, loose=True) or Version(0, 0, 0)).sort_key():
            best[entry.name] = entry
    return [best[name] for name in sorted(best)]


def _newest_plugins(index: NpmIndex, npm_url: str) -> list[tuple[IndexEntry, dict[str, Any]]]:
    """Each of :func:`newest_entries` with its plugin entry `{disabled: false, package: <tarball URL>,
    integrity: sha512-...}` (the docs' key order), for the values and the ConfigMap to add to."""
    registry = normalise_registry(npm_url)
    return [
        (e, {"disabled": False, "package": e.package.tarball_path(registry), "integrity": e.integrity})
        for e in newest_entries(index)
    ]


def package_name(package: str) -> str | None:
    """The npm name a plugin entry refers to: a tarball URL (`.../@s/n/-/n-1.tgz`) or a spec (`@s/n@1`)."""
    if "/-/" in package:
        path = package.split("/-/", 1)[0]
        segments = path.split("/")
        return "/".join(segments[-2:]) if len(segments) >= 2 and segments[-2].startswith("@") else segments[-1]
    if package.startswith((".", "/")):
        return None
    at = package.find("@", 1)
    return package if at < 0 else package[:at]


def merge_plugins(existing: list[Any], ours: list[dict[str, Any]]) -> list[Any]:
    """Replace entries for the same packages in place, keep unrelated ones, append the rest.

    A replaced entry takes our `disabled`/`package`/`integrity`; its other keys (a `pluginConfig` the
    user wrote) win over our defaults.
    """
    by_name = {package_name(p["package"]): p for p in ours}
    merged: list[Any] = []
    used: set[str | None] = set()
    for item in existing:
        name = package_name(str(item.get("package", ""))) if isinstance(item, dict) else None
        if name in by_name and name not in used:
            mine = by_name[name]
            theirs = {k: v for k, v in item.items() if k not in _OURS}
            merged.append({**{k: mine[k] for k in _OURS}, **{k: v for k, v in mine.items() if k not in _OURS}, **theirs})
            used.add(name)
        elif name not in by_name:
            merged.append(item)
    merged.extend(p for name, p in by_name.items() if name not in used)
    return merged


def _load_values(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read values file {path}", exc.strerror, "pass an existing file with --values-in") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"values file {path} is not valid YAML", str(exc).splitlines()[0], "fix the file and try again"
        ) from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"values file {path} is not a YAML mapping", hint="a Helm values file starts with top-level keys")
    return doc


def helm_plugin_entries(index: NpmIndex, npm_url: str, *, plugin_config: bool = True) -> list[dict[str, Any]]:
    """The `orchestrator.plugins` entries: the docs' keys, plus the chart's `pluginConfig` when asked."""
    out = []
    for entry, item in _newest_plugins(index, npm_url):
        if plugin_config:
            extras = orchestrator_plugin_extras(entry.name, data_index_url=HELM_DATA_INDEX_URL)
            item.update({k: v for k, v in extras.items() if k == "pluginConfig"})  # `dependencies` is Operator-only
        out.append(item)
    return out


def build_values(
    index: NpmIndex | None,
    npm_url: str,
    values_in: Path | None = None,
    *,
    plugin_config: bool = True,
    oci_plugins: Sequence[MirroredPlugin] = (),
    catalog_index: str | None = None,
) -> dict[str, Any]:
    doc = _load_values(values_in) if values_in else {}
    if oci_plugins or catalog_index:
        _merge_oci_values(doc, oci_plugins, values_in, catalog_index)
    if index is None:
        return doc
    orchestrator = doc.get("orchestrator")
    if orchestrator is None:
        orchestrator = doc["orchestrator"] = {}
    if not isinstance(orchestrator, dict):
        raise ConfigError(f"'orchestrator' in {values_in} is not a mapping", hint="fix the values file")
    existing = orchestrator.get("plugins") or []
    if not isinstance(existing, list):
        raise ConfigError(f"'orchestrator.plugins' in {values_in} is not a list", hint="fix the values file")
    orchestrator["plugins"] = merge_plugins(existing, helm_plugin_entries(index, npm_url, plugin_config=plugin_config))
    return doc


def write_values(
    index: NpmIndex | None,
    npm_url: str,
    out: Path,
    values_in: Path | None = None,
    *,
    plugin_config: bool = True,
    oci_plugins: Sequence[MirroredPlugin] = (),
    catalog_index: str | None = None,
) -> Path:
    """Write the Helm values override to *out* (a file path), merged into *values_in* when given."""
    doc = build_values(
        index, npm_url, values_in, plugin_config=plugin_config, oci_plugins=oci_plugins, catalog_index=catalog_index
    )
    atomic_write_text(Path(out), dump_yaml(doc))
    return Path(out)


def _oci_folder(package: str) -> str | None:
    """The package folder an `oci://...!FOLDER` entry installs (the version-independent key)."""
    return package.rsplit("!", 1)[1] if package.startswith("oci://") and "!" in package else None


def oci_plugin_entries(plugins: Sequence[MirroredPlugin]) -> list[dict[str, Any]]:
    """`[{package: oci://MIRROR/REPO@sha256:...!PACKAGE, disabled: false, pluginConfig...}]`, one per
    package folder; the catalog index's keys for the plugin (if any) follow ours."""
    return [{"package": p.package, "disabled": False, **_index_keys(p)} for p in plugins]


def _index_keys(plugin: MirroredPlugin) -> dict[str, Any]:
    """The catalog index's keys for *plugin*, never overriding what we decide (package, enabled)."""
    return {k: v for k, v in plugin.config.items() if k not in NOT_CONFIG_KEYS}


def _merge_oci_values(
    doc: dict[str, Any], plugins: Sequence[MirroredPlugin], values_in: Path | None, catalog_index: str | None
) -> None:
    """Put the OCI plugins in `global.dynamic.plugins`, replacing entries for the same folder (their
    own keys win over the index's), and the mirrored catalog index in `global.dynamic.catalogIndex`."""
    glob = doc.setdefault("global", {})
    dynamic = glob.setdefault("dynamic", {}) if isinstance(glob, dict) else None
    existing = dynamic.get("plugins") or [] if isinstance(dynamic, dict) else None
    if not isinstance(existing, list) or dynamic is None:
        raise ConfigError(f"'global.dynamic.plugins' in {values_in} is not a list under mappings", hint="fix the values file")
    if catalog_index:
        _set_catalog_index(dynamic, catalog_index, values_in)
    if not plugins:
        return
    ours = {p.name: entry for p, entry in zip(plugins, oci_plugin_entries(plugins), strict=True)}
    defaults = {p.name: _index_keys(p) for p in plugins}
    merged, used = [], set()
    for item in existing:
        folder = _oci_folder(str(item.get("package", ""))) if isinstance(item, dict) else None
        if folder in ours and folder not in used:
            index_only = {k: v for k, v in defaults[folder].items() if k not in item}
            merged.append({**item, **index_only, "package": ours[folder]["package"]})
            used.add(folder)
        else:
            merged.append(item)
    merged.extend(entry for folder, entry in ours.items() if folder not in used)
    dynamic["plugins"] = merged


def _set_catalog_index(dynamic: dict[str, Any], location: str, values_in: Path | None) -> None:
    """`global.dynamic.catalogIndex.image`: the mirrored index by digest (a plain image reference,
    as `CATALOG_INDEX_IMAGE` takes it); the chart's default names the public registry."""
    section = dynamic.setdefault("catalogIndex", {})
    if not isinstance(section, dict):
        raise ConfigError(f"'global.dynamic.catalogIndex' in {values_in} is not a mapping", hint="fix the values file")
    section["image"] = location


def orchestrator_plugin_extras(package_name: str, *, data_index_url: str = DATA_INDEX_URL) -> dict[str, Any]:
    """`pluginConfig`/`dependencies` the Orchestrator docs (and the RHDH chart's defaults) give each plugin.

    Built fresh on each call (callers may mutate it); unknown packages get nothing extra.
    """
    base = package_name.rpartition("/")[2]
    data_index = {"orchestrator": {"dataIndexService": {"url": data_index_url}}}
    if base == "backstage-plugin-orchestrator":
        return {
            "pluginConfig": {
                "dynamicPlugins": {
                    "frontend": {
                        "red-hat-developer-hub.backstage-plugin-orchestrator": {
                            "appIcons": [{"importName": "OrchestratorIcon", "name": "orchestratorIcon"}],
                            "dynamicRoutes": [
                                {
                                    "importName": "OrchestratorPage",
                                    "menuItem": {"icon": "orchestratorIcon", "text": "Orchestrator"},
                                    "path": "/orchestrator",
                                }
                            ],
                            "entityTabs": [{"path": "/workflows", "title": "Workflows", "mountPoint": "entity.page.workflows"}],
                            "mountPoints": [
                                {
                                    "mountPoint": "entity.page.workflows/cards",
                                    "importName": "OrchestratorCatalogTab",
                                    "config": {
                                        "layout": {"gridColumn": "1 / -1"},
                                        "if": {"anyOf": ["IsOrchestratorCatalogTabAvailable"]},
                                    },
                                }
                            ],
                        }
                    }
                }
            }
        }
    if base == "backstage-plugin-orchestrator-backend-dynamic":
        return {"pluginConfig": data_index, "dependencies": [{"ref": "sonataflow"}]}
    if base == "backstage-plugin-scaffolder-backend-module-orchestrator-dynamic":
        return {"pluginConfig": data_index}
    if base == "backstage-plugin-orchestrator-form-widgets":
        return {
            "pluginConfig": {
                "dynamicPlugins": {"frontend": {"red-hat-developer-hub.backstage-plugin-orchestrator-form-widgets": {}}}
            }
        }
    return {}


def build_dynamic_plugins_configmap(
    index: NpmIndex | None,
    npm_url: str,
    *,
    name: str = DEFAULT_CONFIGMAP_NAME,
    namespace: str | None = None,
    plugin_config: bool = True,
    oci_plugins: Sequence[MirroredPlugin] = (),
) -> dict[str, Any]:
    plugins: list[dict[str, Any]] = []
    if index is not None:
        for entry, item in _newest_plugins(index, npm_url):
            plugin = {"package": item["package"], "integrity": item["integrity"], "disabled": False}
            if plugin_config:
                plugin.update(orchestrator_plugin_extras(entry.name))
            plugins.append(plugin)
    plugins.extend(oci_plugin_entries(oci_plugins))
    content = dump_yaml({"includes": ["dynamic-plugins.default.yaml"], "plugins": plugins})
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"dynamic-plugins.yaml": content}}


def write_dynamic_plugins_configmap(
    index: NpmIndex | None,
    npm_url: str,
    out: Path,
    *,
    name: str = DEFAULT_CONFIGMAP_NAME,
    namespace: str | None = None,
    plugin_config: bool = True,
    oci_plugins: Sequence[MirroredPlugin] = (),
) -> Path:
    """Write the Operator flavour: a dynamic-plugins ConfigMap for `spec.application.dynamicPluginsConfigMapName`."""
    doc = build_dynamic_plugins_configmap(
        index, npm_url, name=name, namespace=namespace, plugin_config=plugin_config, oci_plugins=oci_plugins
    )
    atomic_write_text(Path(out), dump_yaml(doc))
    return Path(out)
