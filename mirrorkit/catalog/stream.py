"""Streams under the catalog reader: layer decompression and FBC object decoding, bounded in memory.

Layers are gzip (`tar+gzip`), zstd (`tar+zstd`, what podman/buildah write with
`--compression-format zstd`) or plain tar; the kind is read from the first bytes, the media type
only breaks ties. zstd comes from the standard library from Python 3.14 on (`compression.zstd`) and
from its backport `backports.zstd` before that. gzip is inflated by ISA-L (`isal`) when it is
installed, about twice as fast as zlib: inflating is most of the time a catalog read takes.

An FBC file is a JSON stream (objects one after another, not an array; `opm render` writes that) or
YAML documents. JSON is decoded object by object from a sliding window, so the largest object, not
the file, bounds memory; YAML files are small in practice and are parsed whole.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
from collections.abc import Iterator
from typing import IO, Any

import yaml

from mirrorkit.catalog.fbc import Where, malformed
from mirrorkit.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: Bytes read from a tar member per step while decoding JSON.
CHUNK = 1024 * 1024
#: One FBC object larger than this is not an FBC object.
MAX_OBJECT_CHARS = 64 * 1024 * 1024
#: A YAML FBC file is parsed whole; refuse one that would not fit comfortably.
MAX_YAML_BYTES = 64 * 1024 * 1024
JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")

_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _zstd_module() -> Any:
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError:
        try:
            from backports import zstd  # type: ignore[import-not-found,no-redef]
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
        return zstd.ZstdFile(raw, mode="rb")  # type: ignore[no-any-return]
    if head.startswith(GZIP_MAGIC):
        try:
            from isal import igzip  # type: ignore[import-not-found]
        except ImportError:
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        return igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[no-any-return]
    return raw


def is_fbc_file(path: str) -> bool:
    return path.endswith(JSON_SUFFIXES + YAML_SUFFIXES)


def iter_objects(stream: IO[bytes], file: str) -> Iterator[tuple[Any, Where]]:
    """Decoded objects of the FBC file *file* read from *stream*, each with its position."""
    if file.endswith(YAML_SUFFIXES):
        yield from _yaml_objects(stream, file)
    else:
        yield from _json_objects(stream, file)


def _yaml_objects(stream: IO[bytes], file: str) -> Iterator[tuple[Any, Where]]:
    data = stream.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise malformed(Where(file, 1), f"YAML file larger than {MAX_YAML_BYTES} bytes")
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
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise malformed(Where(file, line), f"not valid YAML ({str(exc).splitlines()[0]})") from None


def _json_objects(stream: IO[bytes], file: str) -> Iterator[tuple[Any, Where]]:
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    text, pos, line, eof = "", 0, 1, False
    while True:
        # skip whitespace between objects, counting lines
        while True:
            start = pos
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            line += text.count("\n", start, pos)
            if pos < len(text) or eof:
                break
            text, pos, eof = _more(stream, utf8, text, pos, file, line)
        if pos >= len(text):
            return
        while True:
            try:
                obj, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                if not eof:  # maybe the object continues in the next chunk
                    text, pos, eof = _more(stream, utf8, text, pos, file, line)
                    continue
                bad_line = line + text.count("\n", pos, exc.pos)
                raise malformed(Where(file, bad_line), f"not valid JSON ({exc.msg})") from None
            if end == len(text) and not eof and isinstance(obj, (int, float)):
                text, pos, eof = _more(stream, utf8, text, pos, file, line)  # a number may go on
                continue
            break
        yield obj, Where(file, line)
        line += text.count("\n", pos, end)
        pos = end


def _more(stream: IO[bytes], utf8: codecs.IncrementalDecoder, text: str, pos: int, file: str, line: int) -> tuple[str, int, bool]:
    """Drop what was consumed and append the next chunk; returns (text, pos, eof)."""
    chunk = stream.read(CHUNK)
    try:
        added = utf8.decode(chunk, final=not chunk)
    except UnicodeDecodeError:
        raise malformed(Where(file, line), "not UTF-8 text") from None
    text = text[pos:] + added
    if len(text) > MAX_OBJECT_CHARS:
        raise malformed(Where(file, line), f"one object is larger than {MAX_OBJECT_CHARS} characters")
    return text, 0, not chunk


def bytes_reader(data: bytes) -> IO[bytes]:
    return io.BytesIO(data)
