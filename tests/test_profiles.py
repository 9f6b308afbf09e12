"""Curated profiles and the builder: values from the seed documents, custom profile files, CLI."""

from __future__ import annotations

import dataclasses
import json
import textwrap

import pytest

from mirrorkit.errors import BundleError, InputError, InvalidReference
from mirrorkit.imageset import ImageSetConfig, InvalidConfiguration, build_imageset
from mirrorkit.imageset.profiles import Profile, list_profiles, load_profile, loads_profile, profiles_dir

OSL = "registry.redhat.io/openshift-serverless-1"
PLUGINS = (
    "backstage-plugin-orchestrator",
    "backstage-plugin-orchestrator-backend-dynamic",
    "backstage-plugin-scaffolder-backend-module-orchestrator-dynamic",
    "backstage-plugin-orchestrator-form-widgets",
)


def local_profile(host: str = "127.0.0.1:5000", **overrides: str) -> str:
    """A profile pointing at local services, as the demo and integration tests write them."""
    values = {"name": "local-test", "npm": "http://127.0.0.1:4873", "ocp": "4.19", **overrides}
    return textwrap.dedent(
        f"""\
        apiVersion: mirrorkit/v1
        kind: Profile
        name: {values["name"]}
        description: local registry test profile
        release: "1.8"
        ocp: "{values["ocp"]}"
        mirror:
          additionalImages:
            - name: {host}/osl/logic-data-index-postgresql-rhel8:1.36.0
          operators:
            - catalog: {host}/redhat/redhat-operator-index:v{{ocp}}
              packages:
                - name: logic-operator-rhel8
                  channels: [{{name: alpha, minVersion: 1.36.0, maxVersion: 1.36.0}}]
          helm:
            repositories:
              - name: local
                url: http://127.0.0.1:8080/charts
                charts: [{{name: redhat-developer-hub, version: "1.8.0"}}]
        bundleImages:
          - {host}/osl/logic-operator-bundle:1.36.0-8
        npm:
          registry: {values["npm"]}
          packages:
            - "@redhat/backstage-plugin-orchestrator@1.8.0"
        """
    )


def test_curated_profiles_are_listed_and_named_after_their_files():
    names = [p.name for p in list_profiles()]
    assert {"rhdh-orchestrator-1.7", "rhdh-orchestrator-1.8"} <= set(names)
    assert names == sorted(names)
    for name in names:
        assert (profiles_dir() / f"{name}.yaml").is_file()
    assert (profiles_dir() / "README.md").is_file()


def test_profile_1_8_holds_the_documented_values():
    p = load_profile("rhdh-orchestrator-1.8")
    assert isinstance(p, Profile)
    assert (p.release, p.ocp) == ("1.8", "4.19")
    assert p.bundle_images == () and p.discover_images  # catalog discovery opens the selected bundle
    assert p.npm_registry == "https://npm.registry.redhat.com"
    assert p.npm_packages == tuple(f"@redhat/{name}@1.8.2" for name in PLUGINS)  # what chart 1.8.0 names
    images = [i.name for i in p.mirror.additional_images]
    assert len(images) == 7 and all(i.startswith(f"{OSL}/logic-") and i.endswith(":1.36.0") for i in images)
    charts = {(c.name, c.version) for c in p.mirror.helm.repositories[0].charts}
    assert charts == {("redhat-developer-hub", "1.8.0"), ("redhat-developer-hub-orchestrator-infra", "1.8.0")}
    assert any("1.36.0-8" in note for note in p.notes)


def test_profile_1_7_uses_the_1_7_plugins_and_says_what_is_assumed():
    p = load_profile("rhdh-orchestrator-1.7")
    assert p.release == "1.7"
    assert p.npm_packages == tuple(f"@redhat/{name}@1.7.1" for name in PLUGINS)
    assert {c.version for c in p.mirror.helm.repositories[0].charts} == {"1.7.3"}
    assert any("assumed" in note.lower() and "1.7.3" in note for note in p.notes)
    # no invented source: the RHDH 1.7 Orchestrator guide has no air-gapped chapter printing a chart version
    assert any("1.7.3" in note and "not documented" in note for note in p.notes)
    assert not any("edition" in note for note in p.notes)
    packages = {pkg.name: pkg.channels[0] for pkg in p.mirror.operators[0].packages}
    assert (packages["serverless-operator"].name, packages["serverless-operator"].max_version) == ("stable", "1.36.1")
    assert (packages["logic-operator-rhel8"].name, packages["logic-operator-rhel8"].max_version) == ("alpha", "1.36.0")


@pytest.mark.parametrize("name", ["rhdh-orchestrator-1.7", "rhdh-orchestrator-1.8"])
def test_every_curated_profile_builds_a_valid_config_for_each_flow(name):
    for install in ("helm", "operator"):
        config = build_imageset(load_profile(name), install=install).config
        assert config.validate() == []
        assert (config.helm is not None) == (install == "helm")
        assert ImageSetConfig.loads(config.render()) == config


def test_ocp_option_changes_the_catalog_tag_only():
    profile = load_profile("rhdh-orchestrator-1.8")
    a = build_imageset(profile, ocp="4.18").config
    b = build_imageset(profile).config
    assert a.operators[0].catalog.endswith(":v4.18") and b.operators[0].catalog.endswith(":v4.19")
    assert a.render().replace("v4.18", "v4.19") == b.render()
    with pytest.raises(InputError):
        build_imageset(profile, ocp="four")


def _with_bundle_images() -> Profile:
    """A curated profile plus the bundleImages a custom profile may still name."""
    return dataclasses.replace(load_profile("rhdh-orchestrator-1.8"), bundle_images=(f"{OSL}/logic-operator-bundle:1.36.0-8",))


def test_extra_and_resolved_images_are_added_once_and_deterministically():
    profile = _with_bundle_images()
    seen: list = []

    def resolver(bundles):
        seen.append(tuple(bundles))
        return [
            "quay.io/z/last:1",
            f"{OSL}/logic-swf-devmode-rhel8:1.36.0",
            "quay.io/a/first:1",
            "quay.io/z/last:1",
            "quay.io/extra/x:1",
        ]

    result = build_imageset(profile, extra_images=["quay.io/extra/x:1", "quay.io/extra/x:1"], bundle_resolver=resolver)
    assert seen == [profile.bundle_images]
    assert result.added_images == ("quay.io/a/first:1", "quay.io/z/last:1")
    assert result.config.additional_images[7:] == ["quay.io/extra/x:1", "quay.io/a/first:1", "quay.io/z/last:1"]
    reversed_result = build_imageset(
        profile, extra_images=["quay.io/extra/x:1"], bundle_resolver=lambda b: list(reversed(resolver(b)))
    )
    assert reversed_result.config.render() == result.config.render()
    assert build_imageset(profile).added_images == ()


def test_bad_extra_or_resolved_image_is_refused():
    profile = _with_bundle_images()
    with pytest.raises(InvalidReference):
        build_imageset(profile, extra_images=["not a ref"])
    with pytest.raises(BundleError):
        build_imageset(profile, bundle_resolver=lambda b: ["Bad/Ref"])


def test_profile_from_a_path_pointing_at_local_services(tmp_path, cli_run):
    path = tmp_path / "local.yaml"
    path.write_text(local_profile())
    profile = load_profile(str(path))
    assert profile.name == "local-test" and profile.npm_registry == "http://127.0.0.1:4873"
    assert profile.source == str(path)
    code, out, err = cli_run(
        "imageset",
        "build",
        "--profile",
        str(path),
        "--ocp",
        "4.18",
        "--install",
        "operator",
        "--add-image",
        "127.0.0.1:5000/extra/img:2",
    )
    assert code == 0, err
    config = ImageSetConfig.loads(out)
    assert config.operators[0].catalog == "127.0.0.1:5000/redhat/redhat-operator-index:v4.18"
    assert config.helm is None
    assert config.additional_images == [
        "127.0.0.1:5000/osl/logic-data-index-postgresql-rhel8:1.36.0",
        "127.0.0.1:5000/extra/img:2",
    ]


def test_invalid_profile_lists_every_problem_with_its_key_path(tmp_path, cli_run):
    text = (
        local_profile(host="127.0.0.1:5000", npm="ftp://npm")
        .replace('"@redhat/backstage-plugin-orchestrator@1.8.0"', '"@redhat/backstage-plugin-orchestrator@latest"')
        .replace("logic-operator-bundle:1.36.0-8", "logic-operator-bundle")
        .replace("maxVersion: 1.36.0}", "maxVersion: 1.35.0}")
        + "colour: blue\n"
    )
    with pytest.raises(InvalidConfiguration) as info:
        loads_profile(text, source="p.yaml")
    paths = {i.path for i in info.value.issues}
    assert paths == {
        "colour",
        "npm.registry",
        "npm.packages[0]",
        "bundleImages[0]",
        "mirror.operators[0].packages[0].channels[0].minVersion",
    }
    path = tmp_path / "p.yaml"
    path.write_text(text)
    code, out, err = cli_run("imageset", "build", "--profile", str(path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 5 and "Traceback" not in err


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda t: t.replace("kind: Profile", "kind: Other"), "kind"),
        (lambda t: t.replace('ocp: "4.19"', 'ocp: "latest"'), "ocp"),
        (lambda t: t.replace("name: local-test", "name: Local Test"), "name"),
        (lambda t: t.replace("description: local registry test profile\n", ""), "description"),
        (lambda t: t.replace('release: "1.8"', "release: 1.8"), "release"),
    ],
)
def test_profile_header_errors(change, path):
    with pytest.raises(InvalidConfiguration) as info:
        loads_profile(change(local_profile()), source="p.yaml")
    assert path in {i.path for i in info.value.issues}


def test_curated_profile_must_match_its_file_name(tmp_path):
    with pytest.raises(InvalidConfiguration) as info:
        loads_profile(local_profile(), source="x.yaml", expect_name="other")
    assert [i.path for i in info.value.issues] == ["name"]


def test_unknown_profile_name_is_one_line_exit_2(cli_run):
    code, out, err = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-0.1")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "rhdh-orchestrator-1.8" in lines[0] and "mirrorkit profiles" in lines[0]


def test_missing_profile_path_is_one_line_exit_2(cli_run, tmp_path):
    code, _, err = cli_run("imageset", "build", "--profile", str(tmp_path / "nope.yaml"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nope.yaml" in err


@pytest.mark.parametrize("args", [["--ocp", "4"], ["--add-image", "bad ref"]])
def test_bad_build_options_are_one_line_exit_2(cli_run, args):
    code, out, err = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.8", *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1


def test_build_writes_file_atomically_and_reports(cli_run, tmp_path):
    out = tmp_path / "isc.yaml"
    code, stdout, err = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.7", "--output", str(out))
    assert code == 0 and stdout == ""
    assert "7 additional image(s)" in err and "2 chart(s)" in err
    assert [p.name for p in tmp_path.iterdir()] == ["isc.yaml"]
    assert ImageSetConfig.load(out).helm.repositories[0].charts[0].version == "1.7.3"


def test_profiles_command_one_line_each_and_json(cli_run):
    code, out, _ = cli_run("profiles")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(list_profiles())
    assert lines[1].startswith("rhdh-orchestrator-1.8 ") and "ocp 4.19" in lines[1]
    code, out, _ = cli_run("profiles", "--json")
    data = json.loads(out)
    by_name = {p["name"]: p for p in data}
    assert by_name["rhdh-orchestrator-1.8"]["npmPackages"][0] == "@redhat/backstage-plugin-orchestrator@1.8.2"
    assert by_name["rhdh-orchestrator-1.7"]["release"] == "1.7"


def test_install_flag_picks_the_flow_and_the_old_helm_flags_stay_aliases(cli_run):
    code, helm_out, err = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.8", "--install", "helm")
    assert code == 0, err
    code, default_out, _ = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.8")
    assert default_out == helm_out and ImageSetConfig.loads(helm_out).helm is not None
    code, operator_out, err = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.8", "--install", "operator")
    assert code == 0, err
    config = ImageSetConfig.loads(operator_out)
    assert config.helm is None
    rhdh = [p for p in config.operators[0].packages if p.name == "rhdh"]
    assert [(p.default_channel, [c.name for c in p.channels]) for p in rhdh] == [("fast-1.8", ["fast-1.8"])]
    code, alias_out, err = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.8", "--no-helm")
    assert code == 0 and alias_out == operator_out
    assert "--no-helm is deprecated in 'mirrorkit imageset build'; use --install operator" in err
    code, _, err = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.8", "--install", "olm")
    assert code == 2 and "helm" in err and "operator" in err


def test_operator_flow_adds_a_catalog_when_the_profile_has_none():
    from mirrorkit.imageset.build import mirror_for_flow
    from mirrorkit.imageset.model import Mirror

    mirror = mirror_for_flow(Mirror(), "operator", release="1.7", ocp="4.18")
    assert mirror.operators[0].catalog == "registry.redhat.io/redhat/redhat-operator-index:v4.18"
    assert [p.name for p in mirror.operators[0].packages] == ["rhdh"]
    assert mirror.operators[0].packages[0].channels[0].name == "fast-1.7"
    with pytest.raises(InputError):
        mirror_for_flow(Mirror(), "kustomize", release="1.7", ocp="4.18")


def test_profiles_show_says_what_each_flow_carries(cli_run):
    code, out, err = cli_run("profiles", "show", "rhdh-orchestrator-1.8")
    assert code == 0, err
    helm_part, operator_part = out.split("--install operator:")
    assert "chart redhat-developer-hub 1.8.0" in helm_part and "operator rhdh" not in helm_part
    flow_lines = operator_part.split("\nnpm packages")[0]
    assert "  chart " not in flow_lines and "operator rhdh: fast-1.8 (channel head), default channel fast-1.8" in operator_part
    assert "@redhat/backstage-plugin-orchestrator@1.8.2" in operator_part  # npm: both flows
    code, out, _ = cli_run("profiles", "show", "rhdh-orchestrator-1.7", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc["flows"]) == {"helm", "operator"}
    assert doc["flows"]["operator"]["charts"] == [] and len(doc["flows"]["helm"]["charts"]) == 2
    code, _, err = cli_run("profiles", "show", "no-such-profile")
    assert code != 0 and "no-such-profile" in err
    code, out, _ = cli_run("profiles")  # the bare command still lists
    assert code == 0 and "rhdh-orchestrator-1.8" in out


def test_discover_images_switch_is_read_and_defaults_on(tmp_path):
    text = local_profile()
    assert loads_profile(text).discover_images is True
    off = loads_profile(text.replace("npm:\n", "discoverImages: false\nnpm:\n", 1))
    assert off.discover_images is False and off.to_json()["discoverImages"] is False
    with pytest.raises(InvalidConfiguration, match="discoverImages"):
        loads_profile(text.replace("npm:\n", "discoverImages: sometimes\nnpm:\n", 1))
