"""A real Helm chart repository on 127.0.0.1: chart archives built here, an index.yaml, an HTTP server.

oc-mirror (and its test double) download `<url>index.yaml` and the chart archives it points at, then
render the charts. To test that against bytes the tests control, this module builds real Helm chart
archives (`<name>/Chart.yaml` apiVersion v2, `values.yaml`, `templates/`, `crds/`, `charts/<sub>/`),
writes a Helm repository index for them (apiVersion v1, sha256 digests) and serves the directory with
`http.server` in a background thread.

The default content is shaped like the real openshift-helm-charts repository: `redhat-developer-hub`
1.7.0 and 1.8.0 (a parent chart whose `upstream` alias is a `backstage` subchart, itself holding a
`postgresql` subchart behind `condition: postgresql.enabled`, all using a `common` library chart, as
the published chart uses Bitnami's), `redhat-developer-hub-orchestrator-infra` 1.8.0 (CRDs, one with a
tab after a key's colon; Subscriptions from a `range` over a map; a setup Job) and the `common`
library chart on its own. Every image those charts name lives on a registry host the caller chooses,
so a test can push exactly those images to a local registry (`push_default_images`).

The templates use what real charts use and are rendered by the real helm (the oc-mirror double runs
`helm template`): named templates and `include`, `tpl` of template text kept in values (the RHDH
init container's image), `$variables`, `range`/`with` over maps, sprig (`printf`, `default`,
`trimSuffix`, `toYaml`, `nindent`, `ternary`, `typeIs`), a `helm test` hook pod (whose image oc-mirror
does NOT collect: `hook_images`), a disabled init container (its image is not collected either) and
tabs where Go's YAML parser accepts them. Every default chart passes `helm lint` and `helm template`
(tests/test_double_helm.py runs both). `expected_images` is written by hand, never computed by
rendering: it is the independent statement of what oc-mirror collects.
Usage (pytest or a demo script)::

    push_default_images(registry.host)            # every image the default charts name, really pushed
    with start_helm_repo(tmp_path / "charts", default_charts(registry.host)) as repo:
        repo.url                                   # "http://127.0.0.1:PORT/" (trailing slash)
        expected_images(registry.host)["redhat-developer-hub", "1.8.0"]   # what oc-mirror collects
        repo.requests                              # paths fetched so far (prove a run stayed offline)
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

#: A fixed creation time: the index and the archives must be byte-for-byte reproducible.
CREATED = "2025-01-01T00:00:00Z"

RHDH = "redhat-developer-hub"
ORCHESTRATOR_INFRA = "redhat-developer-hub-orchestrator-infra"
LIBRARY = "common"  # the library chart the others depend on (published too)
LIBRARY_VERSION = "2.31.0"


# --------------------------------------------------------------------------------------------- charts
@dataclass(frozen=True)
class ChartSpec:
    """What goes into one chart archive.

    *templates* maps a path under `templates/` to its text; *crds* a path under `crds/` to its text;
    *subcharts* are stored unpacked as `charts/<name>/` (Helm also accepts `charts/<name>-<v>.tgz`:
    set *subchart_archives* to store them that way); *dependencies* are the Chart.yaml entries
    (name, version, alias, condition, ...). *extra_files* adds raw members relative to the chart dir.
    """

    name: str
    version: str
    app_version: str = ""
    chart_type: str = "application"
    description: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    templates: Mapping[str, str] = field(default_factory=dict)
    crds: Mapping[str, str] = field(default_factory=dict)
    helpers: str | None = None
    subcharts: tuple[ChartSpec, ...] = ()
    dependencies: tuple[Mapping[str, Any], ...] = ()
    subchart_archives: bool = False
    extra_files: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.tgz"

    def chart_yaml(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"apiVersion": "v2", "name": self.name, "version": self.version}
        if self.description:
            meta["description"] = self.description
        meta["type"] = self.chart_type
        if self.app_version:
            meta["appVersion"] = self.app_version
        if self.dependencies:
            meta["dependencies"] = [dict(d) for d in self.dependencies]
        return meta


def chart_files(spec: ChartSpec) -> dict[str, bytes]:
    """The chart's files relative to its own directory (no `<name>/` prefix)."""
    files: dict[str, bytes] = {
        "Chart.yaml": _dump(spec.chart_yaml()),
        "values.yaml": _dump(dict(spec.values)) if spec.values else b"",
    }
    for path, text in spec.templates.items():
        files[f"templates/{path}"] = text.encode()
    if spec.helpers is not None:
        files["templates/_helpers.tpl"] = spec.helpers.encode()
    for path, text in spec.crds.items():
        files[f"crds/{path}"] = text.encode()
    for sub in spec.subcharts:
        if spec.subchart_archives:
            files[f"charts/{sub.filename}"] = build_chart(sub)
        else:
            for path, data in chart_files(sub).items():
                files[f"charts/{sub.name}/{path}"] = data
    files.update(spec.extra_files)
    return files


def build_chart(spec: ChartSpec) -> bytes:
    """A chart archive as `helm package` lays it out: every file under `<name>/`. Deterministic."""
    return tar_gz({f"{spec.name}/{path}": data for path, data in chart_files(spec).items()})


def tar_gz(members: Mapping[str, bytes]) -> bytes:
    """A gzip tar of *members* taken literally (tests use it for hostile archives too).

    Sorted, mtime 0, uid/gid 0: the same input always gives the same bytes, so index digests are stable.
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in sorted(members.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _dump(doc: Mapping[str, Any]) -> bytes:
    return yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False).encode()


# ---------------------------------------------------------------------------------------- repository
@dataclass(frozen=True)
class RepoEntry:
    """One chart version published in the repository."""

    name: str
    version: str
    app_version: str
    chart_type: str
    data: bytes
    url: str  # as written in index.yaml (relative to the repository URL unless made absolute)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves the repository folder; records request paths instead of printing them."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HelmRepo:
    """A chart repository folder (index.yaml + archives) and, once started, its HTTP server.

    `add()` publishes charts (and rewrites index.yaml), `start()`/`stop()` run the server, `url` ends
    with `/` as oc-mirror requires, `requests` lists the paths fetched (to prove a run stayed offline).
    Set *absolute_urls* to write absolute chart URLs in the index (as the real openshift repository
    does) instead of relative ones.
    """

    def __init__(self, root: Path, *, absolute_urls: bool = False) -> None:
        self.root = root
        self.absolute_urls = absolute_urls
        self.entries: list[RepoEntry] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        root.mkdir(parents=True, exist_ok=True)

    # publishing
    def add(self, *specs: ChartSpec) -> list[RepoEntry]:
        return [
            self.add_archive(s.name, s.version, build_chart(s), app_version=s.app_version, chart_type=s.chart_type) for s in specs
        ]

    def add_archive(
        self,
        name: str,
        version: str,
        data: bytes,
        *,
        app_version: str = "",
        chart_type: str = "application",
        filename: str | None = None,
    ) -> RepoEntry:
        """Publish raw archive bytes (possibly hostile or corrupt) under *name*/*version*."""
        filename = filename or f"{name}-{version}.tgz"
        (self.root / filename).write_bytes(data)
        entry = RepoEntry(name, version, app_version, chart_type, data, filename)
        self.entries = [e for e in self.entries if (e.name, e.version) != (name, version)] + [entry]
        self.write_index()
        return entry

    def index(self) -> dict[str, Any]:
        """index.yaml as Helm writes it: entries per chart, newest version first."""
        entries: dict[str, list[dict[str, Any]]] = {}
        for entry in self.entries:
            url = self.url + entry.url if self.absolute_urls and self._server else entry.url
            record: dict[str, Any] = {
                "apiVersion": "v2",
                "name": entry.name,
                "version": entry.version,
                "type": entry.chart_type,
                "created": CREATED,
                "digest": entry.digest,
                "urls": [url],
            }
            if entry.app_version:
                record["appVersion"] = entry.app_version
            entries.setdefault(entry.name, []).append(record)
        for versions in entries.values():
            versions.sort(key=lambda r: _version_key(r["version"]), reverse=True)
        return {"apiVersion": "v1", "entries": dict(sorted(entries.items())), "generated": CREATED}

    def write_index(self) -> Path:
        path = self.root / "index.yaml"
        path.write_bytes(_dump(self.index()))
        return path

    # serving
    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("the Helm repository is not started")
        return f"http://127.0.0.1:{self._port}/"

    @property
    def requests(self) -> list[str]:
        return self._server.requests if self._server else []  # type: ignore[attr-defined]

    def start(self) -> HelmRepo:
        if self._server:
            return self
        handler = partial(_QuietHandler, directory=str(self.root))
        server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        server.daemon_threads = True
        server.requests = []  # type: ignore[attr-defined]
        self._server, self._port = server, server.server_address[1]
        # a short poll interval: stop() (and every test using this fixture) waits for at most one poll
        self._thread = threading.Thread(target=partial(server.serve_forever, poll_interval=0.05), name="helm-repo", daemon=True)
        self._thread.start()
        if self.absolute_urls:
            self.write_index()  # absolute URLs need the port
        return self

    def stop(self) -> None:
        """Stop serving (the port is kept, so a later start() serves the same URL again)."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            if self._thread:
                self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> HelmRepo:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()


def start_helm_repo(root: Path, charts: Iterable[ChartSpec] = (), *, absolute_urls: bool = False) -> HelmRepo:
    """Publish *charts* under *root* and serve them; the caller stops it (or uses `with`)."""
    repo = HelmRepo(root, absolute_urls=absolute_urls)
    repo.add(*charts)
    return repo.start()


def _version_key(version: str) -> tuple[Any, ...]:
    core = version.lstrip("v").split("+")[0]
    main, _, pre = core.partition("-")
    nums = tuple(int(p) if p.isdigit() else 0 for p in main.split("."))
    return (nums, 0 if pre else 1, pre)


# ----------------------------------------------------------------------------------- default content
#: Repositories (without registry host) and tags of the images the default charts name.
HUB_REPO = "rhdh/rhdh-hub-rhel9"
POSTGRES_REPO = "rhel9/postgresql-15"
POSTGRES_TAG = "1-95"
TEST_POD_REPO = "curl/curl"  # in a `helm.sh/hook: test` pod: oc-mirror does NOT collect hook images
TEST_POD_TAG = "8.11.0"
CLI_REPO = "openshift4/ose-cli-rhel9"
CLI_TAG = "v4.19"
UBI_REPO = "ubi9/ubi-minimal"
UBI_TAG = "9.6"
#: Images a default chart names only where oc-mirror must not look (a disabled init container).
UNUSED_REPO = "bitnami/os-shell"

# The `common` library: named templates the other charts include (shaped like Bitnami's, written here).
_COMMON_IMAGES = """\
{{/*
An image reference from {registry, repository, tag, digest}; a non-empty global.imageRegistry wins.
Usage: {{ include "common.images.image" (dict "imageRoot" .Values.image "global" .Values.global) }}
*/}}
{{- define "common.images.image" -}}
{{- $registry := .imageRoot.registry -}}
{{- if and .global .global.imageRegistry -}}
{{- $registry = .global.imageRegistry -}}
{{- end -}}
{{- $reference := printf "%s:%s" .imageRoot.repository (toString .imageRoot.tag) -}}
{{- if .imageRoot.digest -}}
{{- $reference = printf "%s@%s" .imageRoot.repository .imageRoot.digest -}}
{{- end -}}
{{- if $registry -}}
{{- printf "%s/%s" (trimSuffix "/" $registry) $reference -}}
{{- else -}}
{{- $reference -}}
{{- end -}}
{{- end -}}
"""

_COMMON_NAMES = """\
{{- define "common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "common.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "common.names.name" . -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "common.labels.standard" -}}
app.kubernetes.io/name: {{ include "common.names.name" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
"""

_COMMON_TPLVALUES = """\
{{/* Renders a value that may itself hold template text; maps and lists go through toYaml first. */}}
{{- define "common.tplvalues.render" -}}
{{- $text := ternary .value (toYaml .value) (typeIs "string" .value) -}}
{{- if contains "{{" $text -}}
{{- tpl $text .context -}}
{{- else -}}
{{- $text -}}
{{- end -}}
{{- end -}}
"""

_BACKSTAGE_HELPERS = """\
{{- define "backstage.image" -}}
{{- include "common.images.image" (dict "imageRoot" .Values.backstage.image "global" .Values.global) -}}
{{- end -}}
"""

_BACKSTAGE_DEPLOYMENT = """\
{{- $fullName := include "common.names.fullname" . -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullName }}
  labels: {{- include "common.labels.standard" . | nindent 4 }}
    app.kubernetes.io/component: backstage
spec:
  replicas: {{ .Values.backstage.replicas | default 1 }}
  selector:
    matchLabels:
      app.kubernetes.io/component: backstage
  template:
    metadata:
      labels:
        app.kubernetes.io/component: backstage
      {{- with .Values.backstage.podAnnotations }}
      annotations: {{- include "common.tplvalues.render" (dict "value" . "context" $) | nindent 8 }}
      {{- end }}
    spec:
      {{- if .Values.backstage.initContainers }}
      initContainers: {{- include "common.tplvalues.render" (dict "value" .Values.backstage.initContainers "context" $) | nindent 8 }}
      {{- end }}
      containers:
        - name: backstage-backend
          image: {{ include "backstage.image" . | quote }}
          imagePullPolicy: {{ .Values.backstage.image.pullPolicy | default "IfNotPresent" }}
          {{- with .Values.backstage.command }}
          command: {{- toYaml . | nindent 12 }}
          {{- end }}
          env:
            - name: APP_CONFIG_backend_listen_port
              value: {{ .Values.backstage.containerPort | default 7007 | quote }}
            {{- range $name, $value := .Values.backstage.extraEnvVarsMap }}
            - name: {{ $name }}
              value: {{ tpl (toString $value) $ | quote }}
            {{- end }}
          {{- with .Values.backstage.resources }}
          resources: {{- toYaml . | nindent 12 }}
          {{- end }}
        {{- with .Values.backstage.extraContainers }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
"""

_POSTGRES_STATEFULSET = """\
{{- $fullName := include "common.names.fullname" . -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $fullName }}
  labels: {{- include "common.labels.standard" . | nindent 4 }}
spec:
  serviceName: {{ printf "%s-hl" $fullName | trunc 63 | trimSuffix "-" }}
  selector:
    matchLabels:
      app.kubernetes.io/component: primary
  template:
    metadata:
      labels:
        app.kubernetes.io/component: primary
    spec:
      {{- if .Values.volumePermissions.enabled }}
      initContainers:
        - name: init-chmod-data
          image: {{ include "common.images.image" (dict "imageRoot" .Values.volumePermissions.image "global" .Values.global) }}
      {{- end }}
      containers:
        - name: postgresql
          image: {{ include "common.images.image" (dict "imageRoot" .Values.image "global" .Values.global) }}
          ports:
            {{- range $name, $port := .Values.containerPorts }}
            - name: {{ printf "tcp-%s" $name }}
              containerPort: {{ $port }}
            {{- end }}
"""

_RHDH_HELPERS = """\
{{- define "rhdh.fullname" -}}
{{- $upstream := .Values.upstream | default dict -}}
{{- printf "%s-%s" .Release.Name (default .Chart.Name $upstream.nameOverride) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
"""

_RHDH_ROUTE = """\
{{- if .Values.route.enabled }}
{{- $fullName := include "rhdh.fullname" . }}
{{- $host := tpl .Values.route.host . | default (printf "%s.%s" $fullName .Values.global.clusterRouterBase) }}
apiVersion: route.openshift.io/v1
kind: Route
metadata:
  name: {{ $fullName }}
  labels: {{- include "common.labels.standard" . | nindent 4 }}
spec:
  host: {{ $host | quote }}
  path: {{ .Values.route.path | default "/" }}
  to:
    kind: Service
    name: {{ $fullName }}
  tls:
    termination: {{ .Values.route.tls.termination }}
{{- end }}
"""

# The Orchestrator plugins join the global ones when `orchestrator.enabled`, and the whole list goes
# through `tpl` (the chart's own pluginConfig names `{{ .Release.Namespace }}`), as in the published chart.
_RHDH_DYNAMIC_PLUGINS = """\
{{- with .Values.global.dynamic }}
{{- $plugins := .plugins | default list }}
{{- if $.Values.orchestrator.enabled }}
{{- $plugins = concat $plugins $.Values.orchestrator.plugins }}
{{- end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "rhdh.fullname" $ }}-dynamic-plugins
  annotations:
    description:\tDynamic plugins of Red Hat Developer Hub
data:
  dynamic-plugins.yaml: |
    {{- tpl (toYaml (dict "includes" .includes "plugins" $plugins)) $ | nindent 4 }}
{{- end }}
"""

_RHDH_SONATAFLOW = """\
{{- if and .Values.orchestrator.enabled .Values.orchestrator.sonataflowPlatform.enabled }}
apiVersion: sonataflow.org/v1alpha08
kind: SonataFlowPlatform
metadata:
  name: sonataflow-platform
spec:
  services:
    dataIndex:
      enabled: true
    jobService:
      enabled: true
{{- end }}
"""

_RHDH_TEST_POD = """\
{{- if .Values.test.enabled }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "rhdh.fullname" . }}-test-connection
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  containers:
    - name: curl
      image: {{ include "common.images.image" (dict "imageRoot" .Values.test.image "global" .Values.global) | quote }}
      command:
        - curl
        - --fail
        - {{ printf "http://%s:7007/healthcheck" (include "rhdh.fullname" .) | quote }}
{{- end }}
"""

_INFRA_HELPERS = """\
{{- define "infra.image" -}}
{{- $registry := .root.Values.imageRegistry | trimSuffix "/" -}}
{{- printf "%s/%s:%s" $registry .image.repository (toString .image.tag) -}}
{{- end -}}
"""

_INFRA_JOB = """\
{{- if .Values.setupJob.enabled }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ printf "%s-setup" .Chart.Name | trunc 63 | trimSuffix "-" }}
  annotations:
    description:\tWaits for the operators, then creates the orchestrator infrastructure
spec:
  backoffLimit: {{ .Values.setupJob.backoffLimit }}
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: wait-for-operators
          image: {{ include "infra.image" (dict "root" $ "image" .Values.setupJob.waitImage) | quote }}
      containers:
        {{- with .Values.setupJob.image }}
        - name: setup
          image: "{{ $.Values.imageRegistry | trimSuffix "/" }}/{{ .repository }}:{{ .tag | default "latest" }}"\t# tag from values
        {{- end }}
          command: {{- toYaml .Values.setupJob.command | nindent 12 }}
{{- end }}
"""

# As in the published 1.8.0 chart: one block of values per operator, the Subscription's spec kept as
# a mapping under `<operator>.subscription.spec` (its `source` names `redhat-operators`, the online
# catalog a disconnected cluster turns off), ranged over with `pick` so the order is the map's.
_INFRA_SUBSCRIPTIONS = """\
{{- range $key, $op := pick .Values "serverlessOperator" "serverlessLogicOperator" }}
{{- if $op.enabled }}
{{- $ns := $op.subscription.namespace }}
---
apiVersion: v1
kind: Namespace
metadata:
  name: {{ $ns }}
---
apiVersion: operators.coreos.com/v1
kind: OperatorGroup
metadata:
  name: {{ $ns }}
  namespace: {{ $ns }}
spec: {}
---
apiVersion: operators.coreos.com/v1alpha1
kind: Subscription
metadata:
  name: {{ $op.subscription.spec.name }}
  namespace: {{ $ns }}
spec: {{- toYaml $op.subscription.spec | nindent 2 }}
{{- end }}
{{- end }}
"""

_INFRA_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: orchestratorinfras.rhdh.redhat.com
spec:
  group: rhdh.redhat.com
  names:
    kind: OrchestratorInfra
    listKind: OrchestratorInfraList
    plural: orchestratorinfras
    singular: orchestratorinfra
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
"""

# Published CRDs carry tabs after a key's colon; Go's YAML parser (oc-mirror) accepts them, PyYAML does not.
_SONATAFLOW_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: sonataflowplatforms.sonataflow.org
spec:
  group: sonataflow.org
  names:
    kind: SonataFlowPlatform
    listKind: SonataFlowPlatformList
    plural: sonataflowplatforms
    shortNames:
      - sfplatform
    singular: sonataflowplatform
  scope: Namespaced
  versions:
    - name: v1alpha08
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          description:\tSonataFlowPlatform is the descriptor for the workflow platform infrastructure.
          type: object
          properties:
            spec:
              description: SonataFlowPlatformSpec defines the desired state of SonataFlowPlatform\t
              type: object
              x-kubernetes-preserve-unknown-fields: true
"""


def image_ref(registry: str, repository: str, tag: str) -> str:
    return f"{registry}/{repository}:{tag}"


def _image(registry: str, repository: str, tag: str) -> dict[str, str]:
    return {"registry": registry, "repository": repository, "tag": tag}


def common_chart() -> ChartSpec:
    """The `common` library chart: only named templates (images, names, labels, tpl rendering)."""
    return ChartSpec(
        name=LIBRARY,
        version=LIBRARY_VERSION,
        app_version=LIBRARY_VERSION,
        chart_type="library",
        description="Named templates shared by the test charts (a library chart)",
        templates={"_images.tpl": _COMMON_IMAGES, "_names.tpl": _COMMON_NAMES, "_tplvalues.tpl": _COMMON_TPLVALUES},
    )


def _common_dependency() -> dict[str, str]:
    return {"name": LIBRARY, "version": LIBRARY_VERSION, "repository": "https://charts.example.test/common"}


def _postgresql_chart() -> ChartSpec:
    """Bitnami-shaped: image from registry/repository/tag, a disabled init container, ports by map."""
    return ChartSpec(
        name="postgresql",
        version="15.5.38",
        app_version="16.4.0",
        description="PostgreSQL (test fixture)",
        values={
            "global": {"imageRegistry": ""},
            "image": _image("docker.io", "bitnami/postgresql", "16.4.0"),
            "volumePermissions": {"enabled": False, "image": _image("docker.io", UNUSED_REPO, "12")},
            "containerPorts": {"postgresql": 5432},
        },
        templates={"primary/statefulset.yaml": _POSTGRES_STATEFULSET},
    )


def _backstage_chart() -> ChartSpec:
    """The upstream `backstage` chart: init containers from values rendered through `tpl`."""
    return ChartSpec(
        name="backstage",
        version="2.6.0",
        app_version="1.0.0",
        description="Backstage (test fixture)",
        values={
            "global": {"imageRegistry": ""},
            "nameOverride": "",
            "backstage": {
                "image": {**_image("ghcr.io", "backstage/backstage", "latest"), "pullPolicy": "IfNotPresent"},
                "command": ["node", "packages/backend"],
                "containerPort": 7007,
                "extraEnvVarsMap": {},
                "initContainers": [],
                "extraContainers": [],
                "podAnnotations": {},
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            },
            "postgresql": {"enabled": False},
        },
        templates={"backstage-deployment.yaml": _BACKSTAGE_DEPLOYMENT},
        helpers=_BACKSTAGE_HELPERS,
        subcharts=(_postgresql_chart(), common_chart()),
        dependencies=(
            {
                "name": "postgresql",
                "version": "15.5.38",
                "condition": "postgresql.enabled",
                "repository": "oci://registry-1.docker.io/bitnamicharts",
            },
            _common_dependency(),
        ),
    )


#: The Orchestrator plugin version each `redhat-developer-hub` chart names in its default values (the
#: published 1.8.0 chart names 1.8.2: the chart, not the docs' download list, says what it was built for).
CHART_PLUGIN_VERSIONS = {"1.7.0": "1.7.1", "1.8.0": "1.8.2"}
ORCHESTRATOR_PLUGINS = (
    "@redhat/backstage-plugin-orchestrator",
    "@redhat/backstage-plugin-orchestrator-backend-dynamic",
    "@redhat/backstage-plugin-scaffolder-backend-module-orchestrator-dynamic",
    "@redhat/backstage-plugin-orchestrator-form-widgets",
)
RED_HAT_NPM = "https://npm.registry.redhat.com"


def chart_default_plugins(plugin_version: str) -> list[dict[str, Any]]:
    """`orchestrator.plugins` as the published chart writes them: full tarball URLs on Red Hat's npm
    registry, an integrity, and the data index URL in the release namespace for the backend."""
    out = []
    for name in ORCHESTRATOR_PLUGINS:
        base = name.rpartition("/")[2]
        entry: dict[str, Any] = {
            "disabled": False,
            "package": f"{RED_HAT_NPM}/{name}/-/{base}-{plugin_version}.tgz",
            "integrity": "sha512-" + hashlib.sha512(f"{name}@{plugin_version}".encode()).hexdigest()[:86] + "==",
        }
        if base.endswith("backend-dynamic"):
            entry["pluginConfig"] = {
                "orchestrator": {
                    "dataIndexService": {"url": "http://sonataflow-platform-data-index-service.{{ .Release.Namespace }}"}
                }
            }
        out.append(entry)
    return out


def rhdh_chart(registry: str, version: str) -> ChartSpec:
    """`redhat-developer-hub` *version*: hub image tag = chart version, PostgreSQL via two subchart levels.

    As in the published chart, the `upstream` alias of `backstage` gets the hub image and an
    `install-dynamic-plugins` init container whose image is template text in values (`tpl`).
    """
    return ChartSpec(
        name=RHDH,
        version=version,
        app_version=version,
        description="Red Hat Developer Hub (mirrorkit test fixture)",
        values={
            "global": {
                "clusterRouterBase": "apps.example.com",
                "host": "",
                "imageRegistry": "",
                "dynamic": {"includes": ["dynamic-plugins.default.yaml"], "plugins": []},
            },
            "route": {"enabled": True, "host": "{{ .Values.global.host }}", "path": "/", "tls": {"termination": "edge"}},
            "orchestrator": {
                "enabled": False,
                "plugins": chart_default_plugins(CHART_PLUGIN_VERSIONS.get(version, version)),
                "sonataflowPlatform": {"enabled": True},
            },
            "test": {"enabled": True, "image": _image(registry, TEST_POD_REPO, TEST_POD_TAG)},
            "upstream": {
                "nameOverride": "developer-hub",
                "backstage": {
                    "image": {**_image(registry, HUB_REPO, version), "pullPolicy": "Always"},
                    "command": [],
                    "extraEnvVarsMap": {"BACKEND_SECRET": "{{ .Release.Name }}-secret", "RHDH_VERSION": version},
                    "initContainers": [
                        {
                            "name": "install-dynamic-plugins",
                            "image": '{{ include "backstage.image" . }}',
                            "command": ["./install-dynamic-plugins.sh", "/dynamic-plugins-root"],
                        }
                    ],
                    "podAnnotations": {"checksum/dynamic-plugins": "{{ .Chart.Version }}"},
                },
                "postgresql": {"enabled": True, "image": _image(registry, POSTGRES_REPO, POSTGRES_TAG)},
            },
        },
        templates={
            "route.yaml": _RHDH_ROUTE,
            "dynamic-plugins-configmap.yaml": _RHDH_DYNAMIC_PLUGINS,
            "sonataflow-platform.yaml": _RHDH_SONATAFLOW,
            "tests/test-connection.yaml": _RHDH_TEST_POD,
        },
        helpers=_RHDH_HELPERS,
        subcharts=(_backstage_chart(), common_chart()),
        dependencies=(
            {"name": "backstage", "version": "2.6.0", "alias": "upstream", "repository": "https://backstage.github.io/charts"},
            _common_dependency(),
        ),
    )


def _operator_values(namespace: str, package: str, channel: str, *, starting_csv: str = "") -> dict[str, Any]:
    """One operator's block of the infra chart's values, shaped like the published 1.8.0 chart's."""
    spec: dict[str, Any] = {
        "channel": channel,
        "installPlanApproval": "Manual",
        "name": package,
        "source": "redhat-operators",
        "sourceNamespace": "openshift-marketplace",
    }
    if starting_csv:
        spec["startingCSV"] = starting_csv
    return {"enabled": True, "subscription": {"namespace": namespace, "spec": spec}}


def orchestrator_infra_chart(registry: str, version: str = "1.8.0") -> ChartSpec:
    """`redhat-developer-hub-orchestrator-infra`: CRDs (one with tabs), Subscriptions (no image), a setup Job."""
    return ChartSpec(
        name=ORCHESTRATOR_INFRA,
        version=version,
        app_version=version,
        description="Orchestrator infrastructure for Red Hat Developer Hub (mirrorkit test fixture)",
        values={
            "imageRegistry": registry + "/",
            "setupJob": {
                "enabled": True,
                "backoffLimit": 4,
                "image": {"repository": CLI_REPO, "tag": CLI_TAG},
                "waitImage": {"repository": UBI_REPO, "tag": UBI_TAG},
                "command": ["/bin/sh", "-c", "oc wait --for=condition=Established crd --all"],
            },
            "serverlessOperator": _operator_values("openshift-serverless", "serverless-operator", "stable"),
            "serverlessLogicOperator": _operator_values(
                "openshift-serverless-logic", "logic-operator-rhel8", "alpha", starting_csv="logic-operator-rhel8.v1.36.0"
            ),
        },
        templates={"setup-job.yaml": _INFRA_JOB, "subscriptions.yaml": _INFRA_SUBSCRIPTIONS},
        helpers=_INFRA_HELPERS,
        crds={"orchestratorinfras.yaml": _INFRA_CRD, "sonataflowplatforms.yaml": _SONATAFLOW_CRD},
    )


def library_chart() -> ChartSpec:
    """The `common` library chart, also published on its own: oc-mirror skips it when it pulls every chart."""
    return common_chart()


def default_charts(registry: str) -> list[ChartSpec]:
    """The default repository content; every image named lives on *registry* (`host:port`)."""
    return [rhdh_chart(registry, "1.7.0"), rhdh_chart(registry, "1.8.0"), orchestrator_infra_chart(registry), library_chart()]


def expected_images(registry: str) -> dict[tuple[str, str], list[str]]:
    """(chart, version) -> the images oc-mirror collects from it with no imagePaths (order not significant).

    The RHDH test pod's image is absent on purpose: it is a `helm.sh/hook` resource, and oc-mirror
    only searches the manifests Helm's SortManifests returns, not the hooks.
    """
    postgres = image_ref(registry, POSTGRES_REPO, POSTGRES_TAG)
    found: dict[tuple[str, str], list[str]] = {}
    for version in ("1.7.0", "1.8.0"):
        found[RHDH, version] = [image_ref(registry, HUB_REPO, version), postgres]
    found[ORCHESTRATOR_INFRA, "1.8.0"] = [image_ref(registry, UBI_REPO, UBI_TAG), image_ref(registry, CLI_REPO, CLI_TAG)]
    return found


def hook_images(registry: str) -> list[str]:
    """Images the default charts name only in hook resources (never collected)."""
    return [image_ref(registry, TEST_POD_REPO, TEST_POD_TAG)]


def push_default_images(registry: str) -> dict[str, Any]:
    """Push every image `expected_images(registry)` lists (plus the hook image) to the registry.

    Returns {image reference: PushedImage}. Imported lazily: the rest of this module needs no HTTP client.
    """
    from tests.services.images import push_image

    pushed: dict[str, Any] = {}
    refs = {ref for refs in expected_images(registry).values() for ref in refs} | set(hook_images(registry))
    for ref in sorted(refs):
        repo, _, tag = ref.removeprefix(registry + "/").rpartition(":")
        pushed[ref] = push_image(registry, repo, tag)
    return pushed


def serve_default_repo(root: Path, registry: str, *, absolute_urls: bool = False) -> Iterator[HelmRepo]:
    """Generator for a pytest fixture: `yield from serve_default_repo(tmp_path, registry.host)`."""
    repo = start_helm_repo(root, default_charts(registry), absolute_urls=absolute_urls)
    try:
        yield repo
    finally:
        repo.stop()
