"""ImageSetConfiguration: the seed examples, oc-mirror's validation rules, canonical and stable output."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest
import yaml

from mirrorkit.errors import ConfigError
from mirrorkit.imageset import ImageSetConfig, InvalidConfiguration, build_imageset
from mirrorkit.imageset.profiles import load_profile

DATA = Path(__file__).parent / "data" / "imageset"
SEEDS = sorted(DATA.glob("seed-*.yaml"))
HELM_SEEDS = [p for p in SEEDS if "helm" in p.name]
OPERATOR_SEEDS = [p for p in SEEDS if "operator" in p.name]

HEADER = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\n"

# Every field of the reference (oc-mirror-v2.md), platforms without the deprecated architectures.
FULL = HEADER + textwrap.dedent(
    """\
    archiveSize: 4
    mirror:
      platform:
        graph: true
        platforms:
          - os: linux
            architecture: arm64
        channels:
          - name: stable-4.19
            type: ocp
            minVersion: 4.19.1
            maxVersion: 4.19.1
            shortestPath: false
            full: false
      operators:
        - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19
          targetCatalog: my-ns/my-index
          targetTag: v1
          full: false
          packages:
            - name: logic-operator-rhel8
              defaultChannel: alpha
              minVersion: 1.36.0
              maxVersion: 1.36.0
            - name: serverless-operator
              channels:
                - name: stable
                  minVersion: 1.36.0
                  maxVersion: 1.36.1
        - catalog: oci:///srv/catalogs/redhat-operator-index
      additionalImages:
        - name: registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0
          targetRepo: ns/name
          targetTag: t
        - name: quay.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      helm:
        repositories:
          - name: openshift-charts
            url: https://charts.openshift.io
            charts:
              - name: redhat-developer-hub
                version: '1.8'
                imagePaths: []
        local:
          - name: my-chart
            path: /path/chart.tgz
      blockedImages:
        - name: .*redis.*
    """
)


def test_seed_fixtures_are_the_four_documented_examples():
    assert len(SEEDS) == 4 and len(HELM_SEEDS) == 2 and len(OPERATOR_SEEDS) == 2
    for path in SEEDS:
        assert "additionalimages:" in path.read_text()  # verbatim: the docs' lowercase key


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_seed_examples_validate(path):
    config = ImageSetConfig.load(path)
    assert config.validate() == []
    assert len(config.additional_images) == 7
    assert [p.name for p in config.operators[0].packages] == ["logic-operator-rhel8", "serverless-operator"]
    assert (config.helm is not None) == ("helm" in path.name)


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_seed_examples_validate_through_cli(cli_run, path):
    code, out, err = cli_run("imageset", "validate", str(path))
    assert (code, err) == (0, "")
    assert out.startswith(f"{path}: ok")


def test_lowercase_docs_key_is_read_and_written_in_camel_case():
    config = ImageSetConfig.load(HELM_SEEDS[0])
    text = config.render()
    assert "additionalImages:" in text
    assert "additionalimages" not in text


def _facts(config: ImageSetConfig) -> dict:
    """What must agree between the docs' examples and the built profile."""
    catalog = config.operators[0].catalog
    repo, _, tag = catalog.rpartition(":")
    charts = []
    if config.helm:
        for r in config.helm.repositories:
            charts += [(r.name, r.url.rstrip("/"), c.name, c.version) for c in r.charts]
    return {
        "images": sorted(config.additional_images),
        "catalogs": [(repo, tag.removeprefix("v"))],
        "packages": [
            (p.name, p.min_version, p.max_version, [(c.name, c.min_version, c.max_version) for c in p.channels or ()])
            for op in config.operators
            for p in op.packages
        ],
        "charts": sorted(charts),
    }


def _everything(config: ImageSetConfig) -> dict:
    """The whole document as data, with the one deliberate difference (catalog tag ``4.19`` vs ``v4.19``) evened out."""
    from mirrorkit.imageset.render import to_data

    data = to_data(config)
    for operator in data["mirror"].get("operators", []):
        repo, _, tag = operator["catalog"].rpartition(":")
        operator["catalog"] = f"{repo}:{tag.removeprefix('v')}"
    return data


@pytest.mark.parametrize("helm", [True, False], ids=["helm-flow", "operator-flow"])
def test_built_profile_holds_what_the_seed_examples_hold(helm):
    built = build_imageset(load_profile("rhdh-orchestrator-1.8"), ocp="4.19", install="helm" if helm else "operator").config
    if not helm:
        # The one addition over the docs' Operator-flow examples: the RHDH Operator itself, which the docs
        # mirror with a separate script; its channel becomes the default (the catalog's 'fast' is filtered out).
        *orchestrator, rhdh = built.operators[0].packages
        assert (rhdh.name, rhdh.default_channel, [c.name for c in rhdh.channels]) == ("rhdh", "fast-1.8", ["fast-1.8"])
        assert rhdh.channels[0].min_version is None and rhdh.channels[0].max_version is None  # the channel head
        built = ImageSetConfig.new(
            dataclasses.replace(built.mirror, operators=(dataclasses.replace(built.operators[0], packages=tuple(orchestrator)),))
        )
    for seed in HELM_SEEDS if helm else OPERATOR_SEEDS:
        assert _facts(built) == _facts(ImageSetConfig.load(seed)), seed.name
        # nothing more and nothing less: same keys, same order of images, charts, packages and channels
        assert _everything(built) == _everything(ImageSetConfig.load(seed)), seed.name
    # The one deliberate difference: the catalog tag uses the v-prefixed form the docs' comment gives.
    assert built.operators[0].catalog == "registry.redhat.io/redhat/redhat-operator-index:v4.19"
    assert len(built.operators) == 1 and len(built.operators[0].packages) == 2


def test_build_reloads_and_rerenders_to_identical_bytes(tmp_path, cli_run):
    out = tmp_path / "isc.yaml"
    code, _, err = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.8", "-o", str(out))
    assert code == 0, err
    first = out.read_bytes()
    assert ImageSetConfig.load(out).render().encode() == first
    code, stdout, _ = cli_run("imageset", "build", "--profile", "rhdh-orchestrator-1.8")
    assert code == 0 and stdout.encode() == first
    code, _, _ = cli_run("imageset", "validate", str(out))
    assert code == 0


def test_full_reference_config_round_trips_with_every_field():
    config = ImageSetConfig.loads(FULL, source="full.yaml")
    assert config.validate() == []
    text = config.render()
    assert text == FULL
    assert ImageSetConfig.loads(text) == config
    assert config.helm.repositories[0].charts[0].image_paths == ()
    assert config.mirror.operators[1].packages is None  # omitted stays omitted (means "whole catalog")


def test_key_order_and_case_in_the_input_do_not_change_the_output():
    data = yaml.safe_load(FULL)
    shuffled = {
        "MIRROR": dict(reversed(list(data["mirror"].items()))),
        "Kind": data["kind"],
        "archivesize": 4,
        "APIVERSION": data["apiVersion"],
    }
    config = ImageSetConfig.loads(yaml.safe_dump(shuffled, sort_keys=True))
    assert config.render() == FULL


def test_unquoted_version_number_is_refused_with_a_hint():
    text = (
        HEADER + "mirror:\n  helm:\n    repositories:\n      - {name: c, url: https://c.io, charts: [{name: x, version: 1.8}]}\n"
    )
    with pytest.raises(InvalidConfiguration) as info:
        ImageSetConfig.loads(text, source="v.yaml")
    (issue,) = info.value.issues
    assert issue.path == "mirror.helm.repositories[0].charts[0].version"
    assert "quote it" in issue.message


def _mirror(body: str) -> str:
    return HEADER + "mirror:\n" + textwrap.indent(textwrap.dedent(body), "  ")


IMG = "additionalImages:\n  - name: registry.example.com/a/b:1\n"
OPS = "operators:\n  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19\n    packages:\n"

# (id, yaml text, key path that must be named, fragment of the message)
MALFORMED = [
    (
        "unknown-top-key",
        HEADER + "storageConfig: {}\nmirror:\n  " + IMG.replace("\n  -", "\n    -"),
        "storageConfig",
        "unknown key",
    ),
    (
        "unknown-nested-key",
        _mirror("operators:\n  - catalog: registry.io/a/b:v1\n    packages:\n      - name: p\n        bundles: [x]\n"),
        "mirror.operators[0].packages[0].bundles",
        "unknown key",
    ),
    (
        "typo-suggests",
        _mirror("additionalImage:\n  - name: registry.io/a/b:1\n"),
        "mirror.additionalImage",
        "did you mean 'additionalImages'",
    ),
    (
        "wrong-kind",
        HEADER.replace("ImageSetConfiguration", "DeleteImageSetConfiguration") + "mirror:\n  " + IMG.replace("\n  -", "\n    -"),
        "kind",
        "must be ImageSetConfiguration",
    ),
    (
        "wrong-api-version",
        HEADER.replace("v2alpha1", "v1alpha2") + "mirror:\n  " + IMG.replace("\n  -", "\n    -"),
        "apiVersion",
        "v2alpha1",
    ),
    ("missing-mirror", HEADER, "mirror", "is required"),
    ("empty-mirror", HEADER + "mirror: {}\n", "mirror", "nothing to mirror"),
    ("not-a-mapping", HEADER + "mirror:\n  - a\n", "mirror", "must be a mapping"),
    ("list-expected", _mirror("additionalImages: registry.io/a/b:1\n"), "mirror.additionalImages", "must be a list"),
    (
        "bool-expected",
        _mirror("operators:\n  - catalog: registry.io/a/b:v1\n    full: maybe\n"),
        "mirror.operators[0].full",
        "true or false",
    ),
    (
        "archive-size-not-int",
        HEADER + "archiveSize: big\nmirror:\n  " + IMG.replace("\n  -", "\n    -"),
        "archiveSize",
        "integer",
    ),
    ("archive-size-zero", HEADER + "archiveSize: 0\nmirror:\n  " + IMG.replace("\n  -", "\n    -"), "archiveSize", "positive"),
    ("catalog-missing", _mirror("operators:\n  - packages: [{name: p}]\n"), "mirror.operators[0].catalog", "is required"),
    (
        "duplicate-catalog",
        _mirror("operators:\n  - catalog: registry.io/a/b:v1\n  - catalog: registry.io/a/b:v1\n"),
        "mirror.operators[1].catalog",
        "duplicates mirror.operators[0].catalog",
    ),
    (
        "duplicate-catalog-target",
        _mirror(
            "operators:\n  - catalog: registry.io/a/b:v1\n    targetCatalog: x/idx\n    targetTag: t\n"
            "  - catalog: registry.io/c/d:v2\n    targetCatalog: x/idx\n    targetTag: t\n"
        ),
        "mirror.operators[1].catalog",
        "duplicates mirror.operators[0].catalog",
    ),
    (
        "duplicate-release-channel",
        _mirror("platform:\n  channels: [{name: stable-4.19, type: ocp}, {name: stable-4.19, type: okd}]\n"),
        "mirror.platform.channels[1].name",
        "duplicates",
    ),
    (
        "duplicate-package",
        _mirror(OPS + "      - name: p\n      - name: p\n"),
        "mirror.operators[0].packages[1].name",
        "duplicates",
    ),
    (
        "duplicate-channel",
        _mirror(OPS + "      - name: p\n        channels: [{name: alpha}, {name: alpha}]\n"),
        "mirror.operators[0].packages[0].channels[1].name",
        "duplicates",
    ),
    (
        "duplicate-image",
        _mirror("additionalImages:\n  - name: registry.io/a/b:1\n  - name: docker://registry.io/a/b:1\n"),
        "mirror.additionalImages[1].name",
        "duplicates",
    ),
    (
        "max-not-semver",
        _mirror(
            OPS
            + "      - name: p\n      - name: q\n        channels:\n          - name: stable\n            maxVersion: '1.36'\n"
        ),
        "mirror.operators[0].packages[1].channels[0].maxVersion",
        "not a semantic version",
    ),
    (
        "min-not-semver",
        _mirror(OPS + "      - name: p\n        minVersion: v1.36.0\n"),
        "mirror.operators[0].packages[0].minVersion",
        "not a semantic version",
    ),
    (
        "min-above-max",
        _mirror(OPS + "      - name: p\n        channels: [{name: a, minVersion: 1.36.1, maxVersion: 1.36.0}]\n"),
        "mirror.operators[0].packages[0].channels[0].minVersion",
        "above maxVersion",
    ),
    (
        "package-and-channel-ranges",
        _mirror(OPS + "      - name: p\n        minVersion: 1.0.0\n        channels: [{name: a, maxVersion: 2.0.0}]\n"),
        "mirror.operators[0].packages[0].minVersion",
        "cannot be combined",
    ),
    (
        "platforms-with-architectures",
        _mirror(
            "platform:\n  architectures: [amd64]\n  platforms: [{os: linux, architecture: arm64}]\n  channels: [{name: stable-4.19}]\n"
        ),
        "mirror.platform.platforms",
        "architectures",
    ),
    (
        "unknown-architecture",
        _mirror("platform:\n  architectures: [x86_64]\n  channels: [{name: stable-4.19}]\n"),
        "mirror.platform.architectures[0]",
        "not one of",
    ),
    (
        "platform-channel-type",
        _mirror("platform:\n  channels: [{name: stable-4.19, type: rhel}]\n"),
        "mirror.platform.channels[0].type",
        "not one of",
    ),
    (
        "blocked-bad-regex",
        _mirror(IMG + "blockedImages:\n  - name: '*redis('\n"),
        "mirror.blockedImages[0].name",
        "regular expression",
    ),
    (
        "image-no-tag-or-digest",
        _mirror("additionalImages:\n  - name: registry.io/ubi9/ubi\n"),
        "mirror.additionalImages[0].name",
        "tag and digest are empty",
    ),
    (
        "catalog-no-tag-or-digest",
        _mirror("operators:\n  - catalog: registry.redhat.io/redhat/redhat-operator-index\n"),
        "mirror.operators[0].catalog",
        "unable to parse image correctly : tag and digest are empty",
    ),
    (
        "registry-less-duplicate",
        _mirror("additionalImages:\n  - name: ubi9/ubi:latest\n  - name: docker.io/ubi9/ubi:latest\n"),
        "mirror.additionalImages[1].name",
        "duplicates mirror.additionalImages[0].name",
    ),
    (
        "full-with-range",
        _mirror(
            "operators:\n  - catalog: registry.io/a/b:v1\n    full: true\n    packages:\n"
            "      - name: p\n        channels: [{name: stable, minVersion: 1.0.0}]\n"
        ),
        "mirror.operators[0].packages[0].channels[0].minVersion",
        "Full: true cannot be mixed with versionRange",
    ),
    (
        "same-target",
        _mirror(
            "additionalImages:\n  - name: registry.io/a/b:1\n  - name: registry.io/c/d:2\n    targetRepo: a/b\n    targetTag: '1'\n"
        ),
        "mirror.additionalImages[1].name",
        "lands on registry.io/a/b:1",
    ),
    (
        "image-platform-empty-os",
        _mirror("additionalImages:\n  - name: registry.io/a/b:1\n    platforms: [{os: '', architecture: amd64}]\n"),
        "mirror.additionalImages[0].platforms[0].os",
        "must not be empty",
    ),
    (
        "image-bad-digest",
        _mirror("additionalImages:\n  - name: registry.io/a/b@sha256:abc\n"),
        "mirror.additionalImages[0].name",
        "digest",
    ),
    (
        "image-uppercase-path",
        _mirror("additionalImages:\n  - name: registry.io/A/b:1\n"),
        "mirror.additionalImages[0].name",
        "not an image reference",
    ),
    (
        "catalog-bad-reference",
        _mirror("operators:\n  - catalog: 'registry.io/a/b:bad tag'\n"),
        "mirror.operators[0].catalog",
        "not an image reference",
    ),
    ("oci-catalog-without-path", _mirror("operators:\n  - catalog: 'oci://'\n"), "mirror.operators[0].catalog", "oci:///"),
    (
        "target-tag-invalid",
        _mirror("additionalImages:\n  - name: registry.io/a/b:1\n    targetTag: 'no/slash'\n"),
        "mirror.additionalImages[0].targetTag",
        "not a valid tag",
    ),
    (
        "target-repo-invalid",
        _mirror("additionalImages:\n  - name: registry.io/a/b:1\n    targetRepo: Upper/Case\n"),
        "mirror.additionalImages[0].targetRepo",
        "lowercase",
    ),
    (
        "helm-url-not-http",
        _mirror("helm:\n  repositories:\n    - name: c\n      url: oci://quay.io/charts\n"),
        "mirror.helm.repositories[0].url",
        "http(s)",
    ),
    ("helm-url-missing", _mirror("helm:\n  repositories:\n    - name: c\n"), "mirror.helm.repositories[0].url", "is required"),
    (
        "helm-duplicate-chart",
        _mirror(
            "helm:\n  repositories:\n    - name: c\n      url: https://c.io\n      charts: [{name: x, version: '1'}, {name: x, version: '1'}]\n"
        ),
        "mirror.helm.repositories[0].charts[1].name",
        "duplicates",
    ),
    ("local-chart-path-missing", _mirror("helm:\n  local:\n    - name: c\n"), "mirror.helm.local[0].path", "is required"),
    ("empty-name", _mirror("additionalImages:\n  - name: ''\n"), "mirror.additionalImages[0].name", "must not be empty"),
    (
        "case-variant-twice",
        _mirror("additionalImages:\n  - name: registry.io/a/b:1\nadditionalimages:\n  - name: registry.io/a/c:1\n"),
        "mirror.additionalImages",
        "written twice",
    ),
    (
        "yaml-duplicate-key",
        HEADER + "kind: ImageSetConfiguration\nmirror:\n  " + IMG.replace("\n  -", "\n    -"),
        "line 3",
        "written twice",
    ),
    ("yaml-syntax", HEADER + "mirror: [\n", "line 4, column 1", "not valid YAML"),
    ("not-a-document", "just a string\n", "", "must be a mapping"),
]


def test_table_is_big_enough():
    assert len(MALFORMED) >= 20
    assert len({case[0] for case in MALFORMED}) == len(MALFORMED)


@pytest.mark.parametrize(("text", "path", "fragment"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_config_is_refused_with_key_path(text, path, fragment):
    with pytest.raises(InvalidConfiguration) as info:
        ImageSetConfig.loads(text, source="bad.yaml")
    matching = [i for i in info.value.issues if i.path == path]
    assert matching, f"no issue at {path!r}: {info.value.issues}"
    assert any(fragment in i.message for i in matching), matching
    assert isinstance(info.value, ConfigError) and info.value.exit_code == 2
    assert "bad.yaml" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("text", "path", "fragment"), [c[1:] for c in MALFORMED[::4]], ids=[c[0] for c in MALFORMED[::4]])
def test_malformed_config_through_cli(cli_run, tmp_path, text, path, fragment):
    target = tmp_path / "bad.yaml"
    target.write_text(text)
    code, out, err = cli_run("imageset", "validate", str(target))
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    expected_prefix = f"{target}: {path}: " if path else f"{target}: "
    assert any(line.startswith(expected_prefix) and fragment in line for line in err.splitlines()), err


def test_all_problems_of_a_file_are_reported_at_once(cli_run, tmp_path):
    text = (
        _mirror(
            OPS
            + "      - name: p\n        channels:\n          - name: alpha\n            maxVersion: x\n"
            + "additionalImages:\n  - name: nohost\n"
            + "blockedImages:\n  - name: '('\n"
        )
        + "extra: 1\n"
    )
    with pytest.raises(InvalidConfiguration) as info:
        ImageSetConfig.loads(text, source="many.yaml")
    paths = {i.path for i in info.value.issues}
    assert paths == {
        "extra",
        "mirror.operators[0].packages[0].channels[0].maxVersion",
        "mirror.additionalImages[0].name",
        "mirror.blockedImages[0].name",
    }
    target = tmp_path / "many.yaml"
    target.write_text(text)
    code, _, err = cli_run("imageset", "validate", str(target))
    assert code == 2
    assert len(err.strip().splitlines()) == 4
    assert all(line.startswith(f"{target}: ") for line in err.strip().splitlines())


def test_validate_many_files_reports_each_and_fails(cli_run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEADER + "mirror: {}\n")
    code, out, err = cli_run("imageset", "validate", str(SEEDS[0]), str(bad), str(tmp_path / "missing.yaml"))
    assert code == 2
    assert f"{SEEDS[0]}: ok" in out
    assert f"{bad}: mirror: lists nothing to mirror" in err
    assert "missing.yaml" in err


def test_validate_json(cli_run, tmp_path):
    import json

    bad = tmp_path / "bad.yaml"
    bad.write_text(_mirror("additionalImages:\n  - name: nohost\n"))
    code, out, _ = cli_run("imageset", "validate", "--json", str(SEEDS[0]), str(bad))
    assert code == 2
    files = json.loads(out)["files"]
    assert files[0]["valid"] is True and files[0]["summary"]["additionalImages"] == 7
    assert files[1]["valid"] is False
    assert files[1]["issues"] == [{"path": "mirror.additionalImages[0].name", "message": files[1]["issues"][0]["message"]}]


def test_validate_missing_file_is_one_line_exit_2(cli_run):
    code, out, err = cli_run("imageset", "validate", "missing.yaml")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "missing.yaml" in lines[0]
    assert "Traceback" not in err


def test_validate_directory_is_refused(cli_run, tmp_path):
    code, _, err = cli_run("imageset", "validate", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "directory" in err


def test_in_code_config_check_raises_with_all_issues():
    from mirrorkit.imageset import AdditionalImage, Mirror

    config = ImageSetConfig.new(Mirror(additional_images=(AdditionalImage(name="x"), AdditionalImage(name="x"))))
    assert [i.path for i in config.validate()] == ["mirror.additionalImages[0].name", "mirror.additionalImages[1].name"]
    with pytest.raises(InvalidConfiguration):
        config.check()


def test_duplicate_yaml_key_does_not_hide_other_problems():
    text = HEADER + "kind: ImageSetConfiguration\nmirror:\n  additionalImages: [{name: nohost}]\n"
    with pytest.raises(InvalidConfiguration) as info:
        ImageSetConfig.loads(text, source="d.yaml")
    assert [i.path for i in info.value.issues] == ["line 3", "mirror.additionalImages[0].name"]


def test_one_catalog_mirrored_to_two_targets_is_not_a_duplicate():
    """oc-mirror keys catalogs by GetUniqueName: targetCatalog/targetTag replace the source's path/tag."""
    config = ImageSetConfig.loads(
        _mirror(
            "operators:\n"
            "  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19\n    packages: [{name: a}]\n"
            "  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19\n    targetTag: v4.19-extra\n    packages: [{name: b}]\n"
            "  - catalog: registry.redhat.io/redhat/redhat-operator-index:v4.19\n    targetCatalog: mine/index\n    packages: [{name: c}]\n"
        )
    )
    assert len(config.operators) == 3
