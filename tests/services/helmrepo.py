"""A real Helm chart repository on 127.0.0.1: chart archives built here, an index.yaml, an HTTP server.

oc-mirror (and its test double) download `<url>index.yaml` and the chart archives it points at, then
render the charts. To test that against bytes the tests control, this module builds real Helm chart
archives (`<name>/Chart.yaml` apiVersion v2, `values.yaml`, `templates/`, `crds/`, `charts/<sub>/`),
writes a Helm repository index for them (apiVersion v1, sha256 digests) and serves the directory with
`http.server` in a background thread.

The default content is shaped like the real openshift-helm-charts repository: `redhat-developer-hub`
1.7.0 and 1.8.0 (a parent chart whose `upstream` alias is a `backstage` subchart, itself holding a
`postgresql` subchart, as in the real chart), `redhat-developer-hub-orchestrator-infra` 1.8.0 and a
library chart. Every image those charts name lives on a registry host the caller chooses, so a test can
push exactly those images to a local registry (`push_default_images`).

Templates use only the small rendering subset the double implements (see
tests/ocmirror_double/helm.py): `.Values`, `.Release`, `.Chart`, `default`, `quote`, `if`, `with`.
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
LIBRARY = "rhdh-common-library"


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
CLI_REPO = "openshift4/ose-cli-rhel9"
CLI_TAG = "v4.19"
UBI_REPO = "ubi9/ubi-minimal"
UBI_TAG = "9.6"

_BACKSTAGE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-backstage
  labels:
    app.kubernetes.io/name: {{ .Chart.Name }}
    app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
spec:
  replicas: {{ .Values.replicas | default 1 }}
  template:
    spec:
      initContainers:
        - name: install-dynamic-plugins
          image: "{{ .Values.backstage.image.registry }}/{{ .Values.backstage.image.repository }}:{{ .Values.backstage.image.tag }}"
      containers:
        - name: backstage-backend
          {{- with .Values.backstage.image }}
          image: "{{ .registry }}/{{ .repository }}:{{ .tag }}"
          imagePullPolicy: {{ .pullPolicy | default "IfNotPresent" }}
          {{- end }}
          env:
            - name: APP_CONFIG_backend_baseUrl
              value: {{ .Values.global.clusterRouterBase | default "apps.example.com" | quote }}
"""

_POSTGRES_STATEFULSET = """\
{{- /* Bitnami-like: global.imageRegistry wins over image.registry */ -}}
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-postgresql
spec:
  serviceName: postgresql
  template:
    spec:
      containers:
        - name: postgresql
          image: {{ .Values.global.imageRegistry | default .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}
          ports:
            - containerPort: {{ .Values.port }}
"""

_RHDH_ROUTE = """\
{{- if .Values.route.enabled }}
apiVersion: route.openshift.io/v1
kind: Route
metadata:
  name: {{ .Release.Name }}-developer-hub
spec:
  host: {{ .Values.route.host | default .Values.global.clusterRouterBase | quote }}
  to:
    kind: Service
    name: {{ .Release.Name }}-backstage
{{- else }}
# route disabled
{{- end }}
"""

_RHDH_TEST_POD = """\
{{- if .Values.test.enabled }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test-connection
  annotations:
    helm.sh/hook: test
spec:
  containers:
    - name: curl
      image: {{ .Values.test.image.registry }}/{{ .Values.test.image.repository }}:{{ .Values.test.image.tag }}
{{- end }}
"""

_LIBRARY_HELPERS = """\
{{/* A library chart only holds named templates; the double never parses helpers. */}}
{{- define "rhdh-common.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
"""

_INFRA_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-orchestrator-infra-setup
spec:
  template:
    spec:
      restartPolicy: Never
      initContainers:
        - name: wait
          image: {{ .Values.images.wait | quote }}
      containers:
        - name: setup
          image: {{ .Values.images.cli | quote }}
"""

_INFRA_SUBSCRIPTIONS = """\
{{- with .Values.serverlessLogicOperator }}
{{- if .enabled }}
apiVersion: operators.coreos.com/v1alpha1
kind: Subscription
metadata:
  name: logic-operator-rhel8
  namespace: {{ .namespace | default "openshift-serverless-logic" }}
spec:
  channel: {{ .channel }}
  name: logic-operator-rhel8
  source: {{ .source | default "redhat-operators" }}
  sourceNamespace: openshift-marketplace
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
    plural: orchestratorinfras
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
"""


def image_ref(registry: str, repository: str, tag: str) -> str:
    return f"{registry}/{repository}:{tag}"


def _postgresql_chart() -> ChartSpec:
    return ChartSpec(
        name="postgresql",
        version="15.5.38",
        app_version="16.4.0",
        values={
            "global": {"imageRegistry": ""},
            "image": {"registry": "docker.io", "repository": "bitnami/postgresql", "tag": "16.4.0"},
            "port": 5432,
        },
        templates={"primary/statefulset.yaml": _POSTGRES_STATEFULSET},
    )


def _backstage_chart(registry: str) -> ChartSpec:
    return ChartSpec(
        name="backstage",
        version="2.6.0",
        app_version="1.0.0",
        values={
            "global": {"clusterRouterBase": ""},
            "backstage": {"image": {"registry": "ghcr.io", "repository": "backstage/backstage", "tag": "latest"}},
            "postgresql": {"enabled": False},
        },
        templates={"backstage-deployment.yaml": _BACKSTAGE_DEPLOYMENT},
        helpers='{{- define "backstage.image" -}}unused{{- end }}\n',
        subcharts=(_postgresql_chart(),),
        dependencies=({"name": "postgresql", "version": "15.5.38", "condition": "postgresql.enabled"},),
    )


def rhdh_chart(registry: str, version: str) -> ChartSpec:
    """`redhat-developer-hub` *version*: hub image tag = chart version, PostgreSQL via two subchart levels."""
    return ChartSpec(
        name=RHDH,
        version=version,
        app_version=version,
        description="Red Hat Developer Hub (mirrorkit test fixture)",
        values={
            "global": {"clusterRouterBase": "apps.example.com", "imageRegistry": ""},
            "route": {"enabled": True, "host": ""},
            "test": {
                "enabled": True,
                "image": {"registry": registry, "repository": TEST_POD_REPO, "tag": "8.11.0"},
            },
            "upstream": {
                "nameOverride": "developer-hub",
                "backstage": {"image": {"registry": registry, "repository": HUB_REPO, "tag": version}},
                "postgresql": {
                    "enabled": True,
                    "image": {"registry": registry, "repository": POSTGRES_REPO, "tag": POSTGRES_TAG},
                },
            },
        },
        templates={"route.yaml": _RHDH_ROUTE, "tests/test-connection.yaml": _RHDH_TEST_POD},
        helpers='{{/* unused helpers, never included */}}\n{{- define "rhdh.name" -}}{{ .Chart.Name }}{{- end }}\n',
        subcharts=(_backstage_chart(registry),),
        dependencies=({"name": "backstage", "version": "2.6.0", "alias": "upstream"},),
    )


def orchestrator_infra_chart(registry: str, version: str = "1.8.0") -> ChartSpec:
    """`redhat-developer-hub-orchestrator-infra`: a CRD, a Subscription (no image) and a setup Job."""
    return ChartSpec(
        name=ORCHESTRATOR_INFRA,
        version=version,
        app_version=version,
        values={
            "images": {"cli": image_ref(registry, CLI_REPO, CLI_TAG), "wait": image_ref(registry, UBI_REPO, UBI_TAG)},
            "serverlessLogicOperator": {"enabled": True, "channel": "alpha", "namespace": ""},
        },
        templates={"setup-job.yaml": _INFRA_JOB, "subscriptions.yaml": _INFRA_SUBSCRIPTIONS},
        crds={"orchestratorinfras.yaml": _INFRA_CRD},
    )


def library_chart() -> ChartSpec:
    """A library chart: oc-mirror skips it when it pulls every chart of a repository."""
    return ChartSpec(name=LIBRARY, version="0.1.0", chart_type="library", helpers=_LIBRARY_HELPERS)


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
    return [image_ref(registry, TEST_POD_REPO, "8.11.0")]


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
