"""The JSON body of an npm publish, streamed: the tarball is base64-encoded as it is sent.

`npm publish` builds the whole document in memory; plugin tarballs can be tens of MB, so here the
document is split around the attachment's `data` string and the tarball is encoded block by block.
The exact length is known in advance (base64 is 4 bytes per 3), so the request carries a
Content-Length instead of chunked encoding, which some proxies in front of npm servers refuse.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_MARK = "\u0000mirrorkit-attachment\u0000"
_BLOCK = 3 * 256 * 1024  # a multiple of 3, so blocks encode independently


class StreamingPublishBody:
    """A file-like body (`read`, `__len__`, `__iter__`) for `requests`; build a new one per attempt."""

    def __init__(self, document: dict[str, Any], filename: str, tarball: Path, size: int) -> None:
        doc = dict(document)
        doc["_attachments"] = {filename: {"content_type": "application/octet-stream", "data": _MARK, "length": size}}
        text = json.dumps(doc, separators=(",", ":"))
        marker = json.dumps(_MARK)[1:-1]
        head, _, tail = text.partition(marker)
        self._head, self._tail = head.encode(), tail.encode()
        self._path = tarball
        self._size = size
        self._chunks = self._generate()
        self._buffer = b""
        self._pos = 0

    def __len__(self) -> int:
        return len(self._head) + 4 * ((self._size + 2) // 3) + len(self._tail)

    def _generate(self) -> Iterator[bytes]:
        yield self._head
        with open(self._path, "rb") as handle:
            while block := handle.read(_BLOCK):
                yield base64.b64encode(block)
        yield self._tail

    def __iter__(self) -> Iterator[bytes]:
        if self._pos < len(self._buffer):
            yield self._buffer[self._pos :]
        self._buffer, self._pos = b"", 0
        yield from self._chunks

    def read(self, size: int = -1) -> bytes:
        """Up to *size* bytes (all that is left when negative); b"" at the end."""
        parts: list[bytes] = []
        wanted = size
        while wanted != 0:
            if self._pos >= len(self._buffer):
                nxt = next(self._chunks, None)
                if nxt is None:
                    break
                self._buffer, self._pos = nxt, 0
            end = len(self._buffer) if wanted < 0 else min(len(self._buffer), self._pos + wanted)
            parts.append(self._buffer[self._pos : end])
            if wanted > 0:
                wanted -= end - self._pos
            self._pos = end
        return b"".join(parts)
