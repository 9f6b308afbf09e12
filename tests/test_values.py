"""values.yaml and dynamic-plugins ConfigMap: layout the RHDH docs show, merging, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mirrorkit.install.values import write_dynamic_plugins_configmap, write_values
from mirrorkit.npm.index import IndexEntry, NpmIndex, read_index, write_index

NPM = "http://npm.local:4873"


def entry(name: str, version: str, integrity: str) -> IndexEntry:
    base = name.rpartition("/")[2]
    return IndexEntry(
        name, version, integrity, "0" * 40, 1, f"{name}-{version}.tgz".replace(base + "-", base + "-"), "https://src/x.tgz"
    )


def make_index(tmp_path: Path) -> NpmIndex:
    index = NpmIndex(tmp_path).with_entries(
        [
            entry("@redhat/backstage-plugin-orchestrator-backend-dynamic", "1.8.2", "sha512-BBB"),
            entry("@redhat/backstage-plugin-orchestrator", "1.8.0", "sha512-OLD"),
            entry("@redhat/backstage-plugin-orchestrator", "1.8.2", "sha512-AAA"),
            entry("@redhat/backstage-plugin-orchestrator", "1.10.0", "sha512-NEW"),
        ]
    )
    write_index(index)
    return read_index(tmp_path)


def test_values_layout_matches_the_docs(tmp_path):
    out = write_values(make_index(tmp_path), NPM, tmp_path / "values.yaml", plugin_config=False)
    text = out.read_text()
    doc = yaml.safe_load(text)
    assert list(doc) == ["orchestrator"]
    assert doc["orchestrator"]["plugins"] == [
        {
            "disabled": False,
            "package": f"{NPM}/@redhat/backstage-plugin-orchestrator/-/backstage-plugin-orchestrator-1.10.0.tgz",
            "integrity": "sha512-NEW",
        },
        {
            "disabled": False,
            "package": f"{NPM}/@redhat/backstage-plugin-orchestrator-backend-dynamic/-/backstage-plugin-orchestrator-backend-dynamic-1.8.2.tgz",
            "integrity": "sha512-BBB",
        },
    ]
    assert text.index("disabled") < text.index("package") < text.index("integrity")  # the docs' key order
    again = write_values(make_index(tmp_path), NPM + "/", tmp_path / "values2.yaml", plugin_config=False)
    assert again.read_text() == text  # deterministic, trailing slash irrelevant


def test_values_keep_the_chart_plugin_config_an_override_would_drop(tmp_path):
    """Helm replaces the chart's orchestrator.plugins list as a whole; its default entries carry a
    pluginConfig (data index URL in the release namespace, frontend routes), so ours must too."""
    doc = yaml.safe_load(write_values(make_index(tmp_path), NPM, tmp_path / "values.yaml").read_text())
    front, back = doc["orchestrator"]["plugins"]
    assert list(front)[:3] == ["disabled", "package", "integrity"]
    assert back["pluginConfig"] == {
        "orchestrator": {"dataIndexService": {"url": "http://sonataflow-platform-data-index-service.{{ .Release.Namespace }}"}}
    }
    frontend = front["pluginConfig"]["dynamicPlugins"]["frontend"]["red-hat-developer-hub.backstage-plugin-orchestrator"]
    assert frontend["dynamicRoutes"][0]["path"] == "/orchestrator"
    assert "dependencies" not in back  # an Operator (ConfigMap) feature, not in the chart's entries


def test_values_merge_keeps_a_users_own_plugin_config(tmp_path):
    values_in = tmp_path / "in.yaml"
    custom = {"orchestrator": {"dataIndexService": {"url": "http://my-data-index.ns"}}}
    values_in.write_text(
        yaml.safe_dump(
            {
                "orchestrator": {
                    "plugins": [
                        {
                            "disabled": True,
                            "package": "@redhat/backstage-plugin-orchestrator-backend-dynamic@1.8.0",
                            "integrity": "sha512-upstream",
                            "pluginConfig": custom,
                        },
                    ]
                }
            }
        )
    )
    doc = yaml.safe_load(write_values(make_index(tmp_path), NPM, tmp_path / "out.yaml", values_in).read_text())
    back = doc["orchestrator"]["plugins"][0]
    assert (back["disabled"], back["integrity"], back["pluginConfig"]) == (False, "sha512-BBB", custom)
    assert back["package"].startswith(NPM)


def test_values_merge_keeps_other_keys_and_plugins(tmp_path):
    values_in = tmp_path / "in.yaml"
    values_in.write_text(
        yaml.safe_dump(
            {
                "global": {
                    "dynamic": {"plugins": [{"package": "./dynamic-plugins/dist/backstage-plugin-signals", "disabled": False}]}
                },
                "orchestrator": {
                    "enabled": True,
                    "sonataflowPlatform": {"externalDBName": "db"},
                    "plugins": [
                        {
                            "disabled": False,
                            "package": "https://npm.registry.redhat.com/@redhat/backstage-plugin-orchestrator/-/backstage-plugin-orchestrator-1.8.0.tgz",
                            "integrity": "sha512-upstream",
                        },
                        {"disabled": True, "package": "@other/custom-plugin@1.0.0"},
                    ],
                },
            }
        )
    )
    doc = yaml.safe_load(
        write_values(make_index(tmp_path), NPM, tmp_path / "out.yaml", values_in, plugin_config=False).read_text()
    )
    assert doc["global"]["dynamic"]["plugins"][0]["package"].endswith("backstage-plugin-signals")
    assert doc["orchestrator"]["enabled"] is True and doc["orchestrator"]["sonataflowPlatform"] == {"externalDBName": "db"}
    plugins = doc["orchestrator"]["plugins"]
    assert [p["integrity"] if "integrity" in p else p["package"] for p in plugins] == [
        "sha512-NEW",
        "@other/custom-plugin@1.0.0",
        "sha512-BBB",
    ]
    assert all(p["package"].startswith(NPM) for p in plugins if "integrity" in p)


def test_configmap_has_includes_plugins_and_doc_plugin_config(tmp_path):
    out = write_dynamic_plugins_configmap(
        make_index(tmp_path), NPM, tmp_path / "cm.yaml", name="orchestrator-plugin", namespace="rhdh"
    )
    doc = yaml.safe_load(out.read_text())
    assert doc["apiVersion"] == "v1" and doc["kind"] == "ConfigMap"
    assert doc["metadata"] == {"name": "orchestrator-plugin", "namespace": "rhdh"}
    assert "dynamic-plugins.yaml: |" in out.read_text()  # readable literal block
    inner = yaml.safe_load(doc["data"]["dynamic-plugins.yaml"])
    assert inner["includes"] == ["dynamic-plugins.default.yaml"]
    front, back = inner["plugins"]
    assert front["integrity"] == "sha512-NEW" and front["disabled"] is False
    assert "red-hat-developer-hub.backstage-plugin-orchestrator" in front["pluginConfig"]["dynamicPlugins"]["frontend"]
    assert back["dependencies"] == [{"ref": "sonataflow"}]
    assert back["pluginConfig"]["orchestrator"]["dataIndexService"]["url"] == "http://sonataflow-platform-data-index-service"
    plain = yaml.safe_load(
        yaml.safe_load(
            write_dynamic_plugins_configmap(make_index(tmp_path), NPM, tmp_path / "cm2.yaml", plugin_config=False).read_text()
        )["data"]["dynamic-plugins.yaml"]
    )
    assert all(set(p) == {"package", "integrity", "disabled"} for p in plain["plugins"])


@pytest.mark.integration
def test_values_cli_refuses_bad_values_file_and_unserved_packages(tmp_path, cli_run, verdaccio):
    make_index(tmp_path / "mirror")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    code, _, err = cli_run(
        "values", tmp_path / "mirror", "--target-npm", NPM, "--values-in", bad, "-o", tmp_path / "o", "--no-check"
    )
    assert code == 2 and "not a YAML mapping" in err
    code, _, err = cli_run("values", tmp_path / "mirror", "--target-npm", verdaccio.url, "-o", tmp_path / "o")
    assert code == 1 and "not served" in err and "@redhat/backstage-plugin-orchestrator@1.10.0" in err
    assert not (tmp_path / "o" / "values.yaml").exists()
