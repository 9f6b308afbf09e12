"""End to end against two real Verdaccio servers: pull from one, publish to the other, write values,
then fetch every URL the values name and check its sha512 against its integrity."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import requests
import yaml

from mirrorkit.npm import (
    IndexEntry,
    NpmIndex,
    NpmSettings,
    check_served,
    publish_packages,
    pull_packages,
    read_index,
    write_index,
)
from tests.services.npmpkg import make_tarball, npm_publish

pytestmark = pytest.mark.integration

PACKAGES = [
    ("@redhat/backstage-plugin-orchestrator", "1.8.0"),
    ("@redhat/backstage-plugin-orchestrator", "1.8.2"),
    ("@redhat/backstage-plugin-orchestrator-backend-dynamic", "1.8.2"),
    ("plain-package", "2.0.0"),
]


@pytest.fixture(scope="module")
def source(verdaccio_factory, tmp_path_factory):
    server = verdaccio_factory()
    token = server.add_user("source-user", "source-pass")
    work = tmp_path_factory.mktemp("npm-source")
    tarballs = {}
    for name, version in PACKAGES:
        tarball = make_tarball(name, version, payload_size=20_000)
        npm_publish(server.url, token, tarball, work / f"{tarball.filename}")
        tarballs[(name, version)] = tarball
    return server, token, tarballs


@pytest.fixture(scope="module")
def target(verdaccio_factory):
    server = verdaccio_factory()
    return server, server.add_user("target-user", "target-pass")


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_pull_publish_values_roundtrip(source, target, tmp_path, cli_run):
    src, _, tarballs = source
    dst, token = target
    mirror = tmp_path / "npm"
    specs = [
        "@redhat/backstage-plugin-orchestrator@1.8.0",
        "@redhat/backstage-plugin-orchestrator@^1.8.1",
        "@redhat/backstage-plugin-orchestrator-backend-dynamic@latest",
        "plain-package@2.x",
    ]
    code, out, err = cli_run("npm", "pull", *specs, "-o", mirror, "--source-npm", src.url, "--json", "--jobs", "3")
    assert code == 0, err
    report = json.loads(out)
    assert [p["status"] for p in report["packages"]] == ["downloaded"] * 4
    assert {(p["name"], p["version"]) for p in report["packages"]} == set(PACKAGES)  # ranges/tags pinned
    index = read_index(mirror)
    for entry in index.entries:
        data = (mirror / entry.path).read_bytes()
        assert data == tarballs[(entry.name, entry.version)].data
        assert entry.integrity == sri(data) and entry.shasum == hashlib.sha1(data).hexdigest()
        assert entry.size == len(data) and entry.source.startswith(src.url)
    assert (mirror / "@redhat/backstage-plugin-orchestrator-1.8.0.tgz").is_file()
    assert not [p for p in mirror.rglob("*") if p.name.endswith(".part")]

    # second run: nothing to do, nothing downloaded
    code, out, _ = cli_run("npm", "pull", *specs, "-o", mirror, "--source-npm", src.url, "--json")
    assert code == 0 and [p["status"] for p in json.loads(out)["packages"]] == ["present"] * 4

    code, out, err = cli_run("npm", "publish", mirror, "--target-npm", dst.url, "--npm-token", token, "--json")
    assert code == 0, err
    assert [p["status"] for p in json.loads(out)["packages"]] == ["published"] * 4
    assert token not in out + err
    # idempotent
    code, out, err = cli_run("npm", "publish", mirror, "--target-npm", dst.url, "--npm-token", token, "--json")
    assert code == 0, err
    assert [p["status"] for p in json.loads(out)["packages"]] == ["present"] * 4
    # the real npm client sees the newest as latest
    doc = requests.get(f"{dst.url}/@redhat%2fbackstage-plugin-orchestrator", timeout=10).json()
    assert doc["dist-tags"]["latest"] == "1.8.2"

    out_dir = tmp_path / "install"
    code, out, err = cli_run("values", mirror, "--target-npm", dst.url, "-o", out_dir)
    assert code == 0, err
    values = yaml.safe_load((out_dir / "values.yaml").read_text())
    plugins = values["orchestrator"]["plugins"]
    assert len(plugins) == 3  # newest version per package
    for plugin in plugins:
        assert plugin["disabled"] is False
        data = requests.get(plugin["package"], timeout=10).content
        assert sri(data) == plugin["integrity"]
    configmap = yaml.safe_load((out_dir / "dynamic-plugins.yaml").read_text())
    assert configmap["kind"] == "ConfigMap"
    inner = yaml.safe_load(configmap["data"]["dynamic-plugins.yaml"])
    assert inner["includes"] == ["dynamic-plugins.default.yaml"]
    assert [(p["package"], p["integrity"]) for p in inner["plugins"]] == [(p["package"], p["integrity"]) for p in plugins]

    checks = check_served(index, dst.url)
    assert checks and all(c.ok for c in checks)


def test_publish_conflict_with_different_bytes_names_both(source, target, tmp_path):
    src, _, _ = source
    dst, token = target
    name = "@redhat/conflicting-plugin"
    theirs = make_tarball(name, "1.0.0", payload_size=100)
    npm_publish(dst.url, token, theirs, tmp_path / "theirs")
    src_token = src.add_user("source-user", "source-pass")
    ours = make_tarball(name, "1.0.0", payload_size=200)
    npm_publish(src.url, src_token, ours, tmp_path / "ours")
    mirror = tmp_path / "npm"
    settings = NpmSettings.load(registry=src.url, env={"HOME": str(tmp_path)})
    pulled = pull_packages([f"{name}@1.0.0"], mirror, settings=settings, progress=False)
    assert pulled.ok
    report = publish_packages(mirror, dst.url, token=token)
    assert not report.ok
    reason = report.failed[0].reason
    assert ours.integrity in reason and theirs.integrity in reason and name in reason


def test_rerun_refetches_a_corrupted_file(source, tmp_path):
    src, _, tarballs = source
    settings = NpmSettings.load(registry=src.url, env={"HOME": str(tmp_path)})
    mirror = tmp_path / "npm"
    spec = "plain-package@2.0.0"
    assert pull_packages([spec], mirror, settings=settings, progress=False).ok
    path = mirror / "plain-package-2.0.0.tgz"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    report = pull_packages([spec], mirror, settings=settings, progress=False)
    assert report.results[0].status == "downloaded"
    assert path.read_bytes() == tarballs[("plain-package", "2.0.0")].data
    assert pull_packages([spec], mirror, settings=settings, progress=False).results[0].status == "present"


def test_real_verdaccio_413_and_401(source, target, verdaccio_factory, tmp_path, cli_run):
    src, _, _ = source
    small = verdaccio_factory(max_body_size="20kb")
    token = small.add_user("small-user", "small-pass")
    mirror = tmp_path / "npm"
    settings = NpmSettings.load(registry=src.url, env={"HOME": str(tmp_path)})
    assert pull_packages(["@redhat/backstage-plugin-orchestrator@1.8.0"], mirror, settings=settings, progress=False).ok
    code, _, err = cli_run("npm", "publish", mirror, "--target-npm", small.url, "--npm-token", token, "-q")
    assert code == 1 and "413" in err and "max_body_size" in err and "@redhat/backstage-plugin-orchestrator@1.8.0" in err
    tiny = make_tarball("@redhat/tiny-plugin", "1.0.0")
    tiny_mirror = tmp_path / "tiny"
    (tiny_mirror / "@redhat").mkdir(parents=True)
    (tiny_mirror / "@redhat" / tiny.filename).write_bytes(tiny.data)
    write_index(
        NpmIndex(
            tiny_mirror,
            (
                IndexEntry(
                    tiny.name, tiny.version, tiny.integrity, tiny.shasum, len(tiny.data), f"@redhat/{tiny.filename}", "test"
                ),
            ),
        )
    )
    code, _, err = cli_run("npm", "publish", tiny_mirror, "--target-npm", small.url, "--npm-token", "not-a-valid-token", "-q")
    assert code == 1 and small.url in err and ("401" in err or "403" in err) and "token" in err
    assert "not-a-valid-token" not in err
