"""Chart images in the plan: rendered with the real helm, read as oc-mirror reads them.

The tables below are facts about the real tools, not mirrorkit's opinion: the YAML answers were taken
from sigs.k8s.io/yaml v1.6.0 (what oc-mirror parses rendered charts with), the reference answers from
oc-mirror's image.ParseRef (internal/pkg/image/image.go), the JSONPaths from
internal/pkg/helm/local_stored_collector.go (getImagesPath).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from mirrorkit import yamlgo
from mirrorkit.errors import ConfigError
from mirrorkit.helm.images import takes_as_image
from mirrorkit.helm.jsonpath import DEFAULT_PATHS, JsonPath
from tests.services import helmrepo

# (text, what Go's parser returns, or None where it refuses the text)
GO_YAML = [
    ("a:\tb", {"a": "b"}),
    ("a: b\t", {"a": "b"}),
    ('a:\t"b"', {"a": "b"}),
    ("a:\n\t- x", None),
    ("a: b\t# c", {"a": "b"}),
    ("a:  \tb", {"a": "b"}),
    ("a: b\n\t\nc: d", None),
    ("a:\n  b:\tc\n  d: e", {"a": {"b": "c", "d": "e"}}),
    ("- a\t", ["a"]),
    ("-\ta", None),
    ("a: [b,\tc]", {"a": ["b", "c"]}),
    ("a:\n  description: x\tand y", {"a": {"description": "x\tand y"}}),
    ("a:\t\n  b: c", {"a": {"b": "c"}}),
    ("? a\t\n: b", {"a": "b"}),
    ("a: |\n\tx", None),
    ("d: 2025-01-01", {"d": "2025-01-01"}),
]


@pytest.mark.parametrize(("text", "expected"), GO_YAML)
def test_yaml_is_read_as_go_reads_it(text: str, expected: object) -> None:
    if expected is None:
        with pytest.raises(yaml.YAMLError):
            yamlgo.load(text)
    else:
        assert yamlgo.load(text) == expected


def test_yaml_documents_with_tabs_are_all_read() -> None:
    docs = list(yamlgo.load_all("a:\tb\n---\nc: d\t\n"))
    assert docs == [{"a": "b"}, {"c": "d"}]


# (string found at an image path, does oc-mirror's ParseRef take it)
PARSE_REF = [
    ("quay.io/ns/app:1.0", True),
    ("quay.io/ns/app@sha256:" + "a" * 64, True),
    ("quay.io/ns/app:1.0@sha256:" + "a" * 64, True),
    ("nginx:1.25", True),
    ("nginx", False),
    ("localhost:5000/app", False),
    ("localhost:5000/app:v1", True),
    ("quay.io/ns/app@sha256:zz!", False),
    ("", False),
    ("docker://quay.io/ns/app:1.0", True),
    ("docker://nginx", False),
    ("oci:///tmp/layout", False),
]


@pytest.mark.parametrize(("text", "taken"), PARSE_REF)
def test_chart_strings_are_taken_as_oc_mirror_takes_them(text: str, taken: bool) -> None:
    assert takes_as_image(text) is taken


def test_default_paths_find_pod_and_template_images() -> None:
    deployment = {"spec": {"template": {"spec": {"initContainers": [{"image": "a:1"}], "containers": [{"image": "b:1"}, {}]}}}}
    pod = {"spec": {"containers": [{"image": "c:1"}]}}
    found = [v for doc in (deployment, pod) for p in DEFAULT_PATHS for v in JsonPath.parse(p).strings(doc)]
    assert found == ["a:1", "b:1", "c:1"]


def test_image_paths_support_index_and_quoted_keys() -> None:
    doc = {"spec": {"images": [{"ref": "x:1"}, {"ref": "y:2"}], "a.b": {"img": "z:3"}}}
    assert list(JsonPath.parse("{.spec.images[1].ref}").strings(doc)) == ["y:2"]
    assert list(JsonPath.parse("{.spec['a.b'].img}").strings(doc)) == ["z:3"]
    assert list(JsonPath.parse("{.spec.missing[*].ref}").strings(doc)) == []


@pytest.mark.parametrize("text", [".spec.image", "{.spec..image}", "{.spec.containers[?(@.name=='x')].image}", "{}"])
def test_unsupported_image_paths_are_refused_by_name(text: str) -> None:
    with pytest.raises(ConfigError, match="imagePaths entry"):
        JsonPath.parse(text)


# ------------------------------------------------------------------------------------- with real helm
def _isc(tmp_path: Path, url: str, charts: list[tuple[str, str]]) -> Path:
    doc = {
        "apiVersion": "mirror.openshift.io/v2alpha1",
        "kind": "ImageSetConfiguration",
        "mirror": {
            "helm": {"repositories": [{"name": "rhdh", "url": url, "charts": [{"name": n, "version": v} for n, v in charts]}]}
        },
    }
    path = tmp_path / "isc.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


CHARTS = [(helmrepo.RHDH, "1.7.0"), (helmrepo.RHDH, "1.8.0"), (helmrepo.ORCHESTRATOR_INFRA, "1.8.0")]


@pytest.fixture
def chart_repo(tmp_path: Path, helm_bin: Path):  # type: ignore[no-untyped-def]
    with helmrepo.start_helm_repo(tmp_path / "repo", helmrepo.default_charts("charts.example.com:5000")) as repo:
        yield repo


def test_plan_lists_every_chart_image_oc_mirror_collects(tmp_path: Path, chart_repo: helmrepo.HelmRepo, cli_run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli_run("plan", "--config", _isc(tmp_path, chart_repo.url, CHARTS), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["charts"]["predicted"] is True and doc["charts"]["unpredicted"] == []
    assert "helm" in doc["covers"]
    expected = helmrepo.expected_images("charts.example.com:5000")
    want = {ref for chart in CHARTS for ref in expected[chart]}
    got = {i["ref"] for i in doc["images"] if i["kind"] == "helm"}
    assert got == want
    hooks = set(helmrepo.hook_images("charts.example.com:5000"))
    assert hooks and not hooks & got, "helm hook (test) pods are not rendered by oc-mirror"
    for image in doc["images"]:
        assert image["role"] == "chart" and image["origins"][0]["config"].startswith("helm.repositories[0].charts[")


def test_plan_without_helm_says_chart_images_are_not_predicted(
    tmp_path: Path, chart_repo: helmrepo.HelmRepo, cli_run, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty) + os.pathsep + "/usr/bin" + os.pathsep + "/bin")
    monkeypatch.delenv("MIRRORKIT_HELM", raising=False)
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None if name == "helm" else "/usr/bin/" + name)
    code, out, err = cli_run("plan", "--config", _isc(tmp_path, chart_repo.url, CHARTS[:1]))
    assert code == 0, err
    assert "helm is not installed" in out and "not predicted" in out
    assert "helm is not installed" in err  # also a warning


def test_a_chart_that_cannot_be_pulled_is_named_not_predicted(tmp_path: Path, chart_repo: helmrepo.HelmRepo, cli_run) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli_run("plan", "--config", _isc(tmp_path, chart_repo.url, [(helmrepo.RHDH, "9.9.9"), CHARTS[1]]), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["charts"]["unpredicted"]) == 1
    assert "helm.repositories[0].charts[0]" in doc["charts"]["unpredicted"][0] and "9.9.9" in doc["charts"]["unpredicted"][0]
    assert {i["ref"] for i in doc["images"]} == set(helmrepo.expected_images("charts.example.com:5000")[CHARTS[1]])


def test_charts_omitted_means_every_non_library_chart_version(tmp_path: Path, chart_repo: helmrepo.HelmRepo, cli_run) -> None:  # type: ignore[no-untyped-def]
    doc = {
        "apiVersion": "mirror.openshift.io/v2alpha1",
        "kind": "ImageSetConfiguration",
        "mirror": {"helm": {"repositories": [{"name": "rhdh", "url": chart_repo.url}]}},
    }
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    code, out, err = cli_run("plan", "--config", path, "--json")
    assert code == 0, err
    expected = helmrepo.expected_images("charts.example.com:5000")
    assert {i["ref"] for i in json.loads(out)["images"]} == {ref for refs in expected.values() for ref in refs}


def test_charts_omitted_reads_the_index_as_oc_mirror_does(tmp_path: Path, chart_repo: helmrepo.HelmRepo, cli_run) -> None:  # type: ignore[no-untyped-def]
    """oc-mirror appends "index.yaml" to the URL as written: without the trailing "/" it fails, and so
    does the plan, saying why. (A URL naming index.yaml fails earlier in oc-mirror, when Helm adds the
    repository: Helm appends index.yaml again; helm pull fails the same way here.)"""
    for url, works in ((chart_repo.url.rstrip("/"), False), (chart_repo.url + "index.yaml", False), (chart_repo.url, True)):
        doc = {
            "apiVersion": "mirror.openshift.io/v2alpha1",
            "kind": "ImageSetConfiguration",
            "mirror": {"helm": {"repositories": [{"name": "rhdh", "url": url}]}},
        }
        path = tmp_path / "all.yaml"
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        code, out, err = cli_run("plan", "--config", path, "--json")
        assert code == 0, err
        charts = json.loads(out)["charts"]
        if works:
            assert charts["unpredicted"] == []
        else:
            assert len(charts["unpredicted"]) == 1, charts
            assert url.endswith("/index.yaml") or "end the URL with '/'" in charts["unpredicted"][0]


def test_plugins_follow_the_chart_before_anything_is_mirrored(tmp_path: Path, chart_repo: helmrepo.HelmRepo, cli_run) -> None:  # type: ignore[no-untyped-def]
    """The rhdh chart's defaults name the Orchestrator plugins at one version: a pack asking for
    another refuses at once (exit 2, nothing mirrored), naming both versions."""
    from mirrorkit.install.charts import check_specs_follow_chart

    chart = {"@redhat/backstage-plugin-orchestrator": "1.8.2"}
    check_specs_follow_chart("rhdh", chart, ["@redhat/backstage-plugin-orchestrator@^1.8.0", "other@1.0.0"])
    check_specs_follow_chart("rhdh", chart, ["@redhat/backstage-plugin-orchestrator@latest"])  # known only once pulled
    with pytest.raises(ConfigError, match=r"chart names 1\.8\.2, the profile asks for 1\.8\.0"):
        check_specs_follow_chart("rhdh", chart, ["@redhat/backstage-plugin-orchestrator@1.8.0"])

    out = tmp_path / "bundle"
    code, _out, err = cli_run(
        "pack",
        "--config",
        _isc(tmp_path, chart_repo.url, [(helmrepo.RHDH, "1.8.0")]),
        "--plugin",
        "@redhat/backstage-plugin-orchestrator@1.8.0",
        "--source-npm",
        "http://127.0.0.1:9/",
        "--output",
        out,
        "--no-tls-verify",
        "--unsigned",
    )
    assert code == 2, err
    assert "do not follow the chart redhat-developer-hub 1.8.0" in err and "1.8.2" in err
    assert not (out / "images").exists()
