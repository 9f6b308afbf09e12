"""The OCI client against the real local registry: media types, indexes, blobs, and basic auth
(htpasswd) with good, wrong and missing credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mirrorkit.errors import AuthError, RegistryError
from mirrorkit.oci.client import OciClient
from mirrorkit.oci.manifest import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from mirrorkit.oci.platform import Platform
from tests.services.htpasswd import write_htpasswd
from tests.services.images import make_layer, push_image, push_index
from tests.services.registry import LocalRegistry

pytestmark = pytest.mark.integration

USER, PASSWORD = "mirror-user", "Corr3ct-H0rse-battery"


def write_authfile(path: Path, host: str, user: str, password: str) -> Path:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))
    return path


@pytest.fixture
def no_ambient_auth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)


@pytest.fixture(scope="module")
def auth_registry(registry_factory: Callable[..., LocalRegistry], tmp_path_factory: pytest.TempPathFactory) -> LocalRegistry:
    htpasswd = write_htpasswd(tmp_path_factory.mktemp("htpasswd") / "htpasswd", {USER: PASSWORD})
    return registry_factory(htpasswd=htpasswd)


@pytest.mark.parametrize("docker", [False, True], ids=["oci", "docker"])
def test_single_manifest_and_blob(registry: LocalRegistry, docker: bool, no_ambient_auth: None) -> None:
    layer = make_layer({"manifests/a.yaml": b"kind: ConfigMap\n"})
    pushed = push_image(registry.host, f"client/single-{str(docker).lower()}", "v1", [layer], docker=docker)
    client = OciClient()
    manifest = client.get_manifest(pushed.ref)
    assert manifest.media_type == (DOCKER_MANIFEST if docker else OCI_MANIFEST)
    assert manifest.digest == pushed.digest and manifest.index_digest is None
    assert client.resolve_digest(pushed.ref) == pushed.digest
    assert client.get_manifest(pushed.by_digest).raw == manifest.raw
    with client.open_blob(pushed.ref, manifest.layers[0]) as blob:
        assert blob.read() == layer


@pytest.mark.parametrize("docker", [False, True], ids=["oci-index", "docker-list"])
def test_index_platform_selection(registry: LocalRegistry, docker: bool, no_ambient_auth: None) -> None:
    pushed = push_index(registry.host, f"client/multi-{str(docker).lower()}", "v1", docker=docker)
    client = OciClient()
    amd = client.get_manifest(pushed.ref)
    arm = client.get_manifest(pushed.ref, platform=Platform.parse("linux/arm64"))
    assert pushed.media_type == (DOCKER_LIST if docker else OCI_INDEX)
    assert amd.platform == Platform("linux", "amd64") and arm.platform == Platform("linux", "arm64")
    assert amd.digest != arm.digest and amd.index_digest == arm.index_digest == pushed.digest
    assert client.resolve_digest(pushed.ref) == pushed.digest
    assert client.has_manifest(pushed.by_digest)
    assert client.has_manifest(amd.ref)
    assert not client.has_manifest(f"{registry.host}/client/multi-{str(docker).lower()}@sha256:{'0' * 64}")


def test_missing_image_is_a_registry_error(registry: LocalRegistry, no_ambient_auth: None) -> None:
    with pytest.raises(RegistryError, match="not found in registry"):
        OciClient().get_manifest(f"{registry.host}/client/nothing-here:v1")


def test_basic_auth_with_good_credentials(auth_registry: LocalRegistry, tmp_path: Path, no_ambient_auth: None) -> None:
    pushed = push_image(auth_registry.host, "private/bundle", "v1", auth=(USER, PASSWORD))
    client = OciClient(authfile=write_authfile(tmp_path / "auth.json", auth_registry.host, USER, PASSWORD))
    assert client.get_manifest(pushed.ref).digest == pushed.digest
    assert client.has_manifest(pushed.by_digest)


def test_basic_auth_from_registry_auth_file_env(
    auth_registry: LocalRegistry, tmp_path: Path, no_ambient_auth: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed = push_image(auth_registry.host, "private/env", "v1", auth=(USER, PASSWORD))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(write_authfile(tmp_path / "env.json", auth_registry.host, USER, PASSWORD)))
    assert OciClient().resolve_digest(pushed.ref) == pushed.digest


def test_wrong_credentials_are_refused_clearly(
    auth_registry: LocalRegistry, tmp_path: Path, no_ambient_auth: None, cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    pushed = push_image(auth_registry.host, "private/refused", "v1", auth=(USER, PASSWORD))
    wrong = "Wr0ng-passw0rd-value"
    authfile = write_authfile(tmp_path / "wrong.json", auth_registry.host, USER, wrong)
    with pytest.raises(AuthError) as err:
        OciClient(authfile=authfile).get_manifest(pushed.ref)
    assert auth_registry.host in str(err.value) and str(authfile) in str(err.value)
    rc, out, stderr = cli_run("bundle-images", "--authfile", str(authfile), pushed.ref)
    assert rc == 1 and out == ""
    assert auth_registry.host in stderr and str(authfile) in stderr and "podman login" in stderr
    assert wrong not in stderr and base64.b64encode(f"{USER}:{wrong}".encode()).decode() not in stderr


def test_no_credentials_names_anonymous_access(
    auth_registry: LocalRegistry, no_ambient_auth: None, cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    rc, _, stderr = cli_run("bundle-images", f"{auth_registry.host}/private/anything:v1")
    assert rc == 1 and "refused anonymous access" in stderr and "no auth file" in stderr


def test_missing_authfile_is_an_input_error(
    registry: LocalRegistry, tmp_path: Path, cli_run: Callable[..., tuple[int, str, str]]
) -> None:
    rc, _, stderr = cli_run("bundle-images", "--authfile", str(tmp_path / "nope.json"), f"{registry.host}/x/y:1")
    assert rc == 2 and "does not exist" in stderr
