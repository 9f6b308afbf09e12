"""Stop a pool of network transfers *now* on Ctrl-C, instead of waiting for each to finish.

Why: Python delivers Ctrl-C to the main thread only. A thread pool's workers keep downloading or
uploading, and leaving the pool waits for them: 12-36 s for npm pull/publish, and the interpreter
would wait for them at exit anyway. A :class:`Cancel` is shared by the workers; ``cancel()`` sets a
flag *and shuts down every socket the workers' sessions opened*, so a transfer blocked in send or
recv fails at once (no polling interval, whatever the server's speed). Workers then leave with
:class:`Cancelled` (a BaseException: no ``except MirrorkitError``/``OSError`` in a worker swallows
it, and no retry loop retries it), and their atomic writers remove their temporary files.

Sockets are found by mounting a transport adapter whose connections register themselves when they
connect (:func:`mount`); nothing is patched globally.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

T = TypeVar("T")


class Cancelled(BaseException):
    """Raised inside a worker once its pool was cancelled."""


class Cancel:
    """A cancellation flag plus the sockets to shut down when it is raised."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        """A retry backoff that ends early (raising :class:`Cancelled`) when the pool is cancelled."""
        if self._event.wait(seconds):
            raise Cancelled()

    def iterate(self, chunks: Iterable[T]) -> Iterator[T]:
        """*chunks*, checking the flag between them."""
        for chunk in chunks:
            self.check()
            yield chunk

    def register(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
        if self._event.is_set():  # connected just as the pool was cancelled
            _shutdown(sock)
            raise Cancelled()

    def cancel(self) -> None:
        """Raise the flag and break every open connection (safe from any thread, idempotent)."""
        self._event.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _tracking(pool_cls: Any, cancel: Cancel) -> Any:
    base_conn = pool_cls.ConnectionCls

    class Connection(base_conn):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            cancel.check()
            super().connect()
            if self.sock is not None:
                cancel.register(self.sock)

    return type(f"Cancellable{pool_cls.__name__}", (pool_cls,), {"ConnectionCls": Connection})


class _Adapter(HTTPAdapter):
    def __init__(self, cancel: Cancel) -> None:
        self._cancel = cancel
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _tracking(HTTPConnectionPool, self._cancel),
            "https": _tracking(HTTPSConnectionPool, self._cancel),
        }
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


def mount(session: requests.Session, cancel: Cancel) -> requests.Session:
    """Make every connection *session* opens breakable by ``cancel.cancel()``."""
    adapter = _Adapter(cancel)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


__all__ = ["Cancel", "Cancelled", "mount"]
