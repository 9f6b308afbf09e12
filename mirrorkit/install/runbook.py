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

import json
import shlex
from dataclasses import dataclass

from mirrorkit.install.resources import OPERATOR_FILES

#: Where the RHDH docs install each operator the profiles mirror; others get a namespace of their name.
OPERATOR_NAMESPACES = {
    "serverless-operator": "openshift-serverless",
    "logic-operator-rhel8": "openshift-serverless-logic",
    "rhdh": "rhdh-operator",
}
RHDH_CHART = "redhat-developer-hub"
INFRA_CHART_MARK = "orchestrator-infra"
HELM_RELEASE = "redhat-developer-hub"
INFRA_RELEASE = "orchestrator-infra"
BACKSTAGE_DEPLOYMENT = "backstage-developer-hub"  # the RHDH operator names it backstage-<CR name>
WAIT = "--timeout=15m"


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
    infra_values_file: str = ""
    infra_namespaces: tuple[tuple[str, str], ...] = ()
    operator_resources: tuple[str, ...] = ()
    helm_npmrc_file: str = ""
    upgrade_from: str = ""
    bundle: str = ""  # the bundle push loaded, as an absolute path
    verify_key: str = ""  # the public key push verified it with ("" when it was unsigned and allowed)
    tls_verify: bool = True
    #: the mirrorkit command that wrote the runbook: push (from a bundle) or sync (mirror to mirror)
    command: str = "push"

    @property
    def synced(self) -> bool:
        """Written by sync (mirror to mirror): there is a release record, not a bundle."""
        return self.command == "sync"

    @property
    def infra_charts(self) -> list[str]:
        """The orchestrator-infra charts (installed first: they bring the Serverless operators)."""
        return [c for c in self.charts if INFRA_CHART_MARK in c]

    @property
    def hub_charts(self) -> list[str]:
        """The redhat-developer-hub charts."""
        return [c for c in self.charts if chart_name(c) == RHDH_CHART]

    @property
    def serverless_operators(self) -> tuple[OperatorInstall, ...]:
        """The operators the infra chart subscribes to (every one but RHDH's own)."""
        return tuple(op for op in self.operators if op.package != "rhdh")

    @property
    def configmap(self) -> str:
        """The dynamic-plugins ConfigMap's file (its usual name when this install wrote none)."""
        return self.configmap_file or "dynamic-plugins.yaml"

    @property
    def helm_flow(self) -> bool:
        return bool(self.infra_charts or self.hub_charts)

    @property
    def operator_flow(self) -> bool:
        return any(op.package == "rhdh" for op in self.operators)


def chart_name(archive: str) -> str:
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


#: Pasted once; waits for the install plan of one CSV (OLM creates it asynchronously, and on an upgrade
#: the Subscription still names the old, approved plan), approves it and waits until it is installed.
APPROVE_PLAN = (
    "approve_plan() {  # approve_plan NAMESPACE CSV",
    '  if oc get csv "$2" -n "$1" >/dev/null 2>&1; then echo "$2 is already installed"; return 0; fi',
    '  plan=""',
    "  for _ in $(seq 120); do",
    '    plan="$(oc get installplan -n "$1" --no-headers -o custom-columns=NAME:.metadata.name,APPROVED:.spec.approved,CSV:.spec.clusterServiceVersionNames'
    ' | awk -v csv="$2" \'$2 == "false" && index($3, csv) { print $1; exit }\')"',
    '    [ -n "$plan" ] && break',
    "    sleep 5",
    "  done",
    '  if [ -z "$plan" ]; then echo "no install plan for $2 in $1 after 10 minutes: oc get subscription,installplan -n $1" >&2; return 1; fi',
    '  oc patch installplan "$plan" -n "$1" --type merge -p \'{"spec":{"approved":true}}\'',
    '  oc wait installplan "$plan" -n "$1" --for=condition=Installed --timeout=10m',
    "}",
)


def _approve(operators: tuple[OperatorInstall, ...], namespaces: dict[str, str] | None = None) -> list[str]:
    """Approve each plan once it exists, then wait for its CSV to succeed (`approve_plan` is defined
    at the top of the runbook)."""
    body = []
    for op in operators:
        ns = shlex.quote((namespaces or {}).get(op.package) or op.namespace)
        if not op.csv:
            body.append(f"# {op.package}: no CSV was recorded; approve its plan by hand: oc get installplan -n {ns}")
            continue
        csv = shlex.quote(op.csv)
        body += [
            f"approve_plan {ns} {csv}",
            f"oc wait csv/{csv} -n {ns} --for=jsonpath='{{.status.phase}}'=Succeeded {WAIT}",
        ]
    return ["Approve each install plan (the function waits for it to appear) and wait for the operator:", "", *_code(*body)]


def render_runbook(ctx: InstallContext) -> str:
    """The Markdown runbook for *ctx* (see the module docstring)."""
    out = [
        f"# Installing {ctx.profile or 'this bundle'} in the disconnected cluster",
        "",
        (
            f"Written by `mirrorkit push` for bundle `{ctx.manifest_sha256[:12]}` (manifest sha256 "
            f"`{ctx.manifest_sha256}`), pushed to the registry `{ctx.registry}` and the npm server `{ctx.npm_registry}`."
            if not ctx.synced
            else f"Written by `mirrorkit sync` for the release recorded in `release/` (manifest sha256 "
            f"`{ctx.manifest_sha256}`), mirrored to the registry `{ctx.registry}` and the npm server `{ctx.npm_registry}`."
        ),
        "",
    ]
    if ctx.image_counts or ctx.npm_packages:
        carried = [f"{count} {kind} image(s)" for kind, count in ctx.image_counts]
        carried += [f"{ctx.npm_packages} npm package(s)"] if ctx.npm_packages else []
        carried += [f"{len(ctx.charts)} Helm chart(s)"] if ctx.charts else []
        what, report = ("The release", "sync") if ctx.synced else ("The bundle", "push")
        out += [f"{what} carried " + ", ".join(carried) + f"; the {report} report says which arrived.", ""]
    out += ["Run the commands from this folder, logged in to the cluster as an administrator (`oc login`).", ""]
    out += _code(
        "export RHDH_NAMESPACE=rhdh            # where Red Hat Developer Hub runs",
        'oc create namespace "$RHDH_NAMESPACE" --dry-run=client -o yaml | oc apply -f -',
        *(APPROVE_PLAN if ctx.operators else ()),
    )
    if ctx.upgrade_from:
        out += [
            f"This is an **upgrade** of an existing {ctx.upgrade_from} install: the steps below patch what exists "
            "(Subscription channels, the plugin versions) instead of creating it again.",
            "",
        ]
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
        out += _helm_upgrade(ctx, step) if ctx.upgrade_from else _helm_flow(ctx, step)
        step += 1
    if ctx.operator_flow:
        out += _operator_upgrade(ctx, step) if ctx.upgrade_from else _operator_flow(ctx, step)
        step += 1
    elif ctx.operators and not ctx.helm_flow:
        out += [f"## {step}. Install the operators", ""]
        for op in ctx.operators:
            out += _subscription(op)
        out += _approve(ctx.operators)
        step += 1
    if ctx.helm_flow or ctx.operator_flow:
        out += _checks(ctx, step)
        step += 1
    out += [
        f"## {step}. Check what arrived",
        "",
        (
            "Run this on the bastion (sync keeps the release record in `release/`)"
            if ctx.synced
            else "Run this on the bastion with the bundle at hand"
        )
        + "; it checks every image by digest and every npm package by integrity, and writes a report:",
        "",
    ]
    key = f"--verify-key {shlex.quote(ctx.verify_key)}" if ctx.verify_key else "--allow-unsigned"
    tls = "" if ctx.tls_verify else " --no-tls-verify"
    out += _code(
        f"mirrorkit verify {shlex.quote(ctx.bundle or 'BUNDLE')} {key} --target-registry {shlex.quote(ctx.registry)} "
        f"--target-npm {shlex.quote(ctx.npm_registry)}{tls} --cluster-resources cluster-resources --report reports"
    )
    return "\n".join(out).rstrip("\n") + "\n"


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def _infra_text(ctx: InstallContext) -> list[str]:
    source = f" `{_stem(ctx.catalog_sources[0])}`" if ctx.catalog_sources else ""
    if not ctx.infra_values_file:
        return [
            "The Orchestrator infrastructure chart subscribes to the OpenShift Serverless operators; no "
            "Subscription was found in its values, so check `helm template` of it names the mirrored catalog.",
            "",
        ]
    return [
        "The Orchestrator infrastructure chart subscribes to the OpenShift Serverless operators from "
        f"`redhat-operators` by default, the catalog turned off above. `{ctx.infra_values_file}` (written from "
        f"the chart's own values) points every Subscription it creates at the mirrored catalog{source}, on the "
        "channel and CSV that were mirrored, with Manual approval:",
        "",
    ]


def _hub_install(ctx: InstallContext, chart: str, verb: str) -> list[str]:
    values = f" -f {shlex.quote(ctx.values_file)}" if ctx.values_file else ""
    return _code(
        *([f'oc apply -n "$RHDH_NAMESPACE" -f {shlex.quote(ctx.helm_npmrc_file)}'] if ctx.helm_npmrc_file else []),
        "export ROUTER_BASE=\"$(oc get ingresses.config/cluster -o jsonpath='{.spec.domain}')\"",
        f'helm {verb} {HELM_RELEASE} {shlex.quote(chart)} -n "$RHDH_NAMESPACE"{values} \\',
        '  --set orchestrator.enabled=true --set global.clusterRouterBase="$ROUTER_BASE"',
        f'oc rollout status deployment -n "$RHDH_NAMESPACE" -l app.kubernetes.io/instance={HELM_RELEASE} {WAIT}',
    )


def _hub_text(ctx: InstallContext) -> list[str]:
    npmrc = (
        f" `{ctx.helm_npmrc_file}` is the `.npmrc` Secret the plugin installer needs to read the npm server "
        "(its token and CA; the file is 0600: keep it so)."
        if ctx.helm_npmrc_file
        else ""
    )
    return [
        "Red Hat Developer Hub with the Orchestrator. `"
        + (ctx.values_file or "values.yaml")
        + "` points the Orchestrator plugins at the local npm server with their sha512 integrity, at the "
        "versions the chart names in its own defaults." + npmrc,
        "",
    ]


def _helm_flow(ctx: InstallContext, step: int) -> list[str]:
    infra, hub, serverless = ctx.infra_charts, ctx.hub_charts, ctx.serverless_operators
    others = [c for c in ctx.charts if c not in infra and c not in hub]
    out = [f"## {step}. Helm flow: install the charts from this folder", ""]
    for chart in infra:
        values = f" -f {shlex.quote(ctx.infra_values_file)}" if ctx.infra_values_file else ""
        out += _infra_text(ctx)
        out += _code(f'helm install {INFRA_RELEASE} {shlex.quote(chart)} -n "$RHDH_NAMESPACE"{values}')
        if serverless:
            out += _approve(serverless, dict(ctx.infra_namespaces))
    for chart in hub:
        out += _hub_text(ctx) + _hub_install(ctx, chart, "install")
    for chart in others:
        out += _code(f'helm install {shlex.quote(chart_name(chart))} {shlex.quote(chart)} -n "$RHDH_NAMESPACE"')
    return out


def _helm_upgrade(ctx: InstallContext, step: int) -> list[str]:
    """helm upgrade of both releases: the infra values carry the new channels and CSVs, so Helm
    patches the Subscriptions in place and only the new install plans need approving."""
    infra, hub, serverless = ctx.infra_charts, ctx.hub_charts, ctx.serverless_operators
    out = [f"## {step}. Helm flow: upgrade from {ctx.upgrade_from}", ""]
    for chart in infra:
        values = f" -f {shlex.quote(ctx.infra_values_file)}" if ctx.infra_values_file else ""
        out += [
            f"Upgrade the infrastructure release: `{ctx.infra_values_file or 'its values'}` moves each Subscription "
            "to the mirrored catalog, channel and CSV (Helm patches them; nothing is created again):",
            "",
        ]
        out += _code(f'helm upgrade {INFRA_RELEASE} {shlex.quote(chart)} -n "$RHDH_NAMESPACE"{values}')
        if serverless:
            out += _approve(serverless, dict(ctx.infra_namespaces))
    for chart in hub:
        out += ["Then the hub, with the plugin versions of the new chart:", ""]
        out += _hub_install(ctx, chart, "upgrade")
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
    return out + _operator_resources(ctx)


def _resource(ctx: InstallContext, name: str) -> str:
    """*name* (one of :data:`OPERATOR_FILES`, as handout wrote it) when this install has it, else ""."""
    return name if name in ctx.operator_resources else ""


def _operator_resources(ctx: InstallContext) -> list[str]:
    configmap = ctx.configmap
    files = OPERATOR_FILES
    knative = _resource(ctx, files.knative)
    namespaced = [
        f
        for f in (
            configmap,
            _resource(ctx, files.app_config),
            _resource(ctx, files.backend_secret),
            _resource(ctx, files.npmrc_secret),
            _resource(ctx, files.backstage),
        )
        if f
    ]
    out = [
        "Then what the Orchestrator needs, in this order: the Knative Serving and Eventing instances, the "
        "dynamic-plugins ConfigMap (the Orchestrator plugins from the local npm server, with their integrity), "
        "the `app-config-rhdh` ConfigMap and the `backend-auth-secret` Secret (a random `BACKEND_SECRET` "
        "generated here, 0600: keep it so), the npm `.npmrc` Secret when the npm server needs one, and the "
        "Backstage CR wired to all of them:",
        "",
    ]
    return out + _code(
        *([f"oc apply -f {shlex.quote(knative)}"] if knative else []),
        *(f'oc apply -n "$RHDH_NAMESPACE" -f {shlex.quote(f)}' for f in namespaced),
        f'oc rollout status deployment/{BACKSTAGE_DEPLOYMENT} -n "$RHDH_NAMESPACE" {WAIT}',
    )


def _operator_upgrade(ctx: InstallContext, step: int) -> list[str]:
    """The docs' 1.7 -> 1.8 Operator upgrade: move each existing Subscription (found by package) to
    the mirrored catalog and new channel, approve the new plan, then the plugin versions."""
    out = [
        f"## {step}. Operator flow: upgrade from {ctx.upgrade_from}",
        "",
        "Each existing Subscription moves to the mirrored catalog and the channel that was mirrored; "
        "OLM then offers an install plan for the mirrored CSV:",
        "",
    ]
    body = []
    for op in ctx.operators:
        ns = shlex.quote(op.namespace)
        patch = {"spec": {"channel": op.channel, "source": op.source, "sourceNamespace": "openshift-marketplace"}}
        patch_json = json.dumps({"spec": {k: v for k, v in patch["spec"].items() if v}}, separators=(",", ":"))
        body += [
            f'SUB="$(oc get subscription -n {ns} -o jsonpath=\'{{.items[?(@.spec.name=="{op.package}")].metadata.name}}\')"',
            f'oc patch subscription "$SUB" -n {ns} --type merge -p {shlex.quote(patch_json)}',
        ]
    out += _code(*body) + _approve(ctx.operators)
    configmap = ctx.configmap
    out += [
        "Then the plugins: the dynamic-plugins ConfigMap names the new plugin versions (the docs set 1.8.2 for "
        "1.8); applying it replaces the old one, and the operator restarts RHDH:",
        "",
    ]
    out += _code(
        f'oc apply -n "$RHDH_NAMESPACE" -f {shlex.quote(configmap)}',
        f'oc rollout status deployment/{BACKSTAGE_DEPLOYMENT} -n "$RHDH_NAMESPACE" {WAIT}',
    )
    return out


def _checks(ctx: InstallContext, step: int) -> list[str]:
    """The documented readiness checks as commands that wait: Knative, the SonataFlowPlatform and its
    data index and jobs service, then the plugins the installer actually installed."""
    deployment = (
        f"deployment/{BACKSTAGE_DEPLOYMENT}"
        if ctx.operator_flow
        else f'"$(oc get deployment -n "$RHDH_NAMESPACE" -l app.kubernetes.io/instance={HELM_RELEASE} -o name | head -n 1)"'
    )
    return [
        f"## {step}. Check the install",
        "",
        "Each line waits until the component is ready (or fails after the timeout, naming it):",
        "",
        *_code(
            f"oc wait knativeserving/knative-serving -n knative-serving --for=condition=Ready {WAIT}",
            f"oc wait knativeeventing/knative-eventing -n knative-eventing --for=condition=Ready {WAIT}",
            f'oc wait sonataflowplatform/sonataflow-platform -n "$RHDH_NAMESPACE" --for=condition=Succeed {WAIT}',
            f'oc rollout status deployment/sonataflow-platform-data-index-service -n "$RHDH_NAMESPACE" {WAIT}',
            f'oc rollout status deployment/sonataflow-platform-jobs-service -n "$RHDH_NAMESPACE" {WAIT}',
            f'oc logs {deployment} -n "$RHDH_NAMESPACE" -c install-dynamic-plugins | grep -i orchestrator',
        ),
        "The last line lists the Orchestrator plugins the installer fetched from the local npm server; "
        "all of them must be there, at the versions in the plugin files above.",
        "",
    ]
