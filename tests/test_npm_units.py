"""Package specs, the semver subset, .npmrc settings and redaction: pure logic, no network."""

from __future__ import annotations

import base64

import pytest

from mirrorkit.errors import ConfigError, InvalidReference, NpmError
from mirrorkit.npm.integrity import Digests, mismatches
from mirrorkit.npm.npmrc import NpmSettings, nerf_dart
from mirrorkit.npm.semver import Range, resolve_version
from mirrorkit.npm.spec import PackageName, PackageSpec, PinnedPackage
from mirrorkit.semver import Version


@pytest.mark.parametrize(
    "text,name,wanted",
    [
        ("@redhat/backstage-plugin-orchestrator@1.8.0", "@redhat/backstage-plugin-orchestrator", "1.8.0"),
        ("left-pad@1.3.0", "left-pad", "1.3.0"),
        ("left-pad", "left-pad", "latest"),
        ("@scope/pkg", "@scope/pkg", "latest"),
        ("@scope/pkg@^1.8.0", "@scope/pkg", "^1.8.0"),
        ("pkg@>=1.0.0 <2", "pkg", ">=1.0.0 <2"),
    ],
)
def test_spec_parse(text, name, wanted):
    spec = PackageSpec.parse(text)
    assert (spec.name.full, spec.wanted) == (name, wanted)


@pytest.mark.parametrize("text", ["", "Upper@1.0.0", "@scope@1.0.0", "@/x@1", "a b@1", "pkg@", "../evil@1.0.0"])
def test_spec_parse_refuses(text):
    with pytest.raises(InvalidReference):
        PackageSpec.parse(text)


def test_pinned_urls_and_escaping():
    pkg = PinnedPackage(PackageName.parse("@redhat/backstage-plugin-orchestrator"), "1.8.0")
    assert pkg.name.escaped == "@redhat%2fbackstage-plugin-orchestrator"
    assert pkg.tarball_path("http://npm.local:4873/") == (
        "http://npm.local:4873/@redhat/backstage-plugin-orchestrator/-/backstage-plugin-orchestrator-1.8.0.tgz"
    )
    assert (
        PinnedPackage(PackageName.parse("plain"), "1.0.0").tarball_path("http://h/npm") == "http://h/npm/plain/-/plain-1.0.0.tgz"
    )


VERSIONS = [
    "0.0.3",
    "0.0.4",
    "0.2.3",
    "0.2.9",
    "0.3.0",
    "1.7.0",
    "1.8.0",
    "1.8.1",
    "1.8.2",
    "1.9.0-rc.1",
    "1.9.0",
    "2.0.0-beta.1",
    "2.0.0",
]


@pytest.mark.parametrize(
    "wanted,expected",
    [
        ("1.8.0", "1.8.0"),
        ("=1.8.1", "1.8.1"),
        ("v1.8.2", "1.8.2"),
        ("^1.8.0", "1.9.0"),
        ("~1.8.0", "1.8.2"),
        ("~1.8", "1.8.2"),
        ("~1", "1.9.0"),
        ("1.8.x", "1.8.2"),
        ("1.x", "1.9.0"),
        ("1", "1.9.0"),
        ("*", "2.0.0"),
        ("x", "2.0.0"),
        ("^0.2.3", "0.2.9"),
        ("^0.0.3", "0.0.3"),
        ("^0.2", "0.2.9"),
        (">=1.8.0 <1.9.0", "1.8.2"),
        (">1.8.0 <=1.8.1", "1.8.1"),
        ("<1.8", "1.7.0"),
        (">1.8", "2.0.0"),
        ("<=1.8", "1.8.2"),
        ("1.7.0 || 1.8.1", "1.8.1"),
        (">= 1.8.0 < 1.8.2", "1.8.1"),
        ("^1.9.0-rc.0", "1.9.0"),
        ("1.9.0-rc.1", "1.9.0-rc.1"),
        (">=2.0.0-beta.0 <2.0.0", "2.0.0-beta.1"),
        ("latest", "1.8.2"),
        ("next", "2.0.0-beta.1"),
    ],
)
def test_resolve(wanted, expected):
    tags = {"latest": "1.8.2", "next": "2.0.0-beta.1"}
    if wanted in ("^1.8.0", "~1", "1.x", "1", "*", "x"):  # npm prefers `latest` when it satisfies the range
        assert resolve_version("p", wanted, VERSIONS, tags) == "1.8.2"
        tags = {}
    assert resolve_version("p", wanted, VERSIONS, tags) == expected


def test_prereleases_only_match_when_asked():
    assert not Range.parse("^1.8.0").satisfied_by(Version.parse("1.9.0-rc.1"))
    assert Range.parse(">=1.9.0-rc.0").satisfied_by(Version.parse("1.9.0-rc.1"))
    assert Version.parse("1.0.0-alpha") < Version.parse("1.0.0-alpha.1") < Version.parse("1.0.0-beta") < Version.parse("1.0.0")
    assert Version.parse("1.0.0-2") < Version.parse("1.0.0-10") < Version.parse("1.0.0-a")


@pytest.mark.parametrize(
    "wanted,message",
    [
        ("3.0.0", "version not found"),
        ("^5", "no version satisfies"),
        ("beta", "no dist-tag 'beta'"),
    ],
)
def test_resolve_failures_say_what_exists(wanted, message):
    with pytest.raises(NpmError) as info:
        resolve_version("p", wanted, VERSIONS, {"latest": "1.8.2"})
    assert message in str(info.value)


@pytest.mark.parametrize("wanted", ["git+https://x/y.git", "file:../x", ">>1", "npm:other@1"])
def test_unsupported_ranges_are_refused(wanted):
    with pytest.raises(InvalidReference) as info:
        resolve_version("p", wanted, VERSIONS, {})
    assert "unsupported npm version range" in str(info.value)


def test_nerf_dart():
    assert nerf_dart("https://user:pw@npm.example.com:8443/repo/npm/?q=1") == "//npm.example.com:8443/repo/npm/"
    assert nerf_dart("http://h:4873") == "//h:4873/"
    assert nerf_dart("http://h:4873/@s/p/-/p-1.tgz") == "//h:4873/@s/p/-/"
    # npm keys on WHATWG URL.host: the scheme's default port is not part of it
    assert nerf_dart("https://NPM.example.com:443/repo/") == "//npm.example.com/repo/"
    assert nerf_dart("http://h:80/") == "//h/"
    assert nerf_dart("http://h:443/") == "//h:443/"


def test_npmrc_matching_follows_npm_registry_fetch(tmp_path):
    npmrc = tmp_path / ".npmrc"
    basic = base64.b64encode(b"u:p").decode()
    npmrc.write_text(
        "//npm.example.com/:_authToken=host-token\n"
        # one key with several kinds: npm takes _auth before username/_password whatever the line order
        "//both.example/:username=bob\n"
        "//both.example/:_password=" + base64.b64encode(b"pw").decode() + "\n"
        "//both.example/:_auth=" + basic + "\n"
        # username and _password must be written under the same key
        "//split.example/:username=bob\n"
        "//split.example:_password=" + base64.b64encode(b"pw").decode() + "\n"
        "//npm.corp.example/repo/npm/:_authToken=repo-token\n"
    )
    s = NpmSettings.load(npmrc=npmrc, env={})
    assert s.authorization("https://npm.example.com:443/pkg") == "Bearer host-token"
    assert s.authorization("https://both.example/pkg") == f"Basic {basic}"
    assert s.authorization("https://split.example/pkg") is None
    # a tarball outside the registry's path, on the registry's host, gets the registry's credential ...
    registry = "https://npm.corp.example/repo/npm/"
    assert s.authorization("https://npm.corp.example/files/p-1.0.0.tgz") is None
    assert s.authorization("https://npm.corp.example/files/p-1.0.0.tgz", registry) == "Bearer repo-token"
    # ... and never one on another host
    assert s.authorization("https://cdn.example/files/p-1.0.0.tgz", registry) is None


def test_npmrc_registries_and_longest_prefix_tokens(tmp_path):
    npmrc = tmp_path / ".npmrc"
    basic = base64.b64encode(b"u:p").decode()
    npmrc.write_text(
        "; comment\n# another\n"
        "registry=https://npm.corp.example/\n"
        "@redhat:registry=https://npm.registry.redhat.com\n"
        "//npm.corp.example/:_authToken=corp-token-1\n"
        '//npm.corp.example/deep/path/:_authToken="deep-token-2"\n'
        "//npm.registry.redhat.com/:_auth=" + basic + "\n"
        "//other.example/:username=bob\n"
        "//other.example/:_password=" + base64.b64encode(b"hunter22").decode() + "\n"
        "//env.example/:_authToken=${MY_TOKEN}\n"
    )
    s = NpmSettings.load(npmrc=npmrc, env={"MY_TOKEN": "from-env-token"})
    assert s.registry_for(PackageName.parse("@redhat/x")) == "https://npm.registry.redhat.com/"
    assert s.registry_for(PackageName.parse("@other/x")) == "https://npm.corp.example/"
    assert s.registry_for(PackageName.parse("x")) == "https://npm.corp.example/"
    assert s.authorization("https://npm.corp.example/x") == "Bearer corp-token-1"
    assert s.authorization("https://npm.corp.example/deep/path/x/-/x-1.tgz") == "Bearer deep-token-2"
    assert s.authorization("https://npm.registry.redhat.com/@redhat%2fx") == f"Basic {basic}"
    assert s.authorization("https://other.example/p") == "Basic " + base64.b64encode(b"bob:hunter22").decode()
    assert s.authorization("https://env.example/p") == "Bearer from-env-token"
    assert s.authorization("https://elsewhere.example/p") is None
    assert s.authorization("https://npm.corp.example.evil/x") is None
    assert "corp-token-1" not in repr(s) and "hunter22" not in repr(s)
    assert {"corp-token-1", "deep-token-2", "hunter22"} <= set(s.secrets)


def test_explicit_token_and_env_apply_to_default_registry_only(tmp_path):
    s = NpmSettings.load(registry="http://127.0.0.1:4873", env={"NPM_TOKEN": "env-token-9", "HOME": str(tmp_path)})
    assert s.authorization("http://127.0.0.1:4873/pkg") == "Bearer env-token-9"
    assert s.authorization("http://127.0.0.2:4873/pkg") is None
    s = NpmSettings.load(
        registry="http://127.0.0.1:4873", token="opt-token", env={"NPM_TOKEN": "env-token-9", "HOME": str(tmp_path)}
    )
    assert s.authorization("http://127.0.0.1:4873/pkg") == "Bearer opt-token"


def test_settings_errors(tmp_path):
    with pytest.raises(ConfigError):
        NpmSettings.load(registry="npm.local:4873", env={"HOME": str(tmp_path)})
    with pytest.raises(ConfigError):
        NpmSettings.load(npmrc=tmp_path / "missing", env={})


def test_mismatches_rules():
    ours = Digests("sha512-" + base64.b64encode(b"a" * 64).decode(), "ab" * 20, 10)
    assert mismatches(ours, {"integrity": ours.integrity + " sha1-whatever", "shasum": "AB" * 20}) == []
    assert len(mismatches(ours, {"integrity": "sha512-" + base64.b64encode(b"b" * 64).decode()})) == 1
    sha1_sri = "sha1-" + base64.b64encode(bytes.fromhex("ab" * 20)).decode()
    assert mismatches(ours, {"integrity": sha1_sri}) == []
    with pytest.raises(ValueError):
        mismatches(ours, {})


def test_publish_document_is_what_libnpmpublish_builds():
    """npm names the attachment and the tarball after the full (scoped) name: `<registry>/<name>/-/<name>-<v>.tgz`."""
    from mirrorkit.npm.index import IndexEntry
    from mirrorkit.npm.publish import publish_document

    entry = IndexEntry("@redhat/backstage-plugin-orchestrator", "1.8.0", "sha512-AAA", "ab" * 20, 3, "x", "src")
    manifest = {"name": entry.name, "version": "1.8.0", "main": "index.js"}
    doc, attachment = publish_document(manifest, entry, "http://npm.local:4873/npm/")
    assert attachment == "@redhat/backstage-plugin-orchestrator-1.8.0.tgz"
    assert doc["versions"]["1.8.0"]["dist"] == {
        "integrity": "sha512-AAA",
        "shasum": "ab" * 20,
        "tarball": "http://npm.local:4873/npm/@redhat/backstage-plugin-orchestrator/-/@redhat/backstage-plugin-orchestrator-1.8.0.tgz",
    }
    assert doc["versions"]["1.8.0"]["_id"] == "@redhat/backstage-plugin-orchestrator@1.8.0"
    assert doc["versions"]["1.8.0"]["main"] == "index.js"
    assert (doc["_id"], doc["name"], doc["access"], doc["dist-tags"]) == (entry.name, entry.name, "public", {"latest": "1.8.0"})
    assert "description" not in doc  # npm sends manifest.description, absent when the package has none
    assert publish_document(manifest, entry, "http://h:1", tag_latest=False)[0]["dist-tags"] == {}


def test_streaming_publish_body_is_the_json_npm_sends(tmp_path):
    import json

    from mirrorkit.npm.body import StreamingPublishBody

    data = bytes(range(256)) * 3001  # not a multiple of the block size or of 3
    tarball = tmp_path / "t.tgz"
    tarball.write_bytes(data)
    body = StreamingPublishBody({"name": "x"}, "@s/x-1.0.0.tgz", tarball, len(data))
    raw = body.read()
    assert len(raw) == len(body)
    doc = json.loads(raw)
    assert doc["_attachments"] == {
        "@s/x-1.0.0.tgz": {
            "content_type": "application/octet-stream",
            "data": base64.b64encode(data).decode(),
            "length": len(data),
        }
    }
