"""HTTP with the manners every mirrorkit network call needs: timeouts, bounded retries, no leaked secrets.

Both registry clients (OCI and npm) go through :func:`retrying`, so "retry 5xx and connection
errors with backoff" means the same thing everywhere. A streaming download that breaks half way is
retried as a whole operation: the callable passed to :func:`retrying` restarts from the beginning
(and must discard what it wrote before).
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

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
    """How hard to try. `timeout` is (connect, read) seconds for each HTTP call; one number, as
    requests takes it, means both and is stored as the pair, so every reader sees the same shape."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    timeout: tuple[float, float] = (10.0, 60.0)

    def __post_init__(self) -> None:
        given: object = self.timeout
        if isinstance(given, int | float):
            object.__setattr__(self, "timeout", (float(given), float(given)))

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
    hint: str | Callable[[Failure], str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run *operation*, retrying transient failures; after the last attempt raise *error*.

    *what* names the operation for the user ("download @redhat/foo@1.8.0"), so the final message reads
    "download @redhat/foo@1.8.0 failed after 4 attempts over 3.1 s: HTTP 503 from https://...". *hint*
    may depend on what went wrong (a DNS failure and a TLS failure need different advice).
    """
    last: BaseException | None = None
    started = time.monotonic()
    for attempt in range(1, policy.attempts + 1):
        try:
            return operation()
        except TRANSIENT as exc:
            last = exc
            if attempt < policy.attempts and not classify(exc, policy).final:
                delay = policy.delay(attempt)
                log.info(
                    "%s: %s; retrying in %.1fs (attempt %d of %d)", what, redact(str(exc)), delay, attempt + 1, policy.attempts
                )
                sleep(delay)
                continue
            break
    failure = classify(last, policy)
    tries = f"after {attempt} attempt{'s' if attempt > 1 else ''} "
    advice = hint(failure) if callable(hint) else hint or failure.hint
    raise error(f"{what} failed {tries}over {time.monotonic() - started:.1f} s", failure.text, advice) from last


@dataclass(frozen=True)
class Failure:
    """What a network failure was, in the user's words: *kind* is one of ``dns``, ``refused``,
    ``reset``, ``tls``, ``plain-http``, ``connect-timeout``, ``read-timeout``, ``broken``, ``http``,
    ``other``; *final* when retrying cannot help (a name that does not resolve stays unresolved)."""

    kind: str
    text: str
    hint: str
    final: bool = False


_GENERIC_HINT = "check that the server is reachable and healthy, then run the same command again"

#: How every failure where the server did not answer at all begins (DNS, refused, closed, timed out):
#: callers that group such failures by root cause test for these words instead of copying them.
NO_ANSWER = ("could not connect", "timed out")


def did_not_answer(text: str) -> bool:
    """True when *text* (a failure's reason) says the server did not answer at all."""
    return text.startswith(NO_ANSWER)


def _chain(exc: BaseException) -> list[BaseException]:
    """*exc*, its causes and the errors requests and urllib3 wrap in their arguments or ``reason``."""
    seen: list[BaseException] = []
    todo: list[object] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return seen


def _host_of(exc: BaseException) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or ""
    return urlsplit(str(url)).netloc.rpartition("@")[2] or "the server"


def classify(exc: BaseException | None, policy: RetryPolicy = DEFAULT_POLICY) -> Failure:
    """The kind of *exc*, found in the whole chain of wrapped errors (requests wraps urllib3 wraps the
    socket error), so "the name does not resolve" is never reported as "connection refused"."""
    if exc is None:
        return Failure("other", "unknown error", _GENERIC_HINT)
    if isinstance(exc, TransientHTTPError):
        return Failure("http", str(exc), "the server is overloaded or failing; try again later")
    host = _host_of(exc)
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    connect_s, read_s = policy.timeout
    if any(isinstance(e, socket.gaierror) for e in chain) or "name or service not known" in text or "nameresolution" in text:
        return Failure(
            "dns",
            f"could not connect: the name {host.rsplit(':', 1)[0]} does not resolve (DNS)",
            "check the host name and this host's DNS (or /etc/hosts); no connection was made",
            final=True,
        )
    if any(isinstance(e, requests.exceptions.SSLError | ssl.SSLError) for e in chain):
        if "wrong_version_number" in text or "record layer failure" in text or "http request" in text:
            return Failure(
                "plain-http",
                f"TLS handshake with {host} failed: it answers in plain http",
                "pass --no-tls-verify to use plain http for this registry",
                final=True,
            )
        reason = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), str(exc))
        return Failure(
            "tls",
            f"TLS handshake with {host} failed: {redact(reason)[:160]}",
            "add the registry's CA to the system trust store (or pass --no-tls-verify for a self-signed certificate)",
            final=True,
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in text:
        return Failure(
            "refused",
            f"could not connect: {host} refused the connection (nothing listens there)",
            "check the host and port and that the server is running",
        )
    timed_out = (isinstance(e, ConnectTimeoutError) and not isinstance(e, NewConnectionError) for e in chain)
    if isinstance(exc, requests.exceptions.ConnectTimeout) or any(timed_out):
        return Failure(
            "connect-timeout",
            f"timed out connecting to {host} (no answer within {connect_s:g} s)",
            "check the host, the port and any firewall between; the server did not accept the connection",
        )
    if isinstance(exc, requests.Timeout) or any(isinstance(e, ReadTimeoutError | TimeoutError) for e in chain):
        return Failure(
            "read-timeout",
            f"timed out: {host} accepted the connection but sent no answer within {read_s:g} s",
            "the server is up but hangs: restart it or check the proxy in front of it",
        )
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return Failure("broken", "the connection broke during the transfer", _GENERIC_HINT)
    if any(isinstance(e, ConnectionResetError | ConnectionAbortedError) for e in chain) or "remotedisconnected" in text:
        return Failure(
            "reset",
            f"could not connect: {host} closed the connection without an answer",
            "check that this host and port serve the right protocol and that no proxy cuts the connection",
        )
    if isinstance(exc, requests.ConnectionError):
        return Failure("other", f"could not connect to {host}: {redact(str(exc))[:160]}", _GENERIC_HINT)
    return Failure("other", redact(str(exc)), _GENERIC_HINT)


def _on_terminal() -> bool:
    return sys.stderr.isatty()


@contextmanager
def waiting_notice(what: str, policy: RetryPolicy = DEFAULT_POLICY, after_s: float = 1.0) -> Iterator[None]:
    """On a terminal, say what mirrorkit is waiting for when a connection takes more than *after_s*
    (a silent registry otherwise looks like a hung mirrorkit); nothing in pipes and logs."""
    if not _on_terminal():
        yield
        return
    connect_s, read_s = policy.timeout
    timer = threading.Timer(
        after_s,
        lambda: print(
            f"mirrorkit: waiting for {what} (gives up after {connect_s:g} s to connect, {read_s:g} s to answer, "
            f"{policy.attempts} attempts)...",
            file=sys.stderr,
            flush=True,
        ),
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def new_session(verify: bool | str = True) -> requests.Session:
    """A session with our User-Agent; TLS verification on unless the caller turns it off."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.verify = verify
    session.trust_env = True
    return session
