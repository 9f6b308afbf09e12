"""HTTP with the manners every mirrorkit network call needs: timeouts, bounded retries, no leaked secrets.

Both registry clients (OCI and npm) go through :func:`retrying`, so "retry 5xx and connection
errors with backoff" means the same thing everywhere. A streaming download that breaks half way is
retried as a whole operation: the callable passed to :func:`retrying` restarts from the beginning
(and must discard what it wrote before).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests

from mirrorkit import __version__
from mirrorkit.errors import MirrorkitError
from mirrorkit.redact import redact

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Status codes worth another try: the server is overloaded or a proxy hiccuped.
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

USER_AGENT = f"mirrorkit/{__version__}"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. `timeout` is (connect, read) seconds for each HTTP call."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    timeout: tuple[float, float] = (10.0, 60.0)

    def delay(self, attempt: int) -> float:
        """Seconds to sleep after failed attempt number *attempt* (1-based): 0.5, 1, 2, 4, ..."""
        return min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))


DEFAULT_POLICY = RetryPolicy()


class TransientHTTPError(Exception):
    """Raised inside a retried operation for a response that deserves another attempt."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code} from {redact(response.url)}")
        self.response = response


TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    TransientHTTPError,
)


def raise_for_transient(response: requests.Response) -> requests.Response:
    """Turn a retryable status into :class:`TransientHTTPError`; return other responses as they are."""
    if response.status_code in RETRY_STATUS:
        response.close()
        raise TransientHTTPError(response)
    return response


def retrying(
    operation: Callable[[], T],
    *,
    what: str,
    error: type[MirrorkitError],
    policy: RetryPolicy = DEFAULT_POLICY,
    hint: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run *operation*, retrying transient failures; after the last attempt raise *error*.

    *what* names the operation for the user ("download @redhat/foo@1.8.0"), so the final message reads
    "download @redhat/foo@1.8.0 failed after 4 attempts: HTTP 503 from https://...".
    """
    last: BaseException | None = None
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        try:
            return operation()
        except TRANSIENT as exc:
            last = exc
            if attempt < policy.attempts:
                delay = policy.delay(attempt)
                log.info(
                    "%s: %s; retrying in %.1fs (attempt %d of %d)", what, redact(str(exc)), delay, attempt + 1, policy.attempts
                )
                sleep(delay)
    reason = _describe(last)
    raise error(
        f"{what} failed after {policy.attempts} attempts over {time.monotonic() - started:.1f} s",
        reason,
        hint or "check that the server is reachable and healthy, then run the same command again",
    ) from last


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, TransientHTTPError):
        return str(exc)
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke during the transfer"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect (connection refused or reset)"
    return redact(str(exc)) if exc else "unknown error"


def new_session(verify: bool | str = True) -> requests.Session:
    """A session with our User-Agent; TLS verification on unless the caller turns it off."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.verify = verify
    session.trust_env = True
    return session
