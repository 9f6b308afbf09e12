"""OCI client behaviour that needs fault injection (responses): bearer tokens, digest mismatches,
retries, scheme choice; plus auth file lookup, platforms and manifest parsing (pure functions)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
import requests
import responses

from mirrorkit.errors import AuthError, InputError, RegistryError
from mirrorkit.http import RetryPolicy
from mirrorkit.oci.auth import AuthConfig, default_authfile, find_authfile
from mirrorkit.oci.blob import VerifiedReader
from mirrorkit.oci.client import OciClient
from mirrorkit.oci.manifest import OCI_INDEX, OCI_MANIFEST, Descriptor, parse_manifest
from mirrorkit.oci.platform import Platform

FAST = RetryPolicy(attempts=3, backoff=0.0, max_backoff=0.0, timeout=(2.0, 2.0))
REG = "registry.example.com"
SECRET = "s3cr3t-passw0rd"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def manifest_body(layer: bytes = b"layer") -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(b"{}"), "size": 2},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest_of(layer), "size": len(layer)}
            ],
        }
    ).encode()


def authfile(tmp_path: Path, registry: str = REG, user: str = "alice", password: str = SECRET) -> Path:
    path = tmp_path / "auth.json"
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {registry: {"auth": token}}}))
    return path


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ambient credentials: the test decides which auth file exists."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return home


# -- bearer token flow --------------------------------------------------------------------------


@responses.activate
def test_bearer_challenge_fetches_scoped_token_with_basic_credentials(tmp_path: Path, isolated_env: Path) -> None:
    body = manifest_body()
    responses.get(
        f"https://{REG}/v2/",
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service="registry.example.com"'},
    )
    token_call = responses.get(
        "https://auth.example.com/token",
        json={"token": "the-bearer-token"},
        match=[
            responses.matchers.query_param_matcher({"scope": "repository:ns/bundle:pull", "service": REG}),
            responses.matchers.header_matcher(
                {"Authorization": "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()}
            ),
        ],
    )
    manifest_call = responses.get(
        f"https://{REG}/v2/ns/bundle/manifests/1.0",
        body=body,
        headers={"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": digest_of(body)},
        match=[responses.matchers.header_matcher({"Authorization": "Bearer the-bearer-token"})],
    )
    client = OciClient(authfile=authfile(tmp_path), policy=FAST)
    manifest = client.get_manifest(f"{REG}/ns/bundle:1.0")
    assert manifest.digest == digest_of(body)
    assert manifest.media_type == OCI_MANIFEST
    assert len(manifest.layers) == 1
    # the token is cached per repository: a second call does not ask again
    client.get_manifest(f"{REG}/ns/bundle:1.0")
    assert token_call.call_count == 1
    assert manifest_call.call_count == 2


@responses.activate
def test_anonymous_bearer_token_without_credentials(isolated_env: Path) -> None:
    body = manifest_body()
    responses.get(
        f"https://{REG}/v2/",
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service="reg"'},
    )
    token_call = responses.get("https://auth.example.com/token", json={"access_token": "anon"})
    responses.get(
        f"https://{REG}/v2/ns/img/manifests/sha256:{hashlib.sha256(body).hexdigest()}",
        body=body,
        headers={"Content-Type": OCI_MANIFEST},
        match=[responses.matchers.header_matcher({"Authorization": "Bearer anon"})],
    )
    manifest = OciClient(policy=FAST).get_manifest(f"{REG}/ns/img@{digest_of(body)}")
    assert manifest.digest == digest_of(body)
    assert "Authorization" not in token_call.calls[0].request.headers


@responses.activate
def test_token_server_refusal_names_registry_and_authfile_never_the_secret(tmp_path: Path, isolated_env: Path) -> None:
    responses.get(f"https://{REG}/v2/", status=401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.example.com/token"'})
    responses.get("https://auth.example.com/token", status=401, json={"details": f"bad password {SECRET}"})
    path = authfile(tmp_path)
    with pytest.raises(AuthError) as err:
        OciClient(authfile=path, policy=FAST).get_manifest(f"{REG}/ns/bundle:1.0")
    message = str(err.value)
    assert REG in message and str(path) in message
    assert SECRET not in message
    assert "podman login" in message


@responses.activate
def test_401_after_token_is_an_auth_error(tmp_path: Path, isolated_env: Path) -> None:
    challenge = {"WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service="reg"'}
    responses.get(f"https://{REG}/v2/", status=401, headers=challenge)
    responses.get("https://auth.example.com/token", json={"token": "t"})
    responses.get(f"https://{REG}/v2/ns/bundle/manifests/1.0", status=401, headers=challenge)
    with pytest.raises(AuthError, match="refused anonymous access"):
        OciClient(policy=FAST).get_manifest(f"{REG}/ns/bundle:1.0")


@responses.activate
def test_403_is_an_auth_error(tmp_path: Path, isolated_env: Path) -> None:
    responses.get(f"https://{REG}/v2/", status=401, headers={"WWW-Authenticate": 'Basic realm="x"'})
    responses.get(f"https://{REG}/v2/ns/bundle/manifests/1.0", status=403)
    path = authfile(tmp_path)
    with pytest.raises(AuthError, match=r"HTTP 403") as err:
        OciClient(authfile=path, policy=FAST).get_manifest(f"{REG}/ns/bundle:1.0")
    assert str(path) in str(err.value) and SECRET not in str(err.value)


# -- digests --------------------------------------------------------------------------------------


@responses.activate
def test_manifest_whose_digest_header_does_not_match_is_refused(isolated_env: Path) -> None:
    body = manifest_body()
    responses.get(f"https://{REG}/v2/", status=200)
    responses.get(
        f"https://{REG}/v2/ns/img/manifests/1.0",
        body=body,
        headers={"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": digest_of(b"something else")},
    )
    with pytest.raises(RegistryError, match="does not verify"):
        OciClient(policy=FAST).get_manifest(f"{REG}/ns/img:1.0")


@responses.activate
def test_manifest_by_digest_with_other_bytes_is_refused(isolated_env: Path) -> None:
    body = manifest_body()
    wanted = digest_of(manifest_body(b"the real layer"))
    responses.get(f"https://{REG}/v2/", status=200)
    responses.get(f"https://{REG}/v2/ns/img/manifests/{wanted}", body=body, headers={"Content-Type": OCI_MANIFEST})
    with pytest.raises(RegistryError, match=f"expected {wanted}"):
        OciClient(policy=FAST).get_manifest(f"{REG}/ns/img@{wanted}")


@responses.activate
def test_blob_with_wrong_bytes_fails_when_read(isolated_env: Path) -> None:
    good = b"the expected layer bytes"
    responses.get(f"https://{REG}/v2/", status=200)
    responses.get(f"https://{REG}/v2/ns/img/blobs/{digest_of(good)}", body=b"the evil layer bytes!!!!")
    client = OciClient(policy=FAST)
    with client.open_blob(f"{REG}/ns/img:1", Descriptor("x", digest_of(good), len(good))) as blob:
        with pytest.raises(RegistryError, match="does not verify"):
            blob.read()


@responses.activate
def test_blob_streams_and_verifies(isolated_env: Path) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, several chunks
    responses.get(f"https://{REG}/v2/", status=200)
    responses.get(f"https://{REG}/v2/ns/img/blobs/{digest_of(data)}", body=data)
    with OciClient(policy=FAST).open_blob(f"{REG}/ns/img:1", Descriptor("x", digest_of(data), len(data))) as blob:
        parts = []
        while chunk := blob.read(10_000):
            parts.append(chunk)
    assert b"".join(parts) == data


def test_verified_reader_resumes_after_a_broken_connection() -> None:
    data = b"0123456789" * 1000
    reopened: list[int] = []

    def broken():
        yield data[:3000]
        raise requests.exceptions.ChunkedEncodingError("connection reset")

    def reopen(offset: int):
        reopened.append(offset)
        yield data[offset:]

    reader = VerifiedReader(broken(), digest=digest_of(data), size=len(data), what="blob", reopen=reopen, attempts=3)
    assert reader.read() == data
    assert reopened == [3000]


def test_verified_reader_checks_size() -> None:
    data = b"abc"
    reader = VerifiedReader(iter([data]), digest=digest_of(data), size=4, what="blob")
    with pytest.raises(RegistryError, match="got 3 bytes, expected 4"):
        reader.read()


# -- retries and schemes ----------------------------------------------------------------------------


@responses.activate
def test_5xx_is_retried(isolated_env: Path) -> None:
    body = manifest_body()
    responses.get(f"https://{REG}/v2/", status=200)
    url = f"https://{REG}/v2/ns/img/manifests/1.0"
    responses.get(url, status=503)
    responses.get(url, body=body, headers={"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": digest_of(body)})
    assert OciClient(policy=FAST).get_manifest(f"{REG}/ns/img:1.0").digest == digest_of(body)


@responses.activate
def test_persistent_5xx_gives_up_with_a_registry_error(isolated_env: Path) -> None:
    responses.get(f"https://{REG}/v2/", status=200)
    call = responses.get(f"https://{REG}/v2/ns/img/manifests/1.0", status=502)
    with pytest.raises(RegistryError, match="failed after 3 attempts"):
        OciClient(policy=FAST).get_manifest(f"{REG}/ns/img:1.0")
    assert call.call_count == 3


@responses.activate
def test_tls_verify_never_falls_back_to_http_for_remote_hosts(isolated_env: Path) -> None:
    http_ping = responses.get(f"http://{REG}/v2/", status=200)  # https is not registered: connection error
    with pytest.raises(RegistryError, match="connect to registry"):
        OciClient(policy=FAST).get_manifest(f"{REG}/ns/img:1.0")
    assert http_ping.call_count == 0


@responses.activate
def test_no_tls_verify_falls_back_to_http(isolated_env: Path) -> None:
    body = manifest_body()
    responses.get(f"http://{REG}/v2/", status=200)
    responses.get(f"http://{REG}/v2/ns/img/manifests/1.0", body=body, headers={"Content-Type": OCI_MANIFEST})
    assert OciClient(tls_verify=False, policy=FAST).get_manifest(f"{REG}/ns/img:1.0").digest == digest_of(body)


@responses.activate
def test_has_manifest(isolated_env: Path) -> None:
    digest = digest_of(b"x")
    responses.get(f"https://{REG}/v2/", status=200)
    responses.head(f"https://{REG}/v2/ns/img/manifests/{digest}", status=200, headers={"Docker-Content-Digest": digest})
    responses.head(f"https://{REG}/v2/ns/other/manifests/{digest}", status=404)
    client = OciClient(policy=FAST)
    assert client.has_manifest(f"{REG}/ns/img@{digest}") is True
    assert client.has_manifest(f"{REG}/ns/other@{digest}") is False


# -- auth files ------------------------------------------------------------------------------------


def test_authfile_lookup_order(tmp_path: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docker = isolated_env / ".docker" / "config.json"
    docker.parent.mkdir()
    docker.write_text("{}")
    assert default_authfile() == docker
    xdg = tmp_path / "run"
    (xdg / "containers").mkdir(parents=True)
    (xdg / "containers" / "auth.json").write_text("{}")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    assert default_authfile() == xdg / "containers" / "auth.json"
    env_file = tmp_path / "env-auth.json"
    env_file.write_text("{}")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(env_file))
    assert default_authfile() == env_file
    explicit = authfile(tmp_path)
    assert find_authfile(explicit) == explicit
    with pytest.raises(InputError, match="does not exist"):
        find_authfile(tmp_path / "missing.json")


def test_auth_keys_most_specific_wins_and_docker_hub_legacy(tmp_path: Path) -> None:
    def enc(u: str, p: str) -> str:
        return base64.b64encode(f"{u}:{p}".encode()).decode()

    path = tmp_path / "auth.json"
    path.write_text(
        json.dumps(
            {
                "auths": {
                    "quay.io": {"auth": enc("general", "a")},
                    "quay.io/team": {"auth": enc("team", "b")},
                    "https://index.docker.io/v1/": {"auth": enc("hub", "c")},
                    "localhost:5000": {"auth": enc("local", "pw-local-zz")},
                }
            }
        )
    )
    config = AuthConfig.load(path)
    assert config.lookup("quay.io", "team/app").username == "team"
    assert config.lookup("quay.io", "other/app").username == "general"
    assert config.lookup("docker.io", "library/ubi").username == "hub"
    assert config.lookup("127.0.0.1:5000", "x").username == "local"
    assert config.lookup("registry.redhat.io", "x") is None
    assert "pw-local-zz" not in repr(config.lookup("localhost:5000"))


def test_unreadable_authfile_does_not_echo_its_content(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text('{"auths": {"x": {"auth": "' + SECRET + '"')
    with pytest.raises(InputError) as err:
        AuthConfig.load(path)
    assert SECRET not in str(err.value)


# -- platforms and manifests ---------------------------------------------------------------------


def test_platform_parsing_and_matching() -> None:
    assert Platform.parse("linux/arm64") == Platform("linux", "arm64")
    assert str(Platform.parse("linux/arm/v7")) == "linux/arm/v7"
    assert Platform.parse("linux/arm64/v8").matches(Platform("linux", "arm64"))
    assert Platform.parse("linux/amd64").matches(Platform("linux", "amd64", "v2"))
    assert not Platform.parse("linux/amd64").matches(Platform("linux", "arm64"))
    for bad in ("linux", "linux/", "a/b/c/d", ""):
        with pytest.raises(InputError):
            Platform.parse(bad)


def test_parse_manifest_kinds() -> None:
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest_of(b"a"),
                    "size": 1,
                    "platform": {"os": "linux", "architecture": "s390x"},
                }
            ],
        }
    ).encode()
    parsed = parse_manifest("r/x", index, digest_of(index), OCI_INDEX)
    assert parsed.is_index and parsed.manifests[0].platform == Platform("linux", "s390x")
    schema1 = json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode()
    with pytest.raises(RegistryError, match="schema 1"):
        parse_manifest("r/x", schema1, digest_of(schema1), "application/vnd.docker.distribution.manifest.v1+prettyjws")
    with pytest.raises(RegistryError, match="not valid JSON"):
        parse_manifest("r/x", b"<html>", digest_of(b"<html>"), "text/html")
