"""Digest-verified streaming reads of registry content.

A :class:`VerifiedReader` is a file-like object over an HTTP response body: it hashes every byte as
it is read, never holds more than one chunk plus what the caller asked for, and at the end checks
both the size and the digest from the descriptor. A mismatch raises :class:`RegistryError` *before*
the caller sees end-of-file, so nothing downstream can act on content that did not verify.

When the connection breaks half way, the reader asks its `reopen(offset)` callback for a new
response (a `Range` request, or a full one whose first *offset* bytes are skipped) and carries on:
bounded by the client's retry policy, invisible to the caller.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterator

import requests

from mirrorkit.errors import RegistryError
from mirrorkit.http import TRANSIENT

log = logging.getLogger(__name__)

CHUNK = 256 * 1024

Reopen = Callable[[int], Iterator[bytes]]


def hasher_for(digest: str, what: str) -> hashlib._Hash:
    algorithm, _, hexpart = digest.partition(":")
    if algorithm not in ("sha256", "sha512") or not hexpart:
        raise RegistryError(f"{what} has unsupported digest {digest!r}", "mirrorkit verifies sha256 and sha512 digests")
    return hashlib.new(algorithm)


class VerifiedReader(io.RawIOBase):
    """Read a blob of known digest and size; verification happens as the last bytes arrive."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        digest: str,
        size: int | None,
        what: str,
        reopen: Reopen | None = None,
        attempts: int = 1,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self._chunks = chunks
        self._digest = digest
        self._size = size
        self._what = what
        self._reopen = reopen
        self._attempts_left = max(0, attempts - 1)
        self._on_close = on_close
        self._hash = hasher_for(digest, what)
        self._buffer = b""
        self._pos = 0  # consumed part of _buffer: slicing from an offset avoids quadratic copying
        self._seen = 0
        self._done = False

    @property
    def bytes_read(self) -> int:
        return self._seen

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes | None:
        while True:
            try:
                return next(self._chunks)
            except StopIteration:
                return None
            except TRANSIENT as exc:
                if self._reopen is None or self._attempts_left <= 0:
                    raise RegistryError(
                        f"{self._what} failed",
                        f"the connection broke after {self._seen} bytes ({type(exc).__name__})",
                        "run the same command again",
                    ) from None
                self._attempts_left -= 1
                log.info("%s: connection broke after %d bytes; resuming", self._what, self._seen)
                self._chunks = self._reopen(self._seen)

    def _fill(self, want: int) -> None:
        while not self._done and (want < 0 or len(self._buffer) - self._pos < want):
            chunk = self._next_chunk()
            if chunk is None:
                self._finish()
                return
            if not chunk:
                continue
            self._seen += len(chunk)
            if self._size is not None and self._seen > self._size:
                raise RegistryError(
                    f"{self._what} does not verify", f"the registry sent more than the expected {self._size} bytes"
                )
            self._hash.update(chunk)
            self._buffer = self._buffer[self._pos :] + chunk if self._pos < len(self._buffer) else chunk
            self._pos = 0

    def _finish(self) -> None:
        self._done = True
        if self._size is not None and self._seen != self._size:
            raise RegistryError(
                f"{self._what} does not verify",
                f"got {self._seen} bytes, expected {self._size}",
                "run the same command again; if it persists the registry content is corrupt",
            )
        actual = f"{self._digest.partition(':')[0]}:{self._hash.hexdigest()}"
        if actual != self._digest:
            raise RegistryError(
                f"{self._what} does not verify",
                f"digest is {actual}, expected {self._digest}",
                "the registry (or a proxy) served other bytes than the manifest names; do not use this content",
            )

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            self._fill(-1)
            data, self._buffer, self._pos = self._buffer[self._pos :], b"", 0
            return data
        self._fill(size)
        data = self._buffer[self._pos : self._pos + size]
        self._pos += len(data)
        return data

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def peek(self, size: int) -> bytes:
        """The next *size* bytes (fewer at the end) without consuming them."""
        self._fill(size)
        return self._buffer[self._pos : self._pos + size]

    def drain(self) -> None:
        """Read (and verify) the rest without keeping it: for consumers that stop early (tar)."""
        self._buffer, self._pos = b"", 0
        while not self._done:
            self._fill(CHUNK)
            self._buffer, self._pos = b"", 0

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()


def response_chunks(response: requests.Response, skip: int = 0) -> Iterator[bytes]:
    """Body chunks of *response*, dropping the first *skip* bytes (a resume without Range support)."""
    for chunk in response.iter_content(CHUNK):
        if skip:
            if len(chunk) <= skip:
                skip -= len(chunk)
                continue
            chunk, skip = chunk[skip:], 0
        yield chunk
