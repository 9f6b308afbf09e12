"""What the handed-out chart archives say, read so the runbook can install them against the mirror.

Two facts live only in a chart's own ``values.yaml``:

* the Subscriptions it creates: the published ``redhat-developer-hub-orchestrator-infra`` 1.8.0 chart
  keeps each operator's Subscription spec under ``<operator>.subscription.spec`` with ``source:
  redhat-operators``, the online catalog the runbook turns off. Left as is, the install plans never
  resolve. :func:`infra_values` writes the override that points every one of them at the mirrored
  CatalogSource (and at the channel and CSV that were mirrored);
* the Orchestrator plugin versions the ``redhat-developer-hub`` chart was built for (its default
  ``orchestrator.plugins``; 1.8.0 names 1.8.2). :func:`check_plugins_follow_chart` refuses a bundle
  whose plugins disagree, naming both versions, so values.yaml never points a chart at plugins it
  was not built for.

Only the archive's top-level ``<chart>/values.yaml`` is read, bounded in size; nothing is rendered
here (the tests render the result with the real ``helm template``).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mirrorkit import yamlgo
from mirrorkit.errors import ConfigError
from mirrorkit.install.values import package_name

#: A chart's values.yaml larger than this is not a chart mirrorkit hands out (the published ones are ~30 KiB).
MAX_VALUES_BYTES = 4 * 1024 * 1024
MARKETPLACE = "openshift-marketplace"


@dataclass(frozen=True)
class ChartSubscription:
    """One Subscription a chart creates from its values: *path* is where its spec mapping sits."""

    path: tuple[str, ...]
    package: str
    namespace: str
    channel: str
    source: str
    enabled: bool = True


def read_chart_values(archive: Path) -> dict[str, Any]:
    """The chart's default values (``<name>/values.yaml`` of the archive); ``{}`` when it has none."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = next((m for m in tar if m.isfile() and m.name.count("/") == 1 and m.name.endswith("/values.yaml")), None)
            if member is None:
                return {}
            if member.size > MAX_VALUES_BYTES:
                raise ConfigError(
                    f"{archive}: values.yaml is {member.size} bytes",
                    hint=f"a chart's values over {MAX_VALUES_BYTES} bytes is not one mirrorkit installs; check the archive",
                )
            stream = tar.extractfile(member)
            text = stream.read().decode("utf-8") if stream else ""
    except (OSError, tarfile.TarError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the chart archive {archive}", str(exc), "push again to hand out a good copy") from exc
    try:
        doc = yamlgo.load(text)  # Go's YAML (Helm) takes tabs PyYAML refuses
    except yaml.YAMLError as exc:
        raise ConfigError(f"{archive}: values.yaml is not YAML", str(exc).splitlines()[0], "check the chart archive") from exc
    return doc if isinstance(doc, dict) else {}


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))


def _is_subscription_spec(path: tuple[str, ...], node: Mapping[str, Any]) -> bool:
    """A Subscription spec: under a ``subscription`` key, naming a package and a catalog source."""
    return (
        any(p.lower().startswith("subscription") for p in path[-2:])
        and isinstance(node.get("name"), str)
        and ("source" in node or "sourceNamespace" in node)
    )


def find_subscriptions(values: Mapping[str, Any]) -> tuple[ChartSubscription, ...]:
    """Every Subscription spec in *values* (``x.subscription.spec`` or ``x.subscription`` layouts)."""
    found = []
    for path, node in _walk(dict(values)):
        if not _is_subscription_spec(path, node):
            continue
        parent = _get(values, path[:-1]) if path and path[-1] == "spec" else {}
        owner = _get(values, path[:-2] if path[-1] == "spec" else path[:-1])
        namespace = str(node.get("namespace") or (parent or {}).get("namespace") or "")
        enabled = bool(owner.get("enabled", True)) if isinstance(owner, dict) else True
        found.append(
            ChartSubscription(
                path, node["name"], namespace, str(node.get("channel") or ""), str(node.get("source") or ""), enabled
            )
        )
    return tuple(found)


def _get(values: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = values
    for key in path:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _set(doc: dict[str, Any], path: Sequence[str], updates: Mapping[str, Any]) -> None:
    node = doc
    for key in path:
        node = node.setdefault(key, {})
    node.update(updates)


@dataclass(frozen=True)
class MirroredOperator:
    """What was mirrored for one package: the catalog source that serves it, its channel and CSV."""

    package: str
    source: str
    channel: str = ""
    csv: str = ""


def infra_values(
    subscriptions: Sequence[ChartSubscription], mirrored: Sequence[MirroredOperator], default_source: str
) -> dict[str, Any]:
    """The values override pointing every Subscription at the mirrored CatalogSource.

    A mirrored package also gets the mirrored channel and CSV (a chart's own ``startingCSV`` may name
    a bundle the mirror does not hold); approval stays Manual, so OLM never upgrades past the mirror.
    """
    by_package = {m.package: m for m in mirrored}
    doc: dict[str, Any] = {}
    for sub in subscriptions:
        op = by_package.get(sub.package)
        updates: dict[str, Any] = {
            "source": op.source if op and op.source else default_source,
            "sourceNamespace": MARKETPLACE,
            "installPlanApproval": "Manual",
        }
        if op and op.channel:
            updates["channel"] = op.channel
        if op and op.csv:
            updates["startingCSV"] = op.csv
        _set(doc, sub.path, updates)
    return doc


# ------------------------------------------------------------------------------ plugins follow the chart
def _version_of(package: str, name: str) -> str:
    """``1.8.2`` from ``.../@redhat/x/-/x-1.8.2.tgz`` or ``@redhat/x@1.8.2``; ``""`` when unnamed."""
    if "/-/" in package:
        file = package.rsplit("/", 1)[-1].removesuffix(".tgz")
        base = name.rpartition("/")[2]
        return file[len(base) + 1 :] if file.startswith(base + "-") else ""
    at = package.find("@", 1)
    return package[at + 1 :] if at > 0 else ""


def chart_plugin_versions(values: Mapping[str, Any]) -> dict[str, str]:
    """npm name -> version of every ``orchestrator.plugins`` entry the chart's defaults name."""
    plugins = _get(values, ("orchestrator", "plugins"))
    found: dict[str, str] = {}
    for item in plugins if isinstance(plugins, list) else ():
        package = str(item.get("package", "")) if isinstance(item, dict) else ""
        name = package_name(package) if package else None
        version = _version_of(package, name) if name else ""
        if name and version:
            found[name] = version
    return found


def _refuse_unless_following(chart: str, wrong: Sequence[str], hint: str) -> None:
    if wrong:
        raise ConfigError(f"the Orchestrator plugins do not follow the chart {chart}", "; ".join(sorted(wrong)), hint)


def check_plugins_follow_chart(chart: str, chart_versions: Mapping[str, str], carried: Mapping[str, str]) -> None:
    """Refuse when the bundle carries a plugin at another version than the chart names for it."""
    wrong = [
        f"{name}: the chart names {want}, the bundle carries {carried[name]}"
        for name, want in chart_versions.items()
        if name in carried and carried[name] != want
    ]
    _refuse_unless_following(
        chart,
        wrong,
        "pack a bundle whose profile carries the plugin versions the chart names "
        "(its default orchestrator.plugins), or hand out the chart those plugins were built for",
    )


def check_specs_follow_chart(chart: str, chart_versions: Mapping[str, str], specs: Sequence[str]) -> None:
    """The same rule as :func:`check_plugins_follow_chart`, before anything is mirrored: a plugin spec
    the profile carries (exact version or range) must be able to resolve to the version the chart
    names. A dist-tag (``latest``) is only known once pulled; push checks the pulled versions again."""
    from mirrorkit.npm.semver import Range, satisfies
    from mirrorkit.npm.spec import PackageSpec

    wrong = []
    for text in specs:
        spec = PackageSpec.parse(text)
        want = chart_versions.get(spec.name.full)
        if want and Range.try_parse(spec.wanted) is not None and not satisfies(want, spec.wanted):
            wrong.append(f"{spec.name.full}: the chart names {want}, the profile asks for {spec.wanted}")
    _refuse_unless_following(
        chart,
        wrong,
        "carry the plugin versions the chart names (its default orchestrator.plugins): change the profile's "
        "npm packages or --plugin, or pick the chart version those plugins were built for",
    )
