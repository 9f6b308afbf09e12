"""Dynamic plugins as OCI artifacts: references, artifact checks, the catalog index, values, and the
whole plan -> pack -> push -> verify flow with a profile mixing npm and OCI plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mirrorkit.bundle.manifest import ImageEntry, Manifest
from mirrorkit.bundle.signing import generate_keypair
from mirrorkit.errors import CheckFailed, InputError, MirrorkitError
from mirrorkit.install.values import build_dynamic_plugins_configmap, build_values
from mirrorkit.oci.client import OciClient
from mirrorkit.plugins import PluginRef, split_specs
from mirrorkit.plugins.artifact import inspect_plugin
from mirrorkit.plugins.catalog_index import index_configs, plugin_key, read_catalog_index, select
from mirrorkit.plugins.mirrored import MirroredPlugin, mirrored_catalog_index, mirrored_plugins
from mirrorkit.plugins.plan import label_plugins
from tests.services.demo_content import fill_demo_sources, write_demo_profile
from tests.services.images import make_layer, push_image
from tests.services.plugins import push_catalog_index, push_plugin_image

DIGEST = "sha256:" + "a" * 64


def test_references_parse_as_rhdh_reads_them():
    ref = PluginRef.parse("oci://quay.io/rhdh/plugin:1.8.0--1.2!backstage-plugin-x")
    assert (ref.image.registry, ref.image.tag, ref.package) == ("quay.io", "1.8.0--1.2", "backstage-plugin-x")
    assert PluginRef.parse(f"oci://host:5000/a/b@{DIGEST}").package is None
    with pytest.raises(InputError, match="inherit"):
        PluginRef.parse("oci://quay.io/rhdh/plugin:{{inherit}}!x")
    with pytest.raises(InputError, match="no tag or digest"):
        PluginRef.parse("oci://quay.io/rhdh/plugin!x")
    assert split_specs(["@a/b@1.0.0", " oci://q.io/a:1!b"]) == (("@a/b@1.0.0",), ("oci://q.io/a:1!b",))
    assert ref.pinned(f"mirror:5000/rhdh/plugin@{DIGEST}", "x") == f"oci://mirror:5000/rhdh/plugin@{DIGEST}!x"


def test_artifact_holds_the_package_or_is_refused_clearly(registry):
    pushed = push_plugin_image(registry.host, "plugins/multi", "1.0", ("plugin-a", "plugin-b"))
    client = OciClient()
    found = inspect_plugin(client, PluginRef.parse(f"oci://{pushed.ref}!plugin-b"))
    assert found.digest == pushed.digest and found.packages == ("plugin-b",)
    with pytest.raises(CheckFailed, match="does not contain package 'plugin-c'") as wrong:
        inspect_plugin(client, PluginRef.parse(f"oci://{pushed.ref}!plugin-c"))
    assert "declares plugin-a, plugin-b" in (wrong.value.why or "")
    with pytest.raises(InputError, match="names no package and its image declares 2"):
        inspect_plugin(client, PluginRef.parse(f"oci://{pushed.ref}"))
    single = push_plugin_image(registry.host, "plugins/single", "2.0", ("only-one",))
    assert inspect_plugin(client, PluginRef.parse(f"oci://{single.ref}")).packages == ("only-one",)
    liar = push_plugin_image(registry.host, "plugins/liar", "1.0", ("real",), declared=("claimed",))
    with pytest.raises(CheckFailed, match="does not contain package 'claimed'"):
        inspect_plugin(client, PluginRef.parse(f"oci://{liar.ref}!claimed"))
    with pytest.raises(MirrorkitError, match=r"plugin image .* cannot be read"):
        inspect_plugin(client, PluginRef.parse(f"oci://{registry.host}/plugins/missing:1.0!x"))


def test_catalog_index_selects_enabled_plugins(registry):
    a = push_plugin_image(registry.host, "plugins/idx-a", "1.0", ("idx-a",))
    config = {"dynamicPlugins": {"frontend": {"idx-a": {"mountPoints": []}}}}
    index = push_catalog_index(registry.host, "rhdh/plugin-catalog-index", "1.9", {"idx-a": f"oci://{a.ref}"}, {"idx-a": config})
    digest, listed = read_catalog_index(OciClient(), PluginRef.parse(f"oci://{index.ref}"))
    assert digest == index.digest and [p.package for p in listed] == ["idx-a"]
    assert listed[0].config == {"pluginConfig": config}, "the entry's configuration is kept, not its disabled flag"
    assert index_configs(listed) == {(f"{registry.host}/plugins/idx-a", "idx-a"): {"pluginConfig": config}}
    assert select(index.ref, listed, ["idx-a"]) == (f"oci://{a.ref}!idx-a",)
    with pytest.raises(InputError, match="lists no OCI plugin nope"):
        select(index.ref, listed, ["nope"])
    plain = push_image(registry.host, "rhdh/not-an-index", "1", [make_layer({"etc/x": b"x"})])
    with pytest.raises(CheckFailed, match=r"has no dynamic-plugins\.default\.yaml"):
        read_catalog_index(OciClient(), PluginRef.parse(f"oci://{plain.ref}"))


def test_label_refuses_a_digest_that_moved():
    from mirrorkit.plugins.artifact import PluginArtifact
    from mirrorkit.plugins.catalog_index import CatalogIndex

    plugin = PluginArtifact(PluginRef.parse("oci://q.io/a/b:1!p"), DIGEST, ("p",))
    labelled = label_plugins([ImageEntry("q.io/a/b:1", DIGEST)], [plugin])
    assert (labelled[0].kind, labelled[0].package, labelled[0].version) == ("plugin", "p", "1")
    with pytest.raises(CheckFailed, match="changed while pack was planning"):
        label_plugins([ImageEntry("q.io/a/b:1", "sha256:" + "b" * 64)], [plugin])
    index = CatalogIndex(PluginRef.parse("oci://q.io/rhdh/plugin-catalog-index:1.9"), DIGEST, ())
    both = label_plugins(
        [ImageEntry("q.io/a/b:1", DIGEST), ImageEntry("q.io/rhdh/plugin-catalog-index:1.9", DIGEST)], [plugin], index
    )
    assert [(i.kind, i.package) for i in both] == [("plugin", "p"), ("plugin", "")], (
        "the index is a plugin image without a package"
    )
    with pytest.raises(CheckFailed, match=r"plugin-catalog-index:1\.9 changed while pack was planning"):
        label_plugins(
            [ImageEntry("q.io/a/b:1", DIGEST), ImageEntry("q.io/rhdh/plugin-catalog-index:1.9", "sha256:" + "c" * 64)],
            [plugin],
            index,
        )
    assert plugin_key(f"oci://q.io/a/b@{DIGEST}!p") == plugin_key("oci://q.io/a/b:2!p") == ("q.io/a/b", "p")


def test_values_and_configmap_pin_oci_plugins_by_digest(tmp_path):
    pinned = MirroredPlugin("p", f"oci://mirror:5000/a/b@{DIGEST}!p", "q.io/a/b:1")
    existing = tmp_path / "in.yaml"
    existing.write_text(
        yaml.safe_dump({"global": {"dynamic": {"plugins": [{"package": "oci://q.io/a/b:1!p", "pluginConfig": {"k": 1}}]}}})
    )
    values = build_values(None, "", existing, oci_plugins=[pinned])
    assert values["global"]["dynamic"]["plugins"] == [{"package": pinned.package, "pluginConfig": {"k": 1}}]
    assert "orchestrator" not in values
    configmap = build_dynamic_plugins_configmap(None, "", oci_plugins=[pinned])
    assert yaml.safe_load(configmap["data"]["dynamic-plugins.yaml"])["plugins"] == [
        {"package": pinned.package, "disabled": False}
    ]
    manifest = Manifest(
        created="2026-01-01T00:00:00Z",
        mirrorkit_version="x",
        images=(ImageEntry("q.io/a/b:1", DIGEST, "a/b", "plugin", "p,q", "1"),),
    )
    assert [p.package for p in mirrored_plugins(manifest, "mirror:5000", None)] == [
        f"oci://mirror:5000/a/b@{DIGEST}!p",
        f"oci://mirror:5000/a/b@{DIGEST}!q",
    ]
    assert mirrored_catalog_index(manifest, "mirror:5000", None) is None


def test_index_plugin_config_lands_with_the_pinned_reference(tmp_path):
    """The index's keys go with the mirrored reference (the installer would not merge them: another
    registry is another plugin key); a user's own keys win; the index goes in by digest."""
    config = {"pluginConfig": {"dynamicPlugins": {"frontend": {"c": {"mountPoints": [{"mountPoint": "x"}]}}}}}
    pinned = MirroredPlugin("c", f"oci://mirror:5000/a/c@{DIGEST}!c", "q.io/a/c:1", config)
    location = f"mirror:5000/rhdh/plugin-catalog-index@{DIGEST}"
    values = build_values(None, "", oci_plugins=[pinned], catalog_index=location)
    assert values["global"]["dynamic"]["plugins"] == [{"package": pinned.package, "disabled": False, **config}]
    assert values["global"]["dynamic"]["catalogIndex"] == {"image": location}
    existing = tmp_path / "in.yaml"
    mine = {"pluginConfig": {"mine": True}}
    existing.write_text(yaml.safe_dump({"global": {"dynamic": {"plugins": [{"package": "oci://q.io/a/c:1!c", **mine}]}}}))
    merged = build_values(None, "", existing, oci_plugins=[pinned], catalog_index=location)
    assert merged["global"]["dynamic"]["plugins"] == [{"package": pinned.package, **mine}]
    configmap = build_dynamic_plugins_configmap(None, "", oci_plugins=[pinned])
    assert yaml.safe_load(configmap["data"]["dynamic-plugins.yaml"])["plugins"] == [
        {"package": pinned.package, "disabled": False, **config}
    ]
    manifest = Manifest(
        created="2026-01-01T00:00:00Z",
        mirrorkit_version="x",
        images=(ImageEntry("q.io/rhdh/plugin-catalog-index:1.9", DIGEST, "rhdh/plugin-catalog-index", "plugin", "", "1.9"),),
    )
    assert mirrored_catalog_index(manifest, "mirror:5000", None) == location


# -- the whole flow -------------------------------------------------------------------------------


def _mirrorkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mirrorkit", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.integration
def test_profile_mixing_npm_and_oci_plugins_goes_pack_push_verify(
    registry_factory, verdaccio_factory, oc_mirror_double, skopeo, tmp_path
):
    source, source_npm = registry_factory(), verdaccio_factory()
    content = fill_demo_sources(source.host, source_npm.url, source_npm.add_user("publisher", "pw-publisher"), tmp_path / "npm")
    multi = push_plugin_image(source.host, "rhdh-plugin-catalog/multi", "1.8.0", ("plugin-a", "plugin-b"))
    listed = push_plugin_image(source.host, "rhdh-plugin-catalog/listed", "1.8.0", ("plugin-c",))
    c_config = {"dynamicPlugins": {"frontend": {"example.plugin-c": {"mountPoints": [{"mountPoint": "entity.page/cards"}]}}}}
    index = push_catalog_index(
        source.host, "rhdh/plugin-catalog-index", "1.8", {"plugin-c": f"oci://{listed.ref}"}, {"plugin-c": c_config}
    )
    profile = write_demo_profile(content, tmp_path / "profile.yaml")
    doc = yaml.safe_load(profile.read_text())
    doc["plugins"] = {
        "oci": [f"oci://{multi.ref}!plugin-a", f"oci://{multi.ref}!plugin-b"],
        "catalogIndex": {"image": f"oci://{index.ref}", "enable": ["plugin-c"]},
    }
    profile.write_text(yaml.safe_dump(doc, sort_keys=False))
    env = {
        **os.environ,
        "PATH": f"{oc_mirror_double.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
    }
    bundle = tmp_path / "bundle"
    key, pub, _ = generate_keypair(tmp_path / "key")
    pack = ("pack", "--profile", str(profile), "--output", str(bundle), "--sign-key", str(key), "--no-tls-verify", "-q")

    plan = ("plan", "--profile", str(profile), "--no-tls-verify", "-q")
    planned = _mirrorkit(*plan, env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "3 OCI plugin images" in planned.stdout.splitlines()[0], planned.stdout
    text = planned.stdout.split("\nplugin\n", 1)[1]
    assert f"  plugin-a, plugin-b\n    plugin  {multi.ref} ({multi.digest})" in text, text
    assert f"  plugin-c\n    plugin  {listed.ref} ({listed.digest})" in text, text
    assert f"selects plugin-c)\n    plugin  {index.ref} ({index.digest})" in text, text
    as_json = _mirrorkit(*plan, "--json", "--plugin", f"oci://{multi.ref}!plugin-b", env=env)
    assert as_json.returncode == 0, as_json.stderr
    shown = {i["ref"]: i for i in json.loads(as_json.stdout)["plugins"]}
    assert shown[multi.ref] == {
        "kind": "plugin", "role": "plugin", "ref": multi.ref, "digest": multi.digest, "packages": ["plugin-a", "plugin-b"]
    }  # fmt: skip
    assert (shown[listed.ref]["packages"], shown[listed.ref]["digest"]) == (["plugin-c"], listed.digest)
    assert (shown[index.ref]["role"], shown[index.ref]["kind"], shown[index.ref]["digest"]) == (
        "catalog-index", "plugin", index.digest
    )  # fmt: skip

    wrong = _mirrorkit(*pack, "--plugin", f"oci://{multi.ref}!plugin-z", env=env)
    assert wrong.returncode == 1 and "does not contain package 'plugin-z'" in wrong.stderr, wrong.stderr
    wrong_plan = _mirrorkit(*plan, "--plugin", f"oci://{multi.ref}!plugin-z", env=env)
    assert (wrong_plan.returncode, wrong_plan.stderr) == (wrong.returncode, wrong.stderr), "plan refuses as pack does"
    missing = _mirrorkit(*pack, "--npm", f"oci://{source.host}/rhdh-plugin-catalog/gone:1.0!x", env=env)
    assert missing.returncode != 0 and "plugin image" in missing.stderr and "cannot be read" in missing.stderr, missing.stderr

    packed = _mirrorkit(*pack, env=env)
    assert packed.returncode == 0, packed.stdout + packed.stderr
    manifest = Manifest.from_bytes((bundle / "manifest.json").read_bytes())
    plugins = {i.source: i for i in manifest.images if i.kind == "plugin"}
    assert plugins[multi.ref].package == "plugin-a,plugin-b" and plugins[multi.ref].digest == multi.digest
    assert plugins[listed.ref].package == "plugin-c" and plugins[listed.ref].digest == listed.digest
    assert index.ref in {i.source for i in manifest.images}, "the catalog index travels too"
    sbom = json.loads((bundle / "sbom.cdx.json").read_text()) if (bundle / "sbom.cdx.json").exists() else None
    if sbom is not None:
        assert "plugin-a,plugin-b" in json.dumps(sbom)

    target, target_npm = registry_factory(), verdaccio_factory()
    env_push = {**env, "NPM_TOKEN": target_npm.add_user("bastion", "pw-bastion")}
    out = tmp_path / "out"
    pushed = _mirrorkit(
        "push", str(bundle), "--registry", f"{target.host}/mirror", "--npm-registry", target_npm.url,
        "--verify-key", str(pub), "--output", str(out), "--no-tls-verify", "-q", env=env_push,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    values = yaml.safe_load((out / "values.yaml").read_text())
    oci_entries = [p["package"] for p in values["global"]["dynamic"]["plugins"]]
    expected = {
        f"oci://{target.host}/mirror/rhdh-plugin-catalog/multi@{multi.digest}!plugin-a",
        f"oci://{target.host}/mirror/rhdh-plugin-catalog/multi@{multi.digest}!plugin-b",
        f"oci://{target.host}/mirror/rhdh-plugin-catalog/listed@{listed.digest}!plugin-c",
    }
    assert set(oci_entries) == expected
    by_package = {p["package"]: p for p in values["global"]["dynamic"]["plugins"]}
    pinned_c = f"oci://{target.host}/mirror/rhdh-plugin-catalog/listed@{listed.digest}!plugin-c"
    assert by_package[pinned_c]["pluginConfig"] == c_config, "the index's configuration goes with the mirrored plugin"
    assert "pluginConfig" not in by_package[f"oci://{target.host}/mirror/rhdh-plugin-catalog/multi@{multi.digest}!plugin-a"]
    assert (
        values["global"]["dynamic"]["catalogIndex"]["image"] == f"{target.host}/mirror/rhdh/plugin-catalog-index@{index.digest}"
    )
    assert len(values["orchestrator"]["plugins"]) == len(content.npm_packages), "npm plugins keep their place"
    configmap = yaml.safe_load(yaml.safe_load((out / "dynamic-plugins.yaml").read_text())["data"]["dynamic-plugins.yaml"])
    assert expected <= {p["package"] for p in configmap["plugins"]}
    assert next(p for p in configmap["plugins"] if p["package"] == pinned_c)["pluginConfig"] == c_config
    report = json.loads((out / "report.json").read_text())
    plugin_items = [i for i in report["items"] if i["category"] == "image" and i["subject"] in (multi.ref, listed.ref)]
    assert len(plugin_items) == 2 and all("holds" in i["actual"] for i in plugin_items), plugin_items

    verify = (
        "verify",
        str(bundle),
        "--verify-key",
        str(pub),
        "--registry",
        f"{target.host}/mirror",
        "--npm-registry",
        target_npm.url,
        "--no-tls-verify",
    )
    ok = _mirrorkit(*verify, env=env_push)
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # the artifact changed at the source (repackaged without plugin-b under the same tag): pack refuses
    push_plugin_image(source.host, "rhdh-plugin-catalog/multi", "1.8.0", ("plugin-a",))
    changed = _mirrorkit(*pack, env=env)
    assert changed.returncode == 1 and "does not contain package 'plugin-b'" in changed.stderr, changed.stderr
