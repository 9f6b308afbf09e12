"""INSTALL.md: the runbook for one bundle pushed to one pair of targets.

The RHDH docs' air-gapped chapters end with "apply the cluster resources, install the operators,
approve the install plans, install the chart with your values": generic steps with placeholders. After
a push mirrorkit knows every name those steps need (the CatalogSource oc-mirror wrote, the bundle
(CSV) of each operator it mirrored, the chart archives, the files push wrote), so the runbook spells
the commands out. Only three things stay the user's: the namespace, the release names and the
cluster's router base, which are shell variables set once at the top.

The text is built from plain data (:class:`InstallContext`) so it can be tested without a cluster and
is the same for the same inputs (no timestamps beyond the bundle's own).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

#: Where the RHDH docs install each operator the profiles mirror; others get a namespace of their name.
OPERATOR_NAMESPACES = {
    "serverless-operator": "openshift-serverless",
    "logic-operator-rhel8": "openshift-serverless-logic",
    "rhdh": "rhdh-operator",
}
RHDH_CHART = "redhat-developer-hub"
INFRA_CHART_MARK = "orchestrator-infra"


@dataclass(frozen=True)
class OperatorInstall:
    """One operator to subscribe to: *csv* is the bundle (ClusterServiceVersion) mirrorkit carried,
    the newest one when a version range was mirrored; *source* the mirrored CatalogSource."""

    package: str
    channel: str
    csv: str
    source: str

    @property
    def namespace(self) -> str:
        return OPERATOR_NAMESPACES.get(self.package, self.package)


@dataclass(frozen=True)
class InstallContext:
    """Everything the runbook says, as data (file names are relative to push's output folder)."""

    profile: str
    manifest_sha256: str
    registry: str
    npm_registry: str
    mirror_sets: tuple[str, ...] = ()
    catalog_sources: tuple[str, ...] = ()
    cluster_catalogs: tuple[str, ...] = ()
    operators: tuple[OperatorInstall, ...] = ()
    charts: tuple[str, ...] = ()
    values_file: str = ""
    configmap_file: str = ""
    image_counts: tuple[tuple[str, int], ...] = ()
    npm_packages: int = 0

    @property
    def helm_flow(self) -> bool:
        return any(_chart_name(c) == RHDH_CHART or INFRA_CHART_MARK in c for c in self.charts)

    @property
    def operator_flow(self) -> bool:
        return any(op.package == "rhdh" for op in self.operators)


def _chart_name(archive: str) -> str:
    """``redhat-developer-hub`` from ``charts/redhat-developer-hub-1.8.0.tgz``."""
    stem = archive.rsplit("/", 1)[-1].removesuffix(".tgz")
    name, _, version = stem.rpartition("-")
    return name if version[:1].isdigit() else stem


def _code(*lines: str, lang: str = "sh") -> list[str]:
    return [f"```{lang}", *lines, "```", ""]


def _subscription(op: OperatorInstall) -> list[str]:
    """Namespace, OperatorGroup and a Manual Subscription pinned to the mirrored CSV: Manual, because
    an Automatic plan would try to upgrade past what was mirrored and stall on missing images."""
    ns = op.namespace
    return _code(
        "oc apply -f - <<'EOF'",
        "apiVersion: v1",
        "kind: Namespace",
        f"metadata: {{name: {ns}}}",
        "---",
        "apiVersion: operators.coreos.com/v1",
        "kind: OperatorGroup",
        f"metadata: {{name: {ns}, namespace: {ns}}}",
        "spec: {}",
        "---",
        "apiVersion: operators.coreos.com/v1alpha1",
        "kind: Subscription",
        f"metadata: {{name: {op.package}, namespace: {ns}}}",
        "spec:",
        f"  name: {op.package}",
        f"  channel: {op.channel}" if op.channel else "  # channel: the package's default channel",
        f"  source: {op.source}",
        "  sourceNamespace: openshift-marketplace",
        "  installPlanApproval: Manual",
        *([f"  startingCSV: {op.csv}"] if op.csv else []),
        "EOF",
    )


def _approve(operators: tuple[OperatorInstall, ...]) -> list[str]:
    lines = ["Approve each install plan once it appears (the plan names the CSV above):", ""]
    body = []
    for op in operators:
        ns = shlex.quote(op.namespace)
        body += [
            f"# {op.package} -> {op.csv or 'the channel head'}",
            f"oc get installplan -n {ns}",
            f"oc patch installplan \"$(oc get installplan -n {ns} -o jsonpath='{{.items[?(@.spec.approved==false)].metadata.name}}')\" \\",
            f'  -n {ns} --type merge -p \'{{"spec":{{"approved":true}}}}\'',
            " ".join(["oc get csv -n", ns, *([shlex.quote(op.csv)] if op.csv else []), "-o jsonpath='{.status.phase}'"])
            + "   # Succeeded",
        ]
    return lines + _code(*body)


def render_runbook(ctx: InstallContext) -> str:
    """The Markdown runbook for *ctx* (see the module docstring)."""
    out = [
        f"# Installing {ctx.profile or 'this bundle'} in the disconnected cluster",
        "",
        f"Written by `mirrorkit push` for bundle `{ctx.manifest_sha256[:12]}` (manifest sha256 "
        f"`{ctx.manifest_sha256}`), pushed to the registry `{ctx.registry}` and the npm server `{ctx.npm_registry}`.",
        "",
    ]
    if ctx.image_counts or ctx.npm_packages:
        carried = [f"{count} {kind} image(s)" for kind, count in ctx.image_counts]
        carried += [f"{ctx.npm_packages} npm package(s)"] if ctx.npm_packages else []
        carried += [f"{len(ctx.charts)} Helm chart(s)"] if ctx.charts else []
        out += ["The bundle carried " + ", ".join(carried) + "; the push report says which arrived.", ""]
    out += ["Run the commands from this folder, logged in to the cluster as an administrator (`oc login`).", ""]
    out += _code(
        "export RHDH_NAMESPACE=rhdh            # where Red Hat Developer Hub runs",
        'oc create namespace "$RHDH_NAMESPACE" --dry-run=client -o yaml | oc apply -f -',
    )
    step = 1
    if ctx.mirror_sets:
        out += [
            f"## {step}. Pull images from the mirror",
            "",
            "oc-mirror's image mirror sets make the cluster pull every mirrored image from "
            f"`{ctx.registry}` under its original name: no image reference needs editing.",
            "",
        ]
        out += _code(*(f"oc apply -f {shlex.quote(f)}" for f in ctx.mirror_sets))
        step += 1
    if ctx.catalog_sources or ctx.cluster_catalogs:
        out += [
            f"## {step}. The mirrored operator catalog",
            "",
            "Turn off the default (online) catalogs and add the mirrored one, which lists only what was mirrored:",
            "",
        ]
        out += _code(
            'oc patch OperatorHub cluster --type json -p \'[{"op": "add", "path": "/spec/disableAllDefaultSources", "value": true}]\'',
            *(f"oc apply -f {shlex.quote(f)}" for f in ctx.catalog_sources),
            *(
                f"oc get catalogsource -n openshift-marketplace {shlex.quote(_stem(f))} "
                "-o jsonpath='{.status.connectionState.lastObservedState}'   # READY"
                for f in ctx.catalog_sources
            ),
        )
        if ctx.cluster_catalogs:
            out += ["With OLM v1 (ClusterExtension) apply the ClusterCatalog instead:", ""]
            out += _code(*(f"oc apply -f {shlex.quote(f)}" for f in ctx.cluster_catalogs))
        step += 1
    if ctx.helm_flow:
        out += _helm_flow(ctx, step)
        step += 1
    if ctx.operator_flow:
        out += _operator_flow(ctx, step)
        step += 1
    elif ctx.operators and not ctx.helm_flow:
        out += [f"## {step}. Install the operators", ""]
        for op in ctx.operators:
            out += _subscription(op)
        out += _approve(ctx.operators)
        step += 1
    out += [
        f"## {step}. Check what arrived",
        "",
        "Run this on the bastion with the bundle at hand; it checks every image by digest and every "
        "npm package by integrity, and writes a report:",
        "",
    ]
    out += _code(
        f"mirrorkit verify BUNDLE --registry {shlex.quote(ctx.registry)} "
        f"--npm-registry {shlex.quote(ctx.npm_registry)} --cluster-resources cluster-resources --report reports"
    )
    return "\n".join(out).rstrip("\n") + "\n"


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _helm_flow(ctx: InstallContext, step: int) -> list[str]:
    infra = [c for c in ctx.charts if INFRA_CHART_MARK in c]
    hub = [c for c in ctx.charts if _chart_name(c) == RHDH_CHART]
    others = [c for c in ctx.charts if c not in infra and c not in hub]
    out = [f"## {step}. Helm flow: install the charts from this folder", ""]
    serverless = tuple(op for op in ctx.operators if op.package != "rhdh")
    for chart in infra:
        out += [
            "The Orchestrator infrastructure chart subscribes to the OpenShift Serverless operators. "
            "Its Subscriptions must name the mirrored catalog"
            + (f" (`{_stem(ctx.catalog_sources[0])}`)" if ctx.catalog_sources else "")
            + " as their source; check the chart's values for the source setting "
            f"(`helm show values {shlex.quote(chart)} | grep -n -i source`) and set it with `--set` if it differs.",
            "",
        ]
        out += _code(f'helm install orchestrator-infra {shlex.quote(chart)} -n "$RHDH_NAMESPACE"')
        if serverless:
            out += _approve(serverless)
    for chart in hub:
        values = f" -f {shlex.quote(ctx.values_file)}" if ctx.values_file else ""
        out += [
            "Red Hat Developer Hub with the Orchestrator. `"
            + (ctx.values_file or "values.yaml")
            + "` points the Orchestrator plugins at the local npm server with their sha512 integrity; "
            "set your cluster's router base (`oc get ingresses.config/cluster -o jsonpath='{.spec.domain}'`):",
            "",
        ]
        out += _code(
            "export ROUTER_BASE=\"$(oc get ingresses.config/cluster -o jsonpath='{.spec.domain}')\"",
            f'helm install redhat-developer-hub {shlex.quote(chart)} -n "$RHDH_NAMESPACE"{values} \\',
            '  --set orchestrator.enabled=true --set global.clusterRouterBase="$ROUTER_BASE"',
            'oc rollout status deployment -n "$RHDH_NAMESPACE" -l app.kubernetes.io/instance=redhat-developer-hub',
        )
    for chart in others:
        out += _code(f'helm install {shlex.quote(_chart_name(chart))} {shlex.quote(chart)} -n "$RHDH_NAMESPACE"')
    return out


def _operator_flow(ctx: InstallContext, step: int) -> list[str]:
    out = [
        f"## {step}. Operator flow: subscribe to the mirrored operators",
        "",
        "Each Subscription is Manual and starts at the CSV that was mirrored, so OLM never reaches for a "
        "version the mirror does not hold.",
        "",
    ]
    for op in ctx.operators:
        out += [f"### {op.package} ({op.csv or 'channel head'})", "", *_subscription(op)]
    out += _approve(ctx.operators)
    configmap = ctx.configmap_file or "dynamic-plugins.yaml"
    out += [
        "Then the dynamic-plugins ConfigMap (the Orchestrator plugins from the local npm server, with their "
        "integrity) and a Backstage instance that uses it:",
        "",
    ]
    out += _code(
        f'oc apply -n "$RHDH_NAMESPACE" -f {shlex.quote(configmap)}',
        "oc apply -n \"$RHDH_NAMESPACE\" -f - <<'EOF'",
        "apiVersion: rhdh.redhat.com/v1alpha4",
        "kind: Backstage",
        "metadata: {name: developer-hub}",
        "spec:",
        "  application:",
        "    dynamicPluginsConfigMapName: dynamic-plugins-rhdh",
        "EOF",
    )
    return out
