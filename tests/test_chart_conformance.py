"""mirrorkit's plan and the oc-mirror test double read charts alike: one scenario, two readings.

The double (tests/ocmirror_double/helm.py) and mirrorkit (mirrorkit/helm/) are independent
implementations of oc-mirror's chart collection, both rendering with the real helm. Every scenario
here runs through both and their image lists must be the same, so neither can drift alone. (The real
oc-mirror would be the third reading; it cannot be built here, see README "Real tools".)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from mirrorkit.helm import collect_chart_images
from mirrorkit.imageset.model import Helm, LocalChart
from tests.services.helmrepo import ChartSpec, build_chart, default_charts, library_chart

REG = "registry.test:5000"


def _double() -> ModuleType:
    path = Path(__file__).parent / "ocmirror_double" / "helm.py"
    spec = importlib.util.spec_from_file_location("ocmirror_double_helm_conformance", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


DOUBLE = _double()


def _pod(image: str, kind: str = "Pod", annotations: str = "") -> str:
    return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: p\n{annotations}spec:\n  containers:\n    - name: c\n      image: {image}\n"


def _scenarios() -> dict[str, tuple[ChartSpec, list[str]]]:
    app = ChartSpec(name="app", version="1.0.0", templates={"p.yaml": _pod(f"{REG}/sub-app:1")})
    sub = ChartSpec(
        name="sub", version="1.0.0", values={"repo": "sub-default"}, templates={"p.yaml": _pod(f"{REG}/{{{{ .Values.repo }}}}:1")}
    )
    off = ChartSpec(name="off", version="1.0.0", templates={"p.yaml": _pod(f"{REG}/disabled:1")})
    found: dict[str, tuple[ChartSpec, list[str]]] = {
        f"default-{spec.name}-{spec.version}": (spec, []) for spec in default_charts(REG)
    }
    found.update(
        {
            "library-at-top": (
                ChartSpec(
                    name="toplib",
                    version="0.2.0",
                    chart_type="library",
                    templates={"p.yaml": _pod("x.test/lib:1")},
                    crds={"c.yaml": _pod(f"{REG}/lib-crd:1")},
                    subcharts=(app,),
                    dependencies=({"name": "app", "version": "1.0.0"},),
                ),
                [],
            ),
            "library-alone": (library_chart(), []),
            "missing-dependency-and-kube-version": (
                ChartSpec(
                    name="probe",
                    version="0.1.0",
                    templates={"p.yaml": _pod(f"{REG}/app:1")},
                    extra_files={
                        "Chart.yaml": b"apiVersion: v2\nname: probe\nversion: 0.1.0\nkubeVersion: '>=9.99.0-0'\n"
                        b"dependencies:\n- name: absent\n  version: 1.0.0\n  repository: https://charts.example.test/\n"
                    },
                ),
                [],
            ),
            "alias-condition-and-crd": (
                ChartSpec(
                    name="parent",
                    version="1.0.0",
                    values={"renamed": {"repo": "from-parent"}, "off": {"enabled": False}},
                    templates={},
                    crds={"crd.yaml": _pod(f"{REG}/crd:1")},
                    subcharts=(sub, off),
                    subchart_archives=True,
                    dependencies=(
                        {"name": "sub", "version": "1.0.0", "alias": "renamed"},
                        {"name": "off", "version": "1.0.0", "condition": "off.enabled"},
                    ),
                ),
                [],
            ),
            "tabs-hooks-and-image-paths": (
                ChartSpec(
                    name="tabs",
                    version="1.0.0",
                    templates={
                        "p.yaml": _pod(f"{REG}/tabbed:1\t# a comment", annotations="  annotations:\n    d:\tx\ty\n"),
                        "hook.yaml": _pod(f"{REG}/hook:1", annotations='  annotations:\n    "helm.sh/hook": test\n'),
                        "cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nspec:\n  extra:\n    - ref: {REG}/extra:1\n    - ref: nginx\n",
                    },
                ),
                ["{.spec.extra[*].ref}"],
            ),
        }
    )
    return found


SCENARIOS = _scenarios()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_mirrorkit_and_the_double_collect_the_same_chart_images(name: str, tmp_path: Path, helm_bin: Path) -> None:
    spec, image_paths = SCENARIOS[name]
    archive = tmp_path / spec.filename
    archive.write_bytes(build_chart(spec))
    local = [{"name": spec.name, "path": str(archive), "imagepaths": image_paths}]
    double = [c.image for c in DOUBLE.collect({"local": local}, tmp_path / "work", pull=True, tls_verify=True)]
    section = Helm(local=(LocalChart(name=spec.name, path=str(archive), image_paths=tuple(image_paths)),))
    ours = collect_chart_images(section)
    assert ours.unpredicted == ()
    mine = list(dict.fromkeys(i.ref for i in ours.images))
    assert mine == list(dict.fromkeys(double)), f"{name}: mirrorkit {mine} vs double {double}"
    if name.startswith("default-") and spec.chart_type != "library":
        assert mine, "a default chart must name images, or the comparison proves nothing"
