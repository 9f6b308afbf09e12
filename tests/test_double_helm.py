"""The oc-mirror double's Helm module against a real chart repository served over HTTP on 127.0.0.1.

tests/ocmirror_double/helm.py is not a package (the double is a script that loads it by path), so it
is imported the same way here. Each test states which part of the contract in
shared/reference/oc-mirror-v2.md ("How oc-mirror mirrors Helm charts") it checks.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.services.helmrepo import (
    ORCHESTRATOR_INFRA,
    RHDH,
    ChartSpec,
    HelmRepo,
    build_chart,
    default_charts,
    expected_images,
    hook_images,
    library_chart,
    start_helm_repo,
    tar_gz,
)

REG = "registry.test:5000"
HELM_PATH = Path(__file__).parent / "ocmirror_double" / "helm.py"


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ocmirror_double_helm", HELM_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


helm = _load_module()


@pytest.fixture(autouse=True)
def _real_helm(helm_bin: Path) -> None:
    """The double renders with the real helm: without it these tests fail under CI and skip elsewhere."""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelmRepo]:
    """The default RHDH-shaped repository, shared (read-only) by the tests of this module."""
    with start_helm_repo(tmp_path_factory.mktemp("helmrepo"), default_charts(REG)) as served:
        yield served


def _isc(url: str, charts: list[dict[str, Any]] | None = None, name: str = "openshift-charts") -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "url": url}
    if charts is not None:
        entry["charts"] = charts
    return {"repositories": [entry]}


def _images(found: list[Any]) -> list[str]:
    return [c.image for c in found]


def _chart(templates: dict[str, str], values: dict[str, Any] | None = None, **kw: Any) -> ChartSpec:
    return ChartSpec(
        name=kw.pop("name", "probe"), version=kw.pop("version", "0.1.0"), values=values or {}, templates=templates, **kw
    )


def _render_images(tmp_path: Path, spec: ChartSpec, image_paths: list[str] | None = None) -> list[str]:
    """Images of one chart read as a local chart (no HTTP needed for pure rendering checks)."""
    path = tmp_path / spec.filename
    path.write_bytes(build_chart(spec))
    local = [{"name": spec.name, "path": str(path), "imagepaths": image_paths or []}]
    return _images(helm.collect({"local": local}, tmp_path / "work", pull=True, tls_verify=True))


def _pod(image_expr: str, extra: str = "") -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: {image_expr}\n{extra}"


# ------------------------------------------------------------------------------------- pull (m2d)
def test_pull_named_versions_saves_charts_and_index(repo: HelmRepo, tmp_path: Path) -> None:
    found = helm.collect(
        _isc(repo.url, [{"name": RHDH, "version": "1.7.0"}, {"name": ORCHESTRATOR_INFRA, "version": "1.8.0"}]),
        tmp_path,
        pull=True,
        tls_verify=True,
    )
    want = expected_images(REG)
    assert sorted(_images(found)) == sorted(want[RHDH, "1.7.0"] + want[ORCHESTRATOR_INFRA, "1.8.0"])
    assert {(c.chart, c.version) for c in found} == {(RHDH, "1.7.0"), (ORCHESTRATOR_INFRA, "1.8.0")}
    charts = sorted(p.name for p in (tmp_path / "helm" / "charts").iterdir())
    assert charts == sorted([f"{ORCHESTRATOR_INFRA}-1.8.0.tgz", f"{RHDH}-1.7.0.tgz"])
    assert (tmp_path / "helm" / "charts" / f"{RHDH}-1.7.0.tgz").read_bytes() == (repo.root / f"{RHDH}-1.7.0.tgz").read_bytes()
    host = repo.url.split("/")[2]
    assert (tmp_path / "helm" / "indexes" / host / "index.yaml").read_bytes() == (repo.root / "index.yaml").read_bytes()


def test_charts_omitted_pulls_every_version_but_not_library_charts(repo: HelmRepo, tmp_path: Path) -> None:
    found = helm.collect(_isc(repo.url), tmp_path, pull=True, tls_verify=True)
    want = expected_images(REG)
    assert set(_images(found)) == {img for imgs in want.values() for img in imgs}
    assert len(_images(found)) == len(set(_images(found))), "images are deduplicated"
    charts = sorted(p.name for p in (tmp_path / "helm" / "charts").iterdir())
    assert charts == sorted([f"{ORCHESTRATOR_INFRA}-1.8.0.tgz", f"{RHDH}-1.7.0.tgz", f"{RHDH}-1.8.0.tgz"])
    assert f"/{library_chart().filename}" not in repo.requests


def test_hook_resources_are_not_searched(repo: HelmRepo, tmp_path: Path) -> None:
    """oc-mirror reads only the manifests SortManifests returns: the RHDH test pod (a hook) is missed."""
    found = helm.collect(_isc(repo.url, [{"name": RHDH, "version": "1.8.0"}]), tmp_path, pull=True, tls_verify=True)
    assert sorted(_images(found)) == sorted(expected_images(REG)[RHDH, "1.8.0"])
    assert not set(hook_images(REG)) & set(_images(found))


def test_empty_version_is_the_highest_release(tmp_path: Path) -> None:
    specs = [
        _chart({"p.yaml": _pod(f'"{REG}/app:{v}"')}, name="app", version=v) for v in ("1.2.0", "1.10.0", "1.9.0", "2.0.0-rc.1")
    ]
    with start_helm_repo(tmp_path / "repo", specs) as served:
        found = helm.collect(
            _isc(served.url, [{"name": "app", "version": ""}, {"name": "app"}]), tmp_path / "w", pull=True, tls_verify=True
        )
    assert _images(found) == [f"{REG}/app:1.10.0"]
    assert [p.name for p in (tmp_path / "w" / "helm" / "charts").iterdir()] == ["app-1.10.0.tgz"]


def test_absolute_chart_urls_in_the_index(tmp_path: Path) -> None:
    spec = _chart({"p.yaml": _pod(f"{REG}/abs:1")}, name="abs")
    with start_helm_repo(tmp_path / "repo", [spec], absolute_urls=True) as served:
        assert served.url + "abs-0.1.0.tgz" in (served.root / "index.yaml").read_text()
        found = helm.collect(_isc(served.url, [{"name": "abs", "version": "0.1.0"}]), tmp_path / "w", pull=True, tls_verify=True)
    assert _images(found) == [f"{REG}/abs:1"]


# ------------------------------------------------------------------------------------------- d2m
def test_disk_to_mirror_reads_only_the_working_dir(tmp_path: Path) -> None:
    work = tmp_path / "w"
    with start_helm_repo(tmp_path / "repo", default_charts(REG)) as served:
        url = served.url
        online = helm.collect(_isc(url), work, pull=True, tls_verify=True)
        named = _isc(url, [{"name": RHDH, "version": "1.8.0"}])
    # the server is stopped: any network access would fail
    offline = helm.collect(_isc(url), work, pull=False, tls_verify=True)
    assert offline == online
    assert sorted(_images(helm.collect(named, work, pull=False, tls_verify=True))) == sorted(expected_images(REG)[RHDH, "1.8.0"])


def test_disk_to_mirror_accepts_a_v_prefixed_archive(tmp_path: Path) -> None:
    charts = tmp_path / "helm" / "charts"
    charts.mkdir(parents=True)
    spec = _chart({"p.yaml": _pod(f"{REG}/v:1")}, name="vee", version="1.2.3")
    (charts / "vee-v1.2.3.tgz").write_bytes(build_chart(spec))
    found = helm.collect(
        _isc("http://127.0.0.1:9/", [{"name": "vee", "version": "v1.2.3"}]), tmp_path, pull=False, tls_verify=True
    )
    assert _images(found) == [f"{REG}/v:1"]


def test_disk_to_mirror_refuses_an_empty_version_and_a_missing_chart(tmp_path: Path) -> None:
    isc = _isc("http://127.0.0.1:9/", [{"name": RHDH, "version": ""}, {"name": RHDH, "version": "1.8.0"}])
    with pytest.raises(helm.HelmError) as err:
        helm.collect(isc, tmp_path, pull=False, tls_verify=True)
    lines = str(err.value).splitlines()
    assert lines[0] == 'invalid chart version "": Invalid Semantic Version'
    assert lines[1] == (f"chart file not found for {RHDH} version 1.8.0: tried {RHDH}-1.8.0.tgz and {RHDH}-v1.8.0.tgz")


def test_disk_to_mirror_without_saved_index_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(helm.HelmError, match=r"failed to parse .*helm/indexes/127.0.0.1:9/index.yaml"):
        helm.collect(_isc("http://127.0.0.1:9/"), tmp_path, pull=False, tls_verify=True)


# ----------------------------------------------------------------------------------- local charts
def test_local_charts_archive_and_directory_read_in_place_in_both_modes(tmp_path: Path) -> None:
    spec = _chart({"p.yaml": _pod(f"{REG}/local:1")}, name="loc")
    archive = tmp_path / "loc.tgz"
    archive.write_bytes(build_chart(spec))
    folder = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    local = {
        "local": [
            {"name": "a", "path": str(archive)},
            {"name": "b", "path": str(folder / "loc"), "imagepaths": ["{.metadata.annotations.extra}"]},
        ]
    }
    for pull in (True, False):
        found = helm.collect(local, tmp_path / "w", pull=pull, tls_verify=True)
        assert _images(found) == [f"{REG}/local:1"]
        assert found[0] == helm.ChartImage(f"{REG}/local:1", "loc", "0.1.0")
    assert not (tmp_path / "w" / "helm" / "charts").exists(), "local charts are never copied"


# -------------------------------------------------------------------------------------- imagePaths
def test_image_paths_are_added_to_the_default_paths(tmp_path: Path) -> None:
    cron = (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\nspec:\n  jobTemplate:\n    spec:\n"
        "      template:\n        spec:\n          containers:\n            - name: c\n"
        f"              image: {REG}/cron:1\n"
    )
    cm = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m\ndata:\n  images: {REG}/one:1 {REG}/two:2\n  bad: NOT/AN/IMAGE\n"
    spec = _chart({"cron.yaml": cron, "cm.yaml": cm, "pod.yaml": _pod(f"{REG}/pod:1")})
    assert _render_images(tmp_path, spec) == [f"{REG}/pod:1"], "a CronJob is missed without imagePaths"
    paths = ["{.spec.jobTemplate.spec.template.spec.containers[*].image}", "{.data.images}", "{.data.bad}", "{.data['images']}"]
    assert sorted(_render_images(tmp_path, spec, paths)) == sorted(
        [f"{REG}/cron:1", f"{REG}/one:1", f"{REG}/two:2", f"{REG}/pod:1"]
    )


def test_unsupported_image_path_syntax_is_refused(tmp_path: Path) -> None:
    spec = _chart({"pod.yaml": _pod(f"{REG}/pod:1")})
    with pytest.raises(helm.HelmError, match=r"failed to parse \{\.spec\.containers\[\?\(@\.name=='c'\)\]\.image\}"):
        _render_images(tmp_path, spec, ["{.spec.containers[?(@.name=='c')].image}"])


# ---------------------------------------------------------------------------------------- rendering
def _run_helm(helm_bin: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm_bin), *args], capture_output=True, text=True, timeout=120, check=False)


def test_default_charts_pass_helm_lint_and_helm_template(helm_bin: Path, tmp_path: Path) -> None:
    """The test charts are real charts: the real helm lints and renders every one of them.

    The library chart lints; `helm template` refuses it by design, which is why the double renders a
    top-level library chart from a patched copy (oc-mirror's engine.Render simply renders nothing).
    """
    for spec in default_charts(REG):
        archive = tmp_path / spec.filename
        archive.write_bytes(build_chart(spec))
        lint = _run_helm(helm_bin, "lint", str(archive))
        assert lint.returncode == 0, lint.stdout + lint.stderr
        template = _run_helm(helm_bin, "template", str(archive), "--include-crds")
        if spec.chart_type == "library":
            assert template.returncode != 0 and "library charts are not installable" in template.stderr
        else:
            assert template.returncode == 0, template.stderr
            assert "kind: CustomResourceDefinition" in template.stdout or spec.name == RHDH


def test_hook_pod_is_rendered_by_helm_but_not_collected(helm_bin: Path, tmp_path: Path) -> None:
    """Only the manifests SortManifests returns are searched: the `helm test` pod's image is not."""
    spec = default_charts(REG)[1]
    archive = tmp_path / spec.filename
    archive.write_bytes(build_chart(spec))
    with_hooks = _run_helm(helm_bin, "template", str(archive))
    assert hook_images(REG)[0] in with_hooks.stdout, "the hook pod is really in the chart"
    assert sorted(_images(helm.collect({"local": [{"path": str(archive)}]}, tmp_path, pull=True, tls_verify=True))) == sorted(
        expected_images(REG)[RHDH, spec.version]
    )


@pytest.mark.parametrize(
    ("template", "helpers"),
    [
        ('image: {{ include "probe.image" . }}', '{{- define "probe.image" -}}{{ .Values.reg }}/app:1{{- end -}}'),
        ('image: {{ printf "%s/%s:%d" .Values.reg "app" 1 }}', None),
        ("image: {{ tpl .Values.templated . }}", None),
        ('{{- $reg := .Values.reg | trimSuffix "/" }}\nimage: {{ $reg }}/app:{{ .Values.tag | default "1" }}', None),
        ("{{- range $k, $v := .Values.images }}\nimage: {{ $v }}\n{{- end }}", None),
        (
            "{{- with .Values.nested }}\nimage: {{ .reg }}/app:{{ $.Capabilities.KubeVersion.Major }}\n{{- end }}",
            None,
        ),
        ('image: {{ .Files.Get "image.txt" | trim }}', None),
    ],
    ids=["include", "printf", "tpl", "variables-sprig", "range-map", "with", "files"],
)
def test_real_helm_renders_what_real_charts_use(tmp_path: Path, template: str, helpers: str | None) -> None:
    """Constructs the old template subset refused are rendered by the real helm."""
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n"
    body = pod + "\n".join("      " + line if line.startswith("image") else line for line in template.splitlines()) + "\n"
    values = {"reg": REG, "templated": "{{ .Values.reg }}/app:1", "images": {"main": f"{REG}/app:1"}, "nested": {"reg": REG}}
    spec = _chart({"pod.yaml": body}, values, helpers=helpers, extra_files={"image.txt": f"{REG}/app:1\n".encode()})
    images = _render_images(tmp_path, spec)
    assert images == [f"{REG}/app:1"], images


def test_crd_images_and_go_yaml_tabs(tmp_path: Path) -> None:
    """CRDs are searched as they are (never rendered); tabs go-yaml accepts are accepted."""
    crd = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: c\n  annotations:\n    description:\tin a CRD file\n"
        f"spec:\n  containers:\n    - image:\t{REG}/crd:1\t# tab\n"
    )
    pod = _pod('"{{ .Values.reg }}/tpl:1"\t', extra="  nodeSelector: {a:\tb}\n")
    spec = _chart({"pod.yaml": pod}, {"reg": REG}, crds={"pod.yaml": crd})
    assert _render_images(tmp_path, spec) == [f"{REG}/crd:1", f"{REG}/tpl:1"], "CRDs come first"


def test_go_yaml_tab_rules() -> None:
    """Each case checked against sigs.k8s.io/yaml v1.6.0 (oc-mirror's parser): tab as indentation is refused."""
    accepted = {
        "a:\tfoo\n": {"a": "foo"},
        "a: x\ty\n": {"a": "x\ty"},
        "a: 1\t# c\n": {"a": 1},
        "a: 1\t\n": {"a": 1},
        "a:\n  b:\tc\n": {"a": {"b": "c"}},
        "a: [1,\t2]\n": {"a": [1, 2]},
        "a:\t|\n  x\n": {"a": "x\n"},
        "a: |\t\n  x\n": {"a": "x\n"},
        'a:\t\t"q"\n': {"a": "q"},
        "a:\n  - b:\tc\n    d: e\n": {"a": [{"b": "c", "d": "e"}]},
        "k\t: v\n": {"k": "v"},
        "a: x\n---\nb: 2\n": {"a": "x"},  # Unmarshal reads the first document only
        "d: 2024-01-01\n": {"d": "2024-01-01"},
    }
    assert {text: helm.load_go_yaml(text) for text in accepted} == accepted
    for refused in ("a:\n\t- x\n", "- \tx\n", "\ta: 1\n"):
        with pytest.raises(yaml.YAMLError):
            helm.load_go_yaml(refused)


def test_tab_indentation_in_a_crd_fails_the_chart(tmp_path: Path) -> None:
    crd = "apiVersion: v1\nkind: Pod\nspec:\n\tcontainers: []\n"
    spec = _chart({"pod.yaml": _pod(f"{REG}/ok:1")}, crds={"bad.yaml": crd}, name="tabbed")
    with pytest.raises(helm.HelmError, match=r"^failed to read the rendered templates of tabbed: error converting YAML to JSON"):
        _render_images(tmp_path, spec)


def test_release_values_are_helm_templates_not_oc_mirrors(tmp_path: Path) -> None:
    """A documented difference: helm template names the release "release-name" in "default"; oc-mirror uses ""."""
    image = '"reg.test/{{ .Release.Name }}-{{ .Release.Namespace }}:{{ .Release.Revision }}-{{ .Release.Service }}"'
    assert _render_images(tmp_path, _chart({"pod.yaml": _pod(image)})) == ["reg.test/release-name-default:1-Helm"]


def test_subcharts_alias_condition_global_and_crds(tmp_path: Path) -> None:
    sub_tpl = _pod("{{ .Values.global.registry }}/{{ .Values.repo }}:{{ .Chart.Name }}")
    on = ChartSpec(
        name="sub",
        version="1.0.0",
        values={"repo": "sub-default", "global": {"registry": "sub.test"}},
        templates={"p.yaml": sub_tpl},
    )
    off = ChartSpec(
        name="off",
        version="1.0.0",
        values={},
        templates={"p.yaml": _pod(f"{REG}/disabled:1")},
        crds={
            "c.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: crdpod\nspec:\n  containers:\n    - image: x.test/off-crd:1\n"
        },
    )
    parent = ChartSpec(
        name="parent",
        version="1.0.0",
        values={"global": {"registry": REG}, "renamed": {"repo": "from-parent"}, "off": {"enabled": False}},
        templates={},
        crds={
            "crd.yaml": f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: asis\nspec:\n  containers:\n    - image: {REG}/crd:{{{{ .NotRendered }}}}\n"
        },
        subcharts=(on, off),
        subchart_archives=True,
        dependencies=(
            {"name": "sub", "version": "1.0.0", "alias": "renamed"},
            {"name": "off", "version": "1.0.0", "condition": "off.enabled"},
        ),
    )
    images = _render_images(tmp_path, parent)
    assert images == [f"{REG}/from-parent:renamed"], images


def test_dependency_tags_and_condition_lists(tmp_path: Path) -> None:
    """Helm: a tag set false disables unless another is true; the first condition path that is a bool wins."""
    subs = tuple(ChartSpec(name=n, version="1.0.0", templates={"p.yaml": _pod(f"{REG}/{n}:1")}) for n in ("a", "b", "c", "d"))
    parent = ChartSpec(
        name="parent",
        version="1.0.0",
        values={"tags": {"front": False, "back": True}, "c": {"on": "yes-not-a-bool"}, "cond": {"d": False}},
        subcharts=subs,
        dependencies=(
            {"name": "a", "version": "1.0.0", "tags": ["front"]},
            {"name": "b", "version": "1.0.0", "tags": ["front", "back"]},
            {"name": "c", "version": "1.0.0", "tags": ["front"], "condition": "c.on,c.missing"},
            {"name": "d", "version": "1.0.0", "condition": "cond.d"},
        ),
    )
    assert _render_images(tmp_path, parent) == [f"{REG}/b:1"]


def test_library_charts_render_as_oc_mirror_renders_them(tmp_path: Path) -> None:
    """helm template refuses a top-level library chart; oc-mirror renders none of its own templates,
    but its CRDs and its subcharts' templates. A library subchart's templates are never rendered."""
    lib = ChartSpec(name="lib", version="0.1.0", chart_type="library", templates={"p.yaml": _pod("x.test/lib:1")})
    parent = _chart({"p.yaml": _pod(f"{REG}/app:1")}, subcharts=(lib,))
    assert _render_images(tmp_path, parent) == [f"{REG}/app:1"]
    app = ChartSpec(name="app", version="1.0.0", templates={"p.yaml": _pod(f"{REG}/sub-app:1")})
    top = ChartSpec(
        name="toplib",
        version="0.2.0",
        chart_type="library",
        templates={"p.yaml": _pod("x.test/lib:1")},
        helpers='{{- define "toplib.x" -}}x{{- end -}}',
        crds={"c.yaml": f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: c\nspec:\n  containers:\n    - image: {REG}/lib-crd:1\n"},
        subcharts=(app,),
        dependencies=({"name": "app", "version": "1.0.0"},),
    )
    assert _render_images(tmp_path, top) == [f"{REG}/lib-crd:1", f"{REG}/sub-app:1"]
    assert _render_images(tmp_path, library_chart()) == []


def test_missing_dependencies_and_kube_version_do_not_stop_rendering(helm_bin: Path, tmp_path: Path) -> None:
    """helm template refuses both; oc-mirror ignores a missing subchart and never checks kubeVersion."""
    spec = _chart(
        {"p.yaml": _pod(f"{REG}/app:1")},
        dependencies=({"name": "absent", "version": "1.0.0", "repository": "https://charts.example.test/"},),
        extra_files={
            "Chart.yaml": b"apiVersion: v2\nname: probe\nversion: 0.1.0\nkubeVersion: '>=9.99.0-0'\n"
            b"dependencies:\n- name: absent\n  version: 1.0.0\n  repository: https://charts.example.test/\n"
        },
    )
    archive = tmp_path / spec.filename
    archive.write_bytes(build_chart(spec))
    refused = _run_helm(helm_bin, "template", str(archive))
    assert refused.returncode != 0 and "missing in charts/ directory: absent" in refused.stderr
    assert _render_images(tmp_path, spec) == [f"{REG}/app:1"]
    assert archive.read_bytes() == build_chart(spec), "the chart is never changed in place"


def test_a_chart_helm_cannot_render_fails_alone_with_oc_mirror_text(tmp_path: Path) -> None:
    good = _chart({"p.yaml": _pod(f"{REG}/good:1")}, name="good")
    nil = _chart({"p.yaml": _pod("x/{{ .Values.image.tag }}")}, name="nilchart")
    failing = _chart({"p.yaml": '{{ fail "this chart needs a license key" }}'}, name="failing")
    badyaml = _chart({"p.yaml": "kind: [unclosed\n"}, name="badyaml")
    local = []
    for spec in (good, nil, failing, badyaml):
        path = tmp_path / spec.filename
        path.write_bytes(build_chart(spec))
        local.append({"path": str(path)})
    with pytest.raises(helm.HelmError) as err:
        helm.collect({"local": local}, tmp_path / "w", pull=True, tls_verify=True)
    lines = str(err.value).splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith(
        "failed to get template nilchart: error rendering chart nilchart: template: nilchart/templates/p.yaml:8:"
    )
    assert "nil pointer evaluating interface {}.tag" in lines[0]
    assert lines[1] == (
        "failed to get template failing: error rendering chart failing: "
        "execution error at (failing/templates/p.yaml:1:3): this chart needs a license key"
    )
    assert lines[2].startswith("failed to get template badyaml: YAML parse error on badyaml/templates/p.yaml")


def test_missing_helm_fails_each_chart_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helm_bin: Path) -> None:
    spec = _chart({"p.yaml": _pod(f"{REG}/app:1")})
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv(helm.HELM_ENV, raising=False)
    with pytest.raises(
        helm.HelmError,
        match=r"^failed to get template probe: oc-mirror TEST DOUBLE: cannot render charts: the helm binary is not on PATH",
    ):
        _render_images(tmp_path, spec)
    monkeypatch.setenv(helm.HELM_ENV, str(tmp_path / "no-such-helm"))
    with pytest.raises(helm.HelmError, match=r"OC_MIRROR_DOUBLE_HELM=.*no-such-helm is not an executable helm binary"):
        _render_images(tmp_path, spec)
    monkeypatch.setenv(helm.HELM_ENV, str(helm_bin))
    assert _render_images(tmp_path, spec) == [f"{REG}/app:1"]


def test_go_float_printing() -> None:
    """jsonpath prints JSON numbers as Go prints a float64 (an `image: 5432` would be read as "5432")."""
    cases = {
        1e6: "1e+06",
        123456.0: "123456",
        1.1: "1.1",
        5432.0: "5432",
        1e-05: "1e-05",
        0.0001: "0.0001",
        1234567.0: "1.234567e+06",
        -3.0: "-3",
        0.0: "0",
    }
    assert {k: helm.go_float(k) for k in cases} == cases


def test_missing_version_lists_the_versions_that_exist(repo: HelmRepo, tmp_path: Path) -> None:
    isc = _isc(repo.url, [{"name": RHDH, "version": "1.9.9"}, {"name": "no-such-chart", "version": "1.0.0"}])
    with pytest.raises(helm.HelmError) as err:
        helm.collect(isc, tmp_path, pull=True, tls_verify=True)
    lines = str(err.value).splitlines()
    assert lines[0] == (
        f'error pulling chart openshift-charts/{RHDH}: chart "{RHDH}" version "1.9.9" not found in '
        "openshift-charts index (versions in the index: 1.8.0, 1.7.0)"
    )
    assert lines[1].startswith(
        'error pulling chart openshift-charts/no-such-chart: chart "no-such-chart" not found in openshift-charts index'
    )
    assert RHDH in lines[1]


def test_version_ranges_are_refused(repo: HelmRepo, tmp_path: Path) -> None:
    with pytest.raises(helm.HelmError, match=r"version range '>=1.7.0' is not supported .*the index has 1.8.0, 1.7.0"):
        helm.collect(_isc(repo.url, [{"name": RHDH, "version": ">=1.7.0"}]), tmp_path, pull=True, tls_verify=True)


def test_unreachable_repository(tmp_path: Path) -> None:
    stopped = start_helm_repo(tmp_path / "gone")
    url = stopped.url
    stopped.stop()
    with pytest.raises(
        helm.HelmError,
        match=rf'^invalid chart repository "{url}": looks like "{url}" is not a valid chart repository or cannot be reached: .*refused',
    ):
        helm.collect(_isc(url, [{"name": RHDH, "version": "1.8.0"}]), tmp_path / "w", pull=True, tls_verify=True)
    with pytest.raises(helm.HelmError, match=rf"^request helm index: {url}index.yaml .*refused"):
        helm.collect(_isc(url), tmp_path / "w", pull=True, tls_verify=True)


def test_charts_omitted_needs_the_trailing_slash(repo: HelmRepo, tmp_path: Path) -> None:
    url = repo.url.rstrip("/")
    with pytest.raises(helm.HelmError, match=rf"request helm index: {url}index.yaml .*needs a trailing /"):
        helm.collect(_isc(url), tmp_path, pull=True, tls_verify=True)
    # with named charts Helm's repo add resolves index.yaml itself
    found = helm.collect(_isc(url, [{"name": ORCHESTRATOR_INFRA, "version": "1.8.0"}]), tmp_path, pull=True, tls_verify=True)
    assert sorted(_images(found)) == sorted(expected_images(REG)[ORCHESTRATOR_INFRA, "1.8.0"])


def test_download_failure_and_corrupt_archives(tmp_path: Path) -> None:
    with start_helm_repo(tmp_path / "repo") as served:
        served.add_archive("gone", "1.0.0", b"")
        (served.root / "gone-1.0.0.tgz").unlink()
        served.add_archive("notgz", "1.0.0", b"plain text, not a chart")
        served.add_archive("truncated", "1.0.0", build_chart(_chart({}, name="truncated"))[:40])
        served.add_archive("nochart", "1.0.0", tar_gz({"nochart/values.yaml": b"a: 1\n"}))
        names = ["gone", "notgz", "truncated", "nochart"]
        with pytest.raises(helm.HelmError) as err:
            helm.collect(
                _isc(served.url, [{"name": n, "version": "1.0.0"} for n in names]), tmp_path / "w", pull=True, tls_verify=True
            )
    lines = str(err.value).splitlines()
    assert len(lines) == 4, lines
    assert (
        lines[0] == f"error pulling chart openshift-charts/gone: failed to fetch {served.url}gone-1.0.0.tgz : 404 File not found"
    )
    assert lines[1].endswith("notgz-1.0.0.tgz: file does not appear to be a gzipped archive")
    assert "truncated-1.0.0.tgz: corrupt chart archive" in lines[2]
    assert lines[3].endswith("nochart-1.0.0.tgz: Chart.yaml file is missing")


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("evil/../../escape.yaml", "chart illegally references parent directory"),
        ("/etc/evil/Chart.yaml", "chart illegally contains absolute paths"),
        ("Chart.yaml", "is not in the chart's base directory"),
    ],
)
def test_archive_members_may_not_escape(tmp_path: Path, member: str, reason: str) -> None:
    data = tar_gz({"evil/Chart.yaml": b"apiVersion: v2\nname: evil\nversion: 1.0.0\n", member: b"x: 1\n"})
    with start_helm_repo(tmp_path / "repo") as served:
        served.add_archive("evil", "1.0.0", data)
        with pytest.raises(helm.HelmError, match=reason):
            helm.collect(_isc(served.url, [{"name": "evil", "version": "1.0.0"}]), tmp_path / "w", pull=True, tls_verify=True)
    assert not (tmp_path / "escape.yaml").exists()


def test_archive_links_are_refused(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("evil/Chart.yaml")
        body = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n"
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        link = tarfile.TarInfo("evil/values.yaml")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    path = tmp_path / "evil.tgz"
    path.write_bytes(raw.getvalue())
    with pytest.raises(helm.HelmError, match=r"archive member 'evil/values.yaml' is a link"):
        helm.collect({"local": [{"name": "evil", "path": str(path)}]}, tmp_path / "w", pull=False, tls_verify=True)


def test_oversized_member_is_refused(tmp_path: Path) -> None:
    big = b"#" * (helm.MAX_FILE_BYTES + 1)
    path = tmp_path / "big.tgz"
    path.write_bytes(tar_gz({"big/Chart.yaml": b"apiVersion: v2\nname: big\nversion: 1.0.0\n", "big/templates/big.yaml": big}))
    with pytest.raises(helm.HelmError, match=r"templates/big.yaml is \d+ bytes, over the \d+ limit per file"):
        helm.collect({"local": [{"name": "big", "path": str(path)}]}, tmp_path / "w", pull=False, tls_verify=True)


def test_missing_local_chart(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.tgz"
    with pytest.raises(helm.HelmError, match=rf"failed to load {missing}: No such file"):
        helm.collect({"local": [{"name": "x", "path": str(missing)}]}, tmp_path, pull=False, tls_verify=True)


def test_nothing_requested_is_nothing_collected(tmp_path: Path) -> None:
    assert helm.collect({}, tmp_path, pull=True, tls_verify=True) == []
    assert helm.collect(_isc("http://127.0.0.1:9/", []), tmp_path, pull=False, tls_verify=True) == []
    assert not (tmp_path / "helm").exists()


def test_module_uses_only_the_standard_library_and_pyyaml() -> None:
    """The double is an independent reading of the contract: it must never import mirrorkit."""
    tree = ast.parse(HELM_PATH.read_text())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert roots - sys.stdlib_module_names == {"yaml"}


@pytest.mark.integration
def test_default_chart_images_can_be_pushed_to_a_real_registry(registry: Any, tmp_path: Path) -> None:
    """The fixture's images are parameterised by registry host, so an end-to-end run finds them all."""
    import requests

    from tests.services.helmrepo import push_default_images

    pushed = push_default_images(registry.host)
    with start_helm_repo(tmp_path / "repo", default_charts(registry.host)) as served:
        found = helm.collect(_isc(served.url), tmp_path / "w", pull=True, tls_verify=True)
    assert found and {c.image for c in found} <= set(pushed)
    for chart_image in found:
        image = pushed[chart_image.image]
        head = requests.head(
            f"{registry.url}/v2/{image.repo}/manifests/{image.tag}",
            headers={"Accept": image.media_type},
            timeout=10,
        )
        assert head.status_code == 200 and head.headers["Docker-Content-Digest"] == image.digest
