"""All HTTP to npm registries: packuments, tarballs, publishes. One place for auth, status and retries.

Every call has a timeout, retryable failures (5xx, 429, resets) are raised as
:class:`~mirrorkit.http.TransientHTTPError` / requests errors for :func:`mirrorkit.http.retrying`
to handle, and 401/403 become :class:`~mirrorkit.errors.AuthError` naming the registry (never the
token). Each thread gets its own `requests.Session`, because sessions are not guaranteed
thread-safe and downloads run in a thread pool.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from mirrorkit.cancel import Cancel, mount
from mirrorkit.errors import AuthError, NpmError
from mirrorkit.http import DEFAULT_POLICY, RetryPolicy, new_session, raise_for_transient, retrying
from mirrorkit.limits import PACKUMENT_BYTES, TARBALL_BYTES, Limit, too_deep
from mirrorkit.npm.npmrc import NpmSettings
from mirrorkit.npm.spec import PackageName
from mirrorkit.redact import redact

ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
#: Bytes per read of a packument body.
BODY_CHUNK = 256 * 1024


def strip_credentials(url: str) -> str:
    """Remove `user:pass@` from a URL before it is recorded anywhere."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def server_message(response: requests.Response) -> str:
    """The server's own words (Verdaccio answers `{"error": "..."}`), short and redacted."""
    try:
        doc = response.json()
        text = str(doc.get("error") or doc.get("reason") or doc) if isinstance(doc, dict) else str(doc)
    except ValueError:
        text = response.text
    text = " ".join(text.split())
    return redact(text[:300])


class NpmClient:
    """Talks to npm registries with the credentials in *settings*."""

    def __init__(
        self,
        settings: NpmSettings,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        verify: bool | str = True,
        cancel: Cancel | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.cancel = cancel
        self._verify = verify
        self._local = threading.local()

    def sleep(self, seconds: float) -> None:
        """Retry backoff; ends at once when the client's transfers are cancelled (Ctrl-C)."""
        if self.cancel is not None:
            self.cancel.sleep(seconds)
        else:
            time.sleep(seconds)

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = new_session(self._verify)
            if self.cancel is not None:
                mount(session, self.cancel)
        return session

    def headers(self, url: str, accept: str | None = None, registry: str | None = None) -> dict[str, str]:
        headers = {}
        auth = self.settings.authorization(url, registry)
        if auth:
            headers["Authorization"] = auth
        if accept:
            headers["Accept"] = accept
        return headers

    def redact(self, text: str) -> str:
        return redact(text, self.settings.secrets)

    def check_status(self, response: requests.Response, what: str, registry: str) -> None:
        """Raise the right error for a non-success status (transient ones for retrying)."""
        raise_for_transient(response)
        if response.status_code in (401, 403):
            detail = server_message(response)
            response.close()
            has_auth = "Authorization" in response.request.headers
            raise AuthError(
                f"{what}: {registry} answered HTTP {response.status_code}",
                detail or ("the token was refused" if has_auth else "no credentials were sent"),
                "check the token for this registry (push: --npm-token; npm pull/publish and values: --token; "
                "or NPM_TOKEN, or the //host/:_authToken line in your .npmrc)",
            )
        if response.status_code >= 400:
            detail = server_message(response)
            response.close()
            raise NpmError(f"{what}: {registry} answered HTTP {response.status_code}", detail or None)

    def packument(self, name: PackageName, registry: str | None = None, *, missing_ok: bool = False) -> dict[str, Any] | None:
        """The package document (abbreviated when the server supports it); None if absent and *missing_ok*."""
        registry = registry or self.settings.registry_for(name)
        url = f"{registry.rstrip('/')}/{name.escaped}"

        def get() -> dict[str, Any] | None:
            resp = self.session.get(url, headers=self.headers(url, ABBREVIATED), timeout=self.policy.timeout, stream=True)
            try:
                return read(resp)
            finally:
                resp.close()

        def read(resp: requests.Response) -> dict[str, Any] | None:
            if resp.status_code == 404 and missing_ok:
                resp.close()
                return None
            if resp.status_code == 404:
                resp.close()
                raise NpmError(
                    f"package {name} not found on {strip_credentials(registry)}",
                    hint="check the name and the registry for its scope",
                )
            self.check_status(resp, f"read {name}", strip_credentials(registry))
            source = f"the packument of {name} from {strip_credentials(registry)}"
            body = b"".join(capped_chunks(resp, source, PACKUMENT_BYTES, BODY_CHUNK))
            try:
                doc = json.loads(body)
            except RecursionError:
                raise too_deep(source) from None
            except ValueError as exc:
                raise NpmError(
                    f"read {name}: {strip_credentials(registry)} did not return JSON",
                    hint="check that the URL is an npm registry",
                ) from exc
            if not isinstance(doc, dict):
                raise NpmError(f"read {name}: unexpected document from {strip_credentials(registry)}")
            return doc

        return retrying(
            get, what=f"read {name} from {strip_credentials(registry)}", error=NpmError, policy=self.policy, sleep=self.sleep
        )

    @contextmanager
    def open_stream(self, url: str, what: str, registry: str | None = None) -> Iterator[requests.Response]:
        """GET *url* streaming (raises on bad status); the caller iterates `iter_content`.

        *registry* is the registry that listed *url*: its credential applies on the same host.
        """
        resp = self.session.get(url, headers=self.headers(url, registry=registry), stream=True, timeout=self.policy.timeout)
        try:
            if resp.status_code == 404:
                raise NpmError(f"{what}: tarball not found at {strip_credentials(url)}")
            self.check_status(resp, what, _origin(url))
            _check_announced(resp, f"the tarball at {strip_credentials(url)}", TARBALL_BYTES)
            yield resp
        finally:
            resp.close()

    def put_json(self, url: str, body: Any, *, content_length: int) -> requests.Response:
        """PUT a (possibly streaming) JSON body; the caller interprets the status."""
        headers = {**self.headers(url), "Content-Type": "application/json", "Content-Length": str(content_length)}
        return self.session.put(url, data=body, headers=headers, timeout=self.policy.timeout)


def _check_announced(resp: requests.Response, source: str, limit: Limit) -> None:
    """Refuse at once a body whose Content-Length is over the ceiling (nothing is read)."""
    announced = resp.headers.get("Content-Length", "")
    if announced.isdigit() and int(announced) > limit.value():
        raise limit.refuse(source, f"announces {int(announced):,} bytes")


def capped_chunks(resp: requests.Response, source: str, limit: Limit, chunk: int) -> Iterator[bytes]:
    """The body of *resp* in chunks, refused at once when its Content-Length announces more than
    *limit*, and as soon as it passes *limit* when it announced nothing (chunked, or an endless
    stream). Decoded bytes are counted: a gzip Content-Encoding cannot slip a bomb past the cap."""
    _check_announced(resp, source, limit)
    ceiling = limit.value()
    seen = 0
    for piece in resp.iter_content(chunk):
        seen += len(piece)
        if seen > ceiling:
            raise limit.refuse(source, f"sent more than {ceiling:,} bytes")
        yield piece


def tarball_chunks(resp: requests.Response, url: str, chunk: int) -> Iterator[bytes]:
    """A tarball's body under the TARBALL_BYTES ceiling: an endless body is cut off there."""
    return capped_chunks(resp, f"the tarball at {strip_credentials(url)}", TARBALL_BYTES, chunk)


def _origin(url: str) -> str:
    parts = urlsplit(strip_credentials(url))
    return f"{parts.scheme}://{parts.netloc}"
