"""Streams under the catalog reader: layer decompression and FBC object decoding, bounded in memory.

Layers are gzip (`tar+gzip`), zstd (`tar+zstd`, what podman/buildah write with
`--compression-format zstd`) or plain tar; the kind is read from the first bytes, the media type
only breaks ties. zstd comes from the standard library from Python 3.14 on (`compression.zstd`) and
from its backport `backports.zstd` before that. gzip is inflated by ISA-L (`isal`) when it is
installed, about twice as fast as zlib: inflating is most of the time a catalog read takes.
:class:`InflatedLayer` runs the blob's download and digest hashing, and its inflating, in two
worker threads, so that the tar reader and the FBC decoder in the caller's thread overlap them.

An FBC file is a JSON stream (objects one after another, not an array; `opm render` writes that) or
YAML documents. JSON is decoded object by object from a sliding window, so the largest object, not
the file, bounds memory; YAML files are small in practice and are parsed whole.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import queue
import re
import threading
from collections.abc import Iterator
from typing import IO, Any, Protocol, cast

import yaml

from mirrorkit.catalog.fbc import Where, malformed
from mirrorkit.errors import InputError, MirrorkitError
from mirrorkit.limits import FBC_OBJECT_BYTES, FBC_OBJECT_NODES, InflateBudget, too_deep

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: Bytes read from a tar member per step while decoding JSON.
CHUNK = 1024 * 1024
#: Uncompressed bytes per piece handed from the inflating thread to the tar reader, and how many
#: pieces may wait between them: the bound on what the pipeline holds.
LAYER_PIECE = 1024 * 1024
LAYER_QUEUE = 8
#: The same between the thread reading the blob and the one inflating it (the network's chunks).
RAW_PIECE = 256 * 1024
RAW_QUEUE = 16
#: How long closing a layer waits for its worker once it was told to stop (a stalled connection
#: must not hold an error back; the worker is a daemon and closes its response when it wakes).
JOIN_SECONDS = 5.0
#: Characters kept ahead of the decoder: objects smaller than this never straddle the window's end.
WINDOW_CHARS = 256 * 1024
_WHITESPACE = re.compile(r"[ \t\r\n]*")
#: A JSON string (unrolled for speed): removed before counting a suspicious object's nodes.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")

_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Readable(Protocol):
    """What the FBC decoders read from: a file, or a tar member of the catalog reader."""

    def read(self, size: int = -1, /) -> bytes: ...


def _zstd_module() -> Any:
    try:
        from compression import zstd  # Python 3.14+
    except ImportError:
        try:
            from backports import zstd
        except ImportError:
            return None
    return zstd


def zstd_available() -> bool:
    return _zstd_module() is not None


def decompressed(raw: IO[bytes], head: bytes, media_type: str, what: str) -> IO[bytes]:
    """A readable stream of the uncompressed tar in *raw* (whose first bytes are *head*)."""
    if head.startswith(ZSTD_MAGIC) or ("zstd" in media_type and not head.startswith(GZIP_MAGIC)):
        zstd = _zstd_module()
        if zstd is None:
            raise InputError(
                f"{what} is zstd-compressed",
                "this Python has no zstd decoder",
                "install mirrorkit's dependencies again (pip install 'backports.zstd; python_version<\"3.14\"')",
            )
        stream: IO[bytes] = zstd.ZstdFile(raw, mode="rb")
        return stream
    if head.startswith(GZIP_MAGIC):
        try:
            from isal import igzip
        except ImportError:
            return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        return cast(IO[bytes], igzip.IGzipFile(fileobj=raw, mode="rb"))
    return raw


class _Worker:
    """A daemon thread handing (kind, value) items to one reader through a bounded queue."""

    DATA, END, FAILED = 0, 1, 2

    def __init__(self, name: str, depth: int, cancel: threading.Event) -> None:
        self._queue: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
        self._cancel = cancel  # the caller gave up: leave now
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    def _work(self) -> None:
        raise NotImplementedError

    def _put(self, kind: int, value: Any = None) -> bool:
        while not self._cancel.is_set():
            try:
                self._queue.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _get(self) -> tuple[int, Any]:
        while True:
            try:
                return self._queue.get(timeout=1.0)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError(f"{self._thread.name}: the worker ended without a result") from None

    def _stop_worker(self) -> None:
        """After the cancel event was set: unblock the worker and wait for it (bounded)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(JOIN_SECONDS)


class _Fetched(_Worker):
    """The raw bytes of a blob read by a worker thread (network, and the digest's hashing in the
    VerifiedReader, which raises at the end when the blob does not verify), as a file for a decoder.
    The worker owns *reader* and closes it."""

    def __init__(self, reader: Any, cancel: threading.Event, *, piece: int, depth: int) -> None:
        super().__init__("catalog-fetch", depth, cancel)
        self._reader = reader
        self._piece = piece
        self._buf = b""
        self._pos = 0
        self._eof = False
        try:
            self._thread.start()
        except BaseException:
            reader.close()
            raise

    def _work(self) -> None:
        try:
            while not self._cancel.is_set():
                piece = self._reader.read(self._piece)
                if not piece:
                    self._put(self.END)  # read to the end: the digest was checked
                    return
                if not self._put(self.DATA, piece):
                    return
        except BaseException as exc:
            self._put(self.FAILED, exc)
        finally:
            self._reader.close()

    def _fill(self) -> bool:
        """A fresh piece in the buffer; False at the end. Errors of the blob are raised here."""
        if self._eof:
            return False
        kind, value = self._get()
        if kind == self.FAILED:
            self._eof = True
            raise value
        if kind == self.END:
            self._eof = True
            self._buf, self._pos = b"", 0
            return False
        self._buf, self._pos = value, 0
        return True

    # the file interface decoders use
    name = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buf[self._pos :]]
            while self._fill():
                parts.append(self._buf)
            self._buf, self._pos = b"", 0
            return b"".join(parts)
        if self._pos >= len(self._buf) and not self._fill():
            return b""
        start, end = self._pos, min(len(self._buf), self._pos + size)
        self._pos = end
        return self._buf if start == 0 and end == len(self._buf) else self._buf[start:end]

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def peek(self, size: int) -> bytes:
        while len(self._buf) - self._pos < size and not self._eof:
            rest = self._buf[self._pos :]
            if not self._fill():
                self._buf, self._pos = rest, 0
                break
            self._buf, self._pos = rest + self._buf, 0
        return self._buf[self._pos : self._pos + size]

    def drain(self) -> None:
        """Discard the rest; returns once the whole blob was read and verified (raises if not)."""
        self._buf, self._pos = b"", 0
        while self._fill():
            self._buf, self._pos = b"", 0

    def close(self) -> None:
        self._stop_worker()


class InflatedLayer(_Worker):
    """The uncompressed bytes of a layer blob, as pieces of about `LAYER_PIECE`, from two threads.

    One thread reads the blob (network, and hashing it for the digest check), another inflates it
    (ISA-L, zlib, zstd and hashlib release the GIL); the caller's thread only walks the tar and
    decodes the packages it wants. At most `LAYER_QUEUE` pieces wait between stages, so memory
    stays flat whatever the layer's size.

    `pieces()` returns the next piece (b"" at the end); errors of the blob or of the decoder are
    raised there, in stream order. When the tar has ended, `finish()` tells the inflating thread to
    stop and waits until the rest of the blob has been read and its digest checked: a mismatch is
    raised there, so the caller never returns a result from a blob that does not verify. A decoder
    error in bytes past the end of the tar is not one (nothing there is used), as when the tar
    reader stopped reading at its end. `close()` (or leaving the `with` block) stops both threads;
    the reading thread owns *reader* and closes it.
    """

    BAD_DATA, VERIFIED = 3, 4

    def __init__(
        self,
        reader: Any,
        media_type: str,
        what: str,
        *,
        piece: int = LAYER_PIECE,
        depth: int = LAYER_QUEUE,
        budget: InflateBudget | None = None,
    ) -> None:
        super().__init__("catalog-inflate", depth, threading.Event())
        self._media_type = media_type
        self._what = what
        self._budget = budget  # counted in the inflating thread: a compression bomb stops there
        self._piece = piece
        self._stop = threading.Event()  # the caller is done with the data: drain and verify
        self._ended = False
        self._raw = _Fetched(reader, self._cancel, piece=RAW_PIECE, depth=RAW_QUEUE)
        try:
            self._thread.start()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> InflatedLayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _work(self) -> None:
        raw = self._raw
        try:
            try:
                stream = decompressed(cast(IO[bytes], raw), raw.peek(16), self._media_type, self._what)
            except BaseException as exc:
                self._put(self.FAILED, exc)
                return
            while not self._stop.is_set() and not self._cancel.is_set():
                try:
                    piece = stream.read(self._piece)
                except MirrorkitError as exc:  # the blob: network, size, digest
                    self._put(self.FAILED, exc)
                    return
                except Exception as exc:  # the decoder: damaged compressed data
                    if not self._put(self.BAD_DATA, exc):
                        return
                    break
                if not piece:
                    if not self._put(self.END):
                        return
                    break
                if self._budget is not None:
                    self._budget.add(len(piece))  # raises SourceLimitExceeded: FAILED below
                if not self._put(self.DATA, piece):
                    return
            if self._cancel.is_set():
                return
            raw.drain()  # the rest of the blob (not inflated), so its digest is checked
            self._put(self.VERIFIED)
        except BaseException as exc:
            self._put(self.FAILED, exc)

    def pieces(self) -> bytes:
        """The next piece of uncompressed data; b"" once it has all been returned."""
        if self._ended:
            return b""
        kind, value = self._get()
        if kind == self.DATA:
            return cast(bytes, value)
        if kind in (self.FAILED, self.BAD_DATA):
            raise value
        self._ended = True  # END (VERIFIED only comes after END)
        return b""

    def finish(self) -> None:
        """The caller read all it needs: wait for the rest of the blob to be read and verified."""
        self._stop.set()
        while True:
            kind, value = self._get()
            if kind == self.FAILED:
                raise value
            if kind == self.VERIFIED:
                return
            # DATA past the end of the tar, END, or a decoder error in bytes nobody reads

    def close(self) -> None:
        self._cancel.set()
        self._stop_worker()
        self._raw.close()


def is_fbc_file(path: str) -> bool:
    return path.endswith(JSON_SUFFIXES + YAML_SUFFIXES)


def iter_objects(stream: Readable, file: str) -> Iterator[tuple[Any, Where]]:
    """Decoded objects of the FBC file *file* read from *stream*, each with its position."""
    if file.endswith(YAML_SUFFIXES):
        yield from _yaml_objects(stream, file)
    else:
        yield from _json_objects(stream, file)


def _yaml_objects(stream: Readable, file: str) -> Iterator[tuple[Any, Where]]:
    limit = FBC_OBJECT_BYTES.value()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise FBC_OBJECT_BYTES.refuse(f"the YAML FBC file {file}", f"is larger than {limit:,} bytes")
    try:
        loader = _SAFE_LOADER(data)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                line = node.start_mark.line + 1
                obj = loader.construct_document(node)
                if obj is not None:
                    yield obj, Where(file, line)
        finally:
            loader.dispose()
    except RecursionError:
        raise too_deep(f"the YAML FBC file {file}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise malformed(Where(file, line), f"not valid YAML ({str(exc).splitlines()[0]})") from None


def _json_objects(stream: Readable, file: str) -> Iterator[tuple[Any, Where]]:
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    text, pos, line, eof = "", 0, 1, False
    while True:
        # skip whitespace between objects, counting lines
        while True:
            start = pos
            pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]  # always matches
            line += text.count("\n", start, pos)
            if pos < len(text) or eof:
                break
            text, pos, eof = _more(stream, utf8, text, pos, file, line)
        if pos >= len(text):
            return
        while not eof and len(text) - pos < WINDOW_CHARS:
            # top the window up first: an object cut by the window's end costs a failed decode, and
            # json's error counts the lines of the whole window
            text, pos, eof = _more(stream, utf8, text, pos, file, line)
        retried = False  # the first try sees at most WINDOW_CHARS + CHUNK characters: no count needed
        while True:
            if retried:
                _check_nodes(text, pos, Where(file, line))
            try:
                obj, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                if not eof:  # maybe the object continues: read as much again before the next try,
                    # so a large object costs a few decodes, not one per chunk (quadratic)
                    want = min(2 * (len(text) - pos), FBC_OBJECT_BYTES.value())
                    text, pos, eof = _more(stream, utf8, text, pos, file, line)
                    while not eof and len(text) - pos < want:
                        text, pos, eof = _more(stream, utf8, text, pos, file, line)
                    retried = True
                    continue
                bad_line = line + text.count("\n", pos, exc.pos)
                raise malformed(Where(file, bad_line), f"not valid JSON ({exc.msg})") from None
            except RecursionError:
                raise too_deep(f"the FBC object at {Where(file, line)}") from None
            if end == len(text) and not eof and isinstance(obj, (int, float)):
                text, pos, eof = _more(stream, utf8, text, pos, file, line)  # a number may go on
                continue
            break
        yield obj, Where(file, line)
        line += text.count("\n", pos, end)
        pos = end


def _more(stream: Readable, utf8: codecs.IncrementalDecoder, text: str, pos: int, file: str, line: int) -> tuple[str, int, bool]:
    """Drop what was consumed and append the next chunk; returns (text, pos, eof)."""
    read = getattr(stream, "read1", None) or stream.read  # read1: what is at hand, without joining pieces
    chunk = read(CHUNK)
    try:
        added = utf8.decode(chunk, final=not chunk)
    except UnicodeDecodeError:
        raise malformed(Where(file, line), "not UTF-8 text") from None
    text = text[pos:] + added
    if len(text) > FBC_OBJECT_BYTES.value():
        raise FBC_OBJECT_BYTES.refuse(f"the FBC object at {Where(file, line)}", f"is larger than {len(text):,} bytes")
    return text, 0, not chunk


def _check_nodes(text: str, pos: int, where: Where) -> None:
    """Refuse an object that would decode to more than FBC_OBJECT_NODES values, before decoding it.

    Called only for an object larger than the first window (every real catalog object fits in it, so
    the normal path never counts); each value needs a character, so a short text passes. Past
    that, the separators and brackets bound the count from above; only when that bound
    is over the limit are strings removed and the structure counted (at C speed)."""
    limit = FBC_OBJECT_NODES.value()
    if len(text) - pos <= limit or _nodes_bound(text, pos) <= limit:
        return
    bare = _JSON_STRING.sub('""', text[pos:])
    nodes = _nodes_bound(bare, 0)
    if nodes > limit:
        raise FBC_OBJECT_NODES.refuse(f"the FBC object at {where}", f"holds more than {nodes:,} values")


def _nodes_bound(text: str, pos: int) -> int:
    return text.count("{", pos) + text.count("[", pos) + text.count(",", pos) + 1


def bytes_reader(data: bytes) -> IO[bytes]:
    return io.BytesIO(data)
