"""The registry client every part of mirrorkit uses: manifests, digests and verified blob streams.

Built on oras-py's pieces that fit (media types, WWW-Authenticate parsing, basic-auth encoding,
localhost aliases) around our own HTTP layer, because oras-py's `Registry` makes calls without
timeouts or retries, downloads blobs to files instead of streaming them, and merges every Docker
config it finds instead of using the one auth file oc-mirror would use.

How http vs https is chosen (per registry, once, with a `GET /v2/` ping):

* `tls_verify=True` (default): https with certificate verification. Loopback registries
  (`localhost`, `127.0.0.0/8`, `[::1]`) may fall back to plain http, as Docker does: that traffic
  never leaves the machine.
* `tls_verify=False`, or the host is in `insecure_registries`: https *without* verification first,
  then plain http, for any host (what podman/skopeo do with `--tls-verify=false`).

Authentication follows the registry's `WWW-Authenticate` challenge: `Basic` sends the auth file's
credentials; `Bearer` fetches a pull token for the repository from the challenge's realm (with the
credentials when there are any, anonymously otherwise) and caches it per repository.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from os import PathLike
from typing import TypeVar

import oras.auth.utils
import requests
import urllib3

from mirrorkit.errors import AuthError, InputError, RegistryError
from mirrorkit.http import (
    DEFAULT_POLICY,
    Failure,
    RetryPolicy,
    classify,
    new_session,
    raise_for_transient,
    retrying,
    waiting_notice,
)
from mirrorkit.oci.auth import AuthConfig, find_authfile
from mirrorkit.oci.blob import VerifiedReader, hasher_for, response_chunks
from mirrorkit.oci.manifest import ACCEPT, MAX_MANIFEST_BYTES, Descriptor, Manifest, parse_manifest
from mirrorkit.oci.platform import Platform, coerce_platform, describe
from mirrorkit.oci.reference import ImageReference

log = logging.getLogger(__name__)

T = TypeVar("T")
#: An image config is a few KiB; a bigger one is not read for its labels.
MAX_CONFIG_BYTES = 1024 * 1024

RefLike = ImageReference | str


@dataclass(frozen=True)
class Challenge:
    """A parsed `WWW-Authenticate` header: `scheme` is `basic` or `bearer`."""

    scheme: str
    realm: str | None = None
    service: str | None = None

    @classmethod
    def parse(cls, header: str | None) -> Challenge | None:
        if not header:
            return None
        scheme = header.strip().split(" ", 1)[0].lower()
        if scheme not in ("basic", "bearer"):
            return None
        params = oras.auth.utils.parse_auth_header(header)
        return cls(scheme, params.realm, params.service)


@dataclass(frozen=True)
class Endpoint:
    """How to talk to one registry: base URL, whether TLS is verified, its auth challenge."""

    registry: str
    base_url: str
    verify: bool
    challenge: Challenge | None


def is_loopback(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _as_ref(ref: RefLike) -> ImageReference:
    return ref if isinstance(ref, ImageReference) else ImageReference.parse(ref)


class OciClient:
    """A read-only OCI distribution client (pull side) with verification at every step."""

    def __init__(
        self,
        authfile: str | PathLike[str] | None = None,
        tls_verify: bool = True,
        policy: RetryPolicy = DEFAULT_POLICY,
        *,
        insecure_registries: tuple[str, ...] = (),
        loopback_http: bool = True,
    ) -> None:
        """*loopback_http*: let a loopback registry fall back to plain http while TLS is verified (as
        Docker does); push's pre-flight turns it off to decide http vs https as oc-mirror will
        (``--dest-tls-verify=true``: https only)."""
        self.auth = AuthConfig.load(find_authfile(authfile))
        self.tls_verify = tls_verify
        self.policy = policy
        self.insecure_registries = frozenset(insecure_registries)
        self.loopback_http = loopback_http
        self._sessions: dict[bool, requests.Session] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._tokens: dict[tuple[str, str], str] = {}

    # -- public API ---------------------------------------------------------------------------

    def get_manifest(self, ref: RefLike, platform: Platform | str | None = None) -> Manifest:
        """The image manifest *ref* names, verified; an index is resolved to *platform*.

        *platform* defaults to linux/amd64 and only matters for indexes: a single-platform image
        is returned as it is (operator bundles hold platform-independent files).
        """
        image = _as_ref(ref)
        top = self._fetch_manifest(image, image.reference)
        if not top.is_index:
            return top
        want = coerce_platform(platform)
        for entry in top.manifests:
            if entry.platform is not None and want.matches(entry.platform):
                child = self._fetch_manifest(image, entry.digest, expected=entry)
                if child.is_index:
                    raise RegistryError(f"index {top.ref} nests another index for {want}", "mirrorkit follows one level of index")
                return replace(child, index_digest=top.digest, platform=entry.platform)
        raise InputError(
            f"image {image} has no {want} manifest",
            f"its index offers {describe(e.platform for e in top.manifests)}",
            "choose one of those with --platform os/arch",
        )

    def get_top_manifest(self, ref: RefLike) -> Manifest:
        """The manifest or index *ref* names, exactly as served and verified (an index is not resolved)."""
        image = _as_ref(ref)
        return self._fetch_manifest(image, image.reference)

    def resolve_digest(self, ref: RefLike) -> str:
        """The digest *ref*'s tag points at (the index digest for multi-arch images)."""
        image = _as_ref(ref)
        if image.digest:
            return image.digest

        def head(resp: requests.Response) -> str | None:
            self._expect_ok(resp, image, "manifest")
            return _content_digest(resp)

        digest = self._call(
            image, "HEAD", f"manifests/{image.reference}", head, headers={"Accept": ACCEPT}, what=f"resolve {image}"
        )
        return digest or self._fetch_manifest(image, image.reference).digest

    def check_login(self, ref: RefLike) -> str:
        """Prove the registry of *ref* answers and accepts our credentials for its repository, without
        writing anything (push's pre-flight): basic auth is sent to ``/v2/``, a bearer registry must
        grant a token. Returns how access was decided; raises :class:`AuthError` when refused."""
        image = _as_ref(ref)
        endpoint = self._endpoint(image.api_host)
        challenge = endpoint.challenge
        if challenge is None:
            return "no authentication required"
        if challenge.scheme == "bearer":
            self._fetch_token(endpoint, challenge, image)
            return "token granted"
        creds = self.auth.lookup(image.registry, image.repository)
        if creds is None:
            raise self._refused(image, 401)

        def get() -> requests.Response:
            return raise_for_transient(
                self._send(endpoint, "GET", f"{endpoint.base_url}/v2/", headers={"Authorization": f"Basic {creds.basic}"})
            )

        resp = retrying(get, what=f"log in to registry {image.registry}", error=RegistryError, policy=self.policy)
        resp.close()
        if resp.status_code in (401, 403):
            raise self._refused(image, resp.status_code)
        if resp.status_code >= 400:
            raise RegistryError(f"registry {image.registry} answered HTTP {resp.status_code} to a login check")
        return "credentials accepted"

    def has_manifest(self, ref: RefLike) -> bool:
        """True when the registry has the manifest *ref* names (by digest or tag); False on 404."""
        image = _as_ref(ref)

        def head(resp: requests.Response) -> bool:
            if resp.status_code == 404:
                return False
            self._expect_ok(resp, image, "manifest")
            expected = image.digest
            got = _content_digest(resp)
            if expected and got and got != expected:
                raise RegistryError(
                    f"registry {image.registry} answered for {image} with digest {got}", "the registry is inconsistent"
                )
            return True

        return self._call(image, "HEAD", f"manifests/{image.reference}", head, headers={"Accept": ACCEPT}, what=f"check {image}")

    def has_blob(self, ref: RefLike, digest: str) -> bool:
        """True when the repository of *ref* serves the blob *digest* (HEAD); False on 404."""
        image = _as_ref(ref)

        def head(resp: requests.Response) -> bool:
            if resp.status_code == 404:
                return False
            self._expect_ok(resp, image, "blob")
            return True

        return self._call(image, "HEAD", f"blobs/{digest}", head, what=f"check blob {digest} of {image.name}")

    def config_labels(self, manifest: Manifest) -> dict[str, str]:
        """The image config's ``config.Labels`` (the config blob verified like every blob); ``{}`` when
        the image has no config, it is larger than :data:`MAX_CONFIG_BYTES` or not a JSON object."""
        config = manifest.config
        if config is None or config.size > MAX_CONFIG_BYTES:
            return {}
        with self.open_blob(manifest.name, config) as reader:
            raw = reader.read()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return {}
        section = data.get("config") if isinstance(data, dict) else None
        labels = section.get("Labels") if isinstance(section, dict) else None
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    def open_blob(self, ref: RefLike, descriptor: Descriptor) -> VerifiedReader:
        """A file-like stream of the blob *descriptor* names, verified against its digest and size.

        Use it as a context manager; the digest is checked when the last byte is read (call
        `drain()` if you stop early and still want the check).
        """
        image = _as_ref(ref)
        what = f"blob {descriptor.digest} of {image.name}"
        hasher_for(descriptor.digest, what)  # refuse unknown algorithms before any download
        current: list[requests.Response] = []

        def open_at(offset: int) -> Iterator[bytes]:
            for resp in current:
                resp.close()
            current.clear()
            headers = {"Range": f"bytes={offset}-"} if offset else {}

            def keep(resp: requests.Response) -> requests.Response:
                if resp.status_code == 404:
                    resp.close()
                    raise RegistryError(
                        f"{what} not found",
                        f"the registry {image.registry} does not have it",
                        "the image is incomplete in that registry; push it again",
                    )
                if offset and resp.status_code not in (200, 206):
                    self._expect_ok(resp, image, "blob")
                if not offset:
                    self._expect_ok(resp, image, "blob")
                return resp

            resp = self._call(
                image, "GET", f"blobs/{descriptor.digest}", keep, headers=headers, stream=True, what=f"download {what}"
            )
            current.append(resp)
            skip = offset if resp.status_code == 200 else 0
            return response_chunks(resp, skip=skip)

        def close() -> None:
            for resp in current:
                resp.close()

        return VerifiedReader(
            open_at(0),
            digest=descriptor.digest,
            size=descriptor.size,
            what=what,
            reopen=open_at,
            attempts=self.policy.attempts,
            on_close=close,
        )

    # -- manifests --------------------------------------------------------------------------

    def _fetch_manifest(self, image: ImageReference, reference: str, expected: Descriptor | None = None) -> Manifest:
        where = f"{image.name}@{reference}" if reference.startswith("sha256:") else f"{image.name}:{reference}"

        def read(resp: requests.Response) -> tuple[bytes, str | None, str | None]:
            self._expect_ok(resp, image, "manifest", shown=where)
            body = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_MANIFEST_BYTES:
                    resp.close()
                    raise RegistryError(f"manifest {where} is larger than {MAX_MANIFEST_BYTES} bytes", "that is not a manifest")
            return bytes(body), resp.headers.get("Content-Type"), _content_digest(resp)

        raw, content_type, header_digest = self._call(
            image, "GET", f"manifests/{reference}", read, headers={"Accept": ACCEPT}, stream=True, what=f"fetch manifest {where}"
        )
        # by digest: the reference is the truth; by tag: the registry's Docker-Content-Digest
        # header; neither: nothing to check against, the computed digest names what we got
        want = reference if reference.startswith(("sha256:", "sha512:")) else header_digest
        if expected is not None:
            want = expected.digest
        algorithm = (want or "sha256:").partition(":")[0]
        hasher = hasher_for(f"{algorithm}:x", f"manifest {where}")
        hasher.update(raw)
        actual = f"{algorithm}:{hasher.hexdigest()}"
        if want and actual != want:
            raise RegistryError(
                f"manifest {where} does not verify",
                f"its digest is {actual}, expected {want}",
                "the registry (or a proxy) served other bytes than it names; do not use this image",
            )
        if expected is not None and expected.size != len(raw):
            raise RegistryError(f"manifest {where} does not verify", f"it has {len(raw)} bytes, the index says {expected.size}")
        digest = actual
        return parse_manifest(image.name, raw, digest, content_type)

    # -- HTTP plumbing ----------------------------------------------------------------------

    def _session(self, verify: bool) -> requests.Session:
        if verify not in self._sessions:
            self._sessions[verify] = new_session(verify=verify)
        return self._sessions[verify]

    def _send(self, endpoint: Endpoint, method: str, url: str, **kwargs: object) -> requests.Response:
        session = self._session(endpoint.verify)
        with warnings.catch_warnings():
            if not endpoint.verify:
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            return session.request(method, url, timeout=self.policy.timeout, **kwargs)  # type: ignore[arg-type]

    def _endpoint(self, registry: str) -> Endpoint:
        """Ping `/v2/` once per registry to choose the scheme and learn its auth challenge."""
        if registry in self._endpoints:
            return self._endpoints[registry]
        secure = self.tls_verify and registry not in self.insecure_registries
        candidates = [Endpoint(registry, f"https://{registry}", secure, None)]
        if not secure or (self.loopback_http and is_loopback(registry)):
            candidates.append(Endpoint(registry, f"http://{registry}", False, None))

        def ping() -> Endpoint:
            for number, candidate in enumerate(candidates, 1):
                try:
                    resp = self._send(candidate, "GET", f"{candidate.base_url}/v2/")
                except requests.exceptions.SSLError as exc:
                    if number < len(candidates):
                        continue
                    failure = classify(exc, self.policy)
                    raise RegistryError(
                        f"TLS connection to registry {registry} failed", failure.text, self._hint(failure)
                    ) from None
                except requests.ConnectionError:
                    if number < len(candidates):
                        continue
                    raise
                raise_for_transient(resp)
                challenge = Challenge.parse(resp.headers.get("WWW-Authenticate")) if resp.status_code == 401 else None
                resp.close()
                return replace(candidate, challenge=challenge)
            raise AssertionError("unreachable")

        with waiting_notice(f"registry {registry} to answer", self.policy):
            endpoint = retrying(
                ping, what=f"connect to registry {registry}", error=RegistryError, policy=self.policy, hint=self._hint
            )
        log.debug(
            "registry %s: %s (tls verify %s, auth %s)",
            registry,
            endpoint.base_url,
            endpoint.verify,
            endpoint.challenge and endpoint.challenge.scheme,
        )
        self._endpoints[registry] = endpoint
        return endpoint

    def _hint(self, failure: Failure) -> str:
        """The hint that fits *failure*; never "--no-tls-verify" when it was given already."""
        if not self.tls_verify and failure.kind in ("tls", "plain-http"):
            return "TLS failed although --no-tls-verify was given: check that this host and port serve a registry"
        return failure.hint

    def _call(
        self,
        image: ImageReference,
        method: str,
        path: str,
        handle: Callable[[requests.Response], T],
        *,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        what: str,
    ) -> T:
        """One retried request to `/v2/<repository>/<path>`; *handle* runs inside the retry."""
        registry = image.api_host
        for round_ in (1, 2):
            endpoint = self._endpoint(registry)
            url = f"{endpoint.base_url}/v2/{image.repository}/{path}"

            # endpoint and url are bound now: each round's closures use that round's endpoint
            def attempt(endpoint: Endpoint = endpoint, url: str = url) -> requests.Response:
                sent = dict(headers or {})
                authorization = self._authorization(endpoint, image)
                if authorization:
                    sent["Authorization"] = authorization
                return raise_for_transient(self._send(endpoint, method, url, headers=sent, stream=stream))

            def attempt_and_handle() -> tuple[requests.Response, T | None]:
                resp = attempt()
                if resp.status_code in (401, 403):
                    return resp, None
                return resp, handle(resp)

            resp, result = retrying(attempt_and_handle, what=what, error=RegistryError, policy=self.policy)
            if resp.status_code not in (401, 403):
                return result  # type: ignore[return-value]
            challenge = Challenge.parse(resp.headers.get("WWW-Authenticate"))
            resp.close()
            renew = challenge is not None and (challenge != endpoint.challenge or challenge.scheme == "bearer")
            if resp.status_code == 401 and round_ == 1 and renew:
                # the registry wants other auth than the ping suggested, or our token expired: once more
                self._endpoints[registry] = replace(endpoint, challenge=challenge)
                self._tokens.pop((registry, image.repository), None)
                continue
            raise self._refused(image, resp.status_code)
        raise AssertionError("unreachable")

    def _authorization(self, endpoint: Endpoint, image: ImageReference) -> str | None:
        challenge = endpoint.challenge
        if challenge is None:
            return None
        creds = self.auth.lookup(image.registry, image.repository)
        if challenge.scheme == "basic":
            return f"Basic {creds.basic}" if creds else None
        key = (endpoint.registry, image.repository)
        if key not in self._tokens:
            self._tokens[key] = self._fetch_token(endpoint, challenge, image)
        return f"Bearer {self._tokens[key]}"

    def _fetch_token(self, endpoint: Endpoint, challenge: Challenge, image: ImageReference) -> str:
        realm = challenge.realm
        if not realm or not realm.startswith(("https://", "http://")):
            raise RegistryError(
                f"registry {image.registry} sent a bearer challenge without a usable realm", "cannot request a token"
            )
        params = {"scope": f"repository:{image.repository}:pull"}
        if challenge.service:
            params["service"] = challenge.service
        creds = self.auth.lookup(image.registry, image.repository)
        headers = {"Accept": "application/json"}
        if creds:
            headers["Authorization"] = f"Basic {creds.basic}"
        token_endpoint = replace(endpoint, verify=endpoint.verify if realm.startswith("https://") else False)

        def get() -> requests.Response:
            return raise_for_transient(self._send(token_endpoint, "GET", realm, params=params, headers=headers))

        resp = retrying(get, what=f"get a token for {image.name}", error=RegistryError, policy=self.policy)
        if resp.status_code in (401, 403):
            raise self._refused(image, resp.status_code, token=True)
        if resp.status_code != 200:
            raise RegistryError(f"token server of {image.registry} answered HTTP {resp.status_code}", hint="try again later")
        try:
            data = resp.json()
        except ValueError:
            data = None
        token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryError(
                f"token server of {image.registry} sent no token", "its answer has neither token nor access_token"
            )
        return token

    def _refused(self, image: ImageReference, status: int, token: bool = False) -> AuthError:
        creds = self.auth.lookup(image.registry, image.repository)
        who = (
            f"the credentials for {image.registry} in {self.auth.path}"
            if creds
            else f"anonymous access ({self.auth.describe()} has no entry for {image.registry})"
            if self.auth.path
            else f"anonymous access ({self.auth.describe()})"
        )
        where = "token server of " if token else ""
        return AuthError(
            f"{where}registry {image.registry} refused {who} for {image.name} (HTTP {status})",
            None,
            f"log in with `podman login {image.registry}` or pass --authfile with valid credentials for it",
        )

    def _expect_ok(self, resp: requests.Response, image: ImageReference, kind: str, shown: str | None = None) -> None:
        if resp.status_code in (200, 206):
            return
        shown = shown or str(image)
        detail = _error_detail(resp)
        resp.close()
        if resp.status_code == 404:
            raise RegistryError(
                f"{kind} {shown} not found in registry {image.registry}",
                detail or "HTTP 404",
                "check the repository name and tag (skopeo list-tags docker://REPO lists the tags)",
            )
        raise RegistryError(f"registry {image.registry} answered HTTP {resp.status_code} for {kind} {shown}", detail)


def _content_digest(resp: requests.Response) -> str | None:
    value = resp.headers.get("Docker-Content-Digest", "").strip()
    return value if value.startswith(("sha256:", "sha512:")) else None


def _error_detail(resp: requests.Response) -> str | None:
    """The registry's `{"errors": [{"code", "message"}]}`, short; never more than a line."""
    try:
        if int(resp.headers.get("Content-Length", "0") or 0) > 64 * 1024:
            return None
        data = resp.json()
    except (ValueError, requests.RequestException):
        return None
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return " ".join(str(first.get(k, "")) for k in ("code", "message")).strip()[:200] or None
    return None
