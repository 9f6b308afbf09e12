"""Split a bundle into numbered parts that fit on removable media, and read them back safely.

The parts are one plain tar stream (POSIX pax format, regular files only, fixed owner and mode) of
``manifest.json``, ``manifest.json.sig`` and every payload file in manifest order, cut every
``split_size`` bytes into ``parts/bundle.part-0001``, ``-0002``, ... Nothing is held in memory: files
are streamed into the tar writer and the writer rolls over to the next part file as it goes.

``parts/parts.json`` records each part's size and sha256, the whole stream's size and sha256 (so
``cat parts/bundle.part-* | sha256sum`` can be compared by hand) and the sha256 of the manifest the
parts were cut from (so stale parts of an earlier run are detected). The index is not signed: the
signed manifest pins every file inside the stream, the index only names the damaged part early.

Reading (:func:`scan_parts`) is a pipeline: the main thread parses the tar stream and hashes each
member, while two single-thread executors hash the same 1 MiB blocks per part and for the whole
stream (hashlib releases the GIL, so this uses both cores). Every tar entry is checked before
anything is written: only regular files with safe relative names (:mod:`mirrorkit.bundle.safepath`),
no links, devices or directories, no duplicates.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from mirrorkit.bundle import layout
from mirrorkit.bundle.limits import MAX_INDEX_BYTES, loads_bounded, read_capped
from mirrorkit.bundle.safepath import check_relpath, safe_join
from mirrorkit.errors import BundleError, InputError
from mirrorkit.fsutil import atomic_write_bytes
from mirrorkit.sizes import bytes_from

CHUNK = 1024 * 1024
FORMAT = "mirrorkit-parts"
FORMAT_VERSION = 1
MIN_PART_SIZE = 1024


def parse_size(text: str) -> int:
    """Bytes from a size like ``4GiB``, ``500MiB``, ``1.5G`` (binary), ``700MB`` (decimal) or ``1048576``."""
    value = bytes_from(text)
    if value is None:
        raise InputError(
            f"invalid size {text!r}",
            hint="use a number with an optional unit: 4GiB, 500MiB, 1.5G (K/M/G/T are powers of 1024; KB/MB/GB are powers of 1000)",
        )
    if value < MIN_PART_SIZE:
        raise InputError(f"size {text!r} is too small", hint=f"a part must be at least {MIN_PART_SIZE} bytes")
    return value


@dataclass(frozen=True)
class PartEntry:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PartsIndex:
    part_size: int
    parts: tuple[PartEntry, ...]
    stream_size: int
    stream_sha256: str
    manifest_sha256: str

    def to_bytes(self) -> bytes:
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "part_size": self.part_size,
            "parts": [{"name": p.name, "size": p.size, "sha256": p.sha256} for p in self.parts],
            "stream_size": self.stream_size,
            "stream_sha256": self.stream_sha256,
            "manifest_sha256": self.manifest_sha256,
        }
        return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> PartsIndex:
        def bad(why: str) -> BundleError:
            return BundleError(f"invalid parts index {layout.PARTS_INDEX}", why, "get a fresh copy of the parts")

        try:  # bounded: size and nesting capped before json sees it
            doc = loads_bounded(data, layout.PARTS_INDEX, limit=MAX_INDEX_BYTES)
        except BundleError as exc:
            raise bad(exc.what.removeprefix(f"{layout.PARTS_INDEX} ") + (f" ({exc.why})" if exc.why else "")) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise bad(f"'format' is not {FORMAT!r}")
        if doc.get("format_version") != FORMAT_VERSION:
            raise bad(f"format version {doc.get('format_version')!r} is not {FORMAT_VERSION}; use the mirrorkit that wrote it")
        hex64 = re.compile(r"^[0-9a-f]{64}$")
        try:
            parts = []
            for n, p in enumerate(doc["parts"], start=1):
                name = check_relpath(p["name"], where=layout.PARTS_INDEX)
                if name != layout.part_name(n):
                    raise bad(f"part {n} is named {name!r}, expected {layout.part_name(n)!r}")
                if not isinstance(p["size"], int) or p["size"] < 0 or not hex64.match(p["sha256"]):
                    raise bad(f"part {name!r} has an invalid size or sha256")
                parts.append(PartEntry(name, p["size"], p["sha256"]))
            index = cls(
                int(doc["part_size"]),
                tuple(parts),
                int(doc["stream_size"]),
                str(doc["stream_sha256"]),
                str(doc["manifest_sha256"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, BundleError):
                raise
            raise bad(f"missing or malformed field ({exc})") from None
        if not parts:
            raise bad("it lists no parts")
        return index


# -- writing ---------------------------------------------------------------------------------------


class _SplitWriter:
    """A write-only stream that cuts what it is given into part files of at most *part_size* bytes."""

    def __init__(self, parts_dir: Path, part_size: int, advance: Callable[[int], None]) -> None:
        self.parts_dir = parts_dir
        self.part_size = part_size
        self.advance = advance
        self.stream = hashlib.sha256()
        self.stream_size = 0
        self.done: list[PartEntry] = []
        self._handle: BinaryIO | None = None
        self._hash = hashlib.sha256()
        self._size = 0

    def _roll(self) -> None:
        self._close_part()
        name = layout.part_name(len(self.done) + 1)
        self._handle = open(self.parts_dir / name, "xb")  # noqa: SIM115 (closed in _close_part)
        self._hash = hashlib.sha256()
        self._size = 0

    def _close_part(self) -> None:
        if self._handle is None:
            return
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self.done.append(PartEntry(layout.part_name(len(self.done) + 1), self._size, self._hash.hexdigest()))
        self._handle = None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            if self._handle is None or self._size >= self.part_size:
                self._roll()
            block = view[: self.part_size - self._size]
            assert self._handle is not None
            self._handle.write(block)
            self._hash.update(block)
            self.stream.update(block)
            self._size += len(block)
            self.stream_size += len(block)
            self.advance(len(block))
            view = view[len(block) :]
        return len(data)

    def close(self) -> None:
        self._close_part()


def _tarinfo(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    info.mode = 0o644
    info.type = tarfile.REGTYPE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_parts(
    bundle_dir: Path,
    members: list[tuple[str, int]],
    split_size: int,
    *,
    manifest_sha256: str,
    mtime: int = 0,
    progress: bool = True,
) -> PartsIndex:
    """Write ``parts/`` for the given (relative name, size) members; replaces any earlier parts.

    Parts are first written to a temporary folder beside ``parts/`` and swapped in at the end, so an
    interrupted run never leaves a mix of old and new parts.
    """
    bundle_dir = Path(bundle_dir)
    final = bundle_dir / layout.PARTS_DIR
    work = Path(tempfile.mkdtemp(prefix=".parts.", dir=bundle_dir))
    total = sum(size for _, size in members)
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="writing parts",
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    )
    try:
        writer = _SplitWriter(work, split_size, lambda n: None)
        with tarfile.open(
            fileobj=writer,
            mode="w|",
            format=tarfile.PAX_FORMAT,
            bufsize=CHUNK,  # type: ignore[call-overload]
            copybufsize=CHUNK,
        ) as tar:
            for name, size in members:
                path = safe_join(bundle_dir, name)
                with open(path, "rb") as handle:
                    st = os.fstat(handle.fileno())
                    if st.st_size != size:
                        raise BundleError(
                            f"{name} changed while writing parts", f"size {st.st_size}, expected {size}", "run pack again"
                        )
                    tar.addfile(_tarinfo(name, size, mtime), handle)
                bar.update(size)
        writer.close()
        index = PartsIndex(split_size, tuple(writer.done), writer.stream_size, writer.stream.hexdigest(), manifest_sha256)
        atomic_write_bytes(work / "parts.json", index.to_bytes())
        if final.exists():
            shutil.rmtree(final)
        os.replace(work, final)
        return index
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        bar.close()


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartResult:
    name: str
    expected_size: int
    expected_sha256: str
    size: int
    sha256: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.size == self.expected_size and self.sha256 == self.expected_sha256


@dataclass(frozen=True)
class MemberResult:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PartsScan:
    """What reading the parts found: per-part hashes, the stream hash, the tar members and any error
    that stopped the reading (a truncated stream, an unsafe entry)."""

    parts: tuple[PartResult, ...]
    stream_size: int
    stream_sha256: str
    members: tuple[MemberResult, ...]
    errors: tuple[str, ...] = field(default=())


class _PartsReader:
    """Concatenates the part files into one readable stream, handing each block to hashers that run
    in their own threads (bounded queue, so memory stays flat)."""

    def __init__(self, parts_dir: Path, index: PartsIndex, advance: Callable[[int], None]) -> None:
        self.parts_dir = parts_dir
        self.entries = list(index.parts)
        self.advance = advance
        self.part_hashes = [hashlib.sha256() for _ in self.entries]
        self.part_sizes = [0] * len(self.entries)
        self.part_errors = [""] * len(self.entries)
        self.stream = hashlib.sha256()
        self.stream_size = 0
        self._current = -1
        self._handle: BinaryIO | None = None
        self._part_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="part-hash")
        self._stream_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream-hash")
        self._pending: deque[Future[None]] = deque()

    def _next_part(self) -> bool:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        while self._current + 1 < len(self.entries):
            self._current += 1
            entry = self.entries[self._current]
            try:
                fd = os.open(
                    safe_join(self.parts_dir.parent, f"{layout.PARTS_DIR}/{entry.name}"),
                    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0),
                )
            except (OSError, BundleError) as exc:
                self.part_errors[self._current] = f"cannot read: {getattr(exc, 'strerror', None) or exc}"
                continue
            self._handle = os.fdopen(fd, "rb", buffering=0)
            return True
        return False

    def read(self, size: int = CHUNK) -> bytes:
        while True:
            if self._handle is None and not self._next_part():
                return b""
            assert self._handle is not None
            block = self._handle.read(size)
            if block:
                break
            self._handle.close()
            self._handle = None
        i = self._current
        self.part_sizes[i] += len(block)
        self.stream_size += len(block)
        self._pending.append(self._part_pool.submit(self.part_hashes[i].update, block))
        self._pending.append(self._stream_pool.submit(self.stream.update, block))
        while len(self._pending) > 8:
            self._pending.popleft().result()
        self.advance(len(block))
        return block

    def drain(self) -> None:
        """Read whatever the tar parser did not consume (padding, or garbage after the end)."""
        while self.read(CHUNK):
            pass

    def finish(self) -> None:
        while self._pending:
            self._pending.popleft().result()
        if self._handle is not None:
            self._handle.close()
        self._part_pool.shutdown()
        self._stream_pool.shutdown()


def load_index(bundle_dir: Path) -> PartsIndex:
    path = safe_join(Path(bundle_dir), layout.PARTS_INDEX)
    try:
        return PartsIndex.from_bytes(read_capped(path, MAX_INDEX_BYTES, layout.PARTS_INDEX))
    except OSError as exc:
        raise BundleError(f"cannot read {layout.PARTS_INDEX}", exc.strerror or str(exc)) from None


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    seen: set[str] = set()
    for info in tar:
        name = check_relpath(info.name, where="bundle parts")
        if not info.isreg():
            raise BundleError(
                f"unsafe entry {name!r} in bundle parts",
                "it is a link, directory or device, not a regular file",
                "the parts may have been tampered with; get a fresh copy",
            )
        if name in seen:
            raise BundleError(f"entry {name!r} appears twice in bundle parts", hint="get a fresh copy of the parts")
        seen.add(name)
        yield info


def scan_parts(
    bundle_dir: Path,
    index: PartsIndex,
    *,
    extract_to: Path | None = None,
    progress: bool = True,
) -> PartsScan:
    """Read every part once: hash parts and stream, hash each tar member and, with *extract_to*,
    write the members there (each file through a temporary name). Errors are collected, not raised."""
    bundle_dir = Path(bundle_dir)
    bar = tqdm(
        total=sum(p.size for p in index.parts),
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc="reading parts",
        file=sys.stderr,
        disable=None if progress else True,
        leave=False,
    )
    reader = _PartsReader(bundle_dir / layout.PARTS_DIR, index, bar.update)
    members: list[MemberResult] = []
    errors: list[str] = []
    try:
        try:
            with tarfile.open(fileobj=reader, mode="r|", bufsize=CHUNK) as tar:  # type: ignore[call-overload]
                for info in _members(tar):
                    source = tar.extractfile(info)
                    assert source is not None
                    h = hashlib.sha256()
                    size = 0
                    with contextlib.ExitStack() as stack:
                        sink = None
                        if extract_to is not None:
                            target = safe_join(Path(extract_to), info.name)
                            target.parent.mkdir(parents=True, exist_ok=True)
                            safe_join(Path(extract_to), info.name)  # re-check after mkdir
                            sink = stack.enter_context(open(target, "xb"))
                        while block := source.read(CHUNK):
                            h.update(block)
                            size += len(block)
                            if sink is not None:
                                sink.write(block)
                    if size != info.size:
                        errors.append(f"entry {info.name!r} is truncated: {size} of {info.size} bytes")
                    members.append(MemberResult(info.name, size, h.hexdigest()))
        except BundleError as exc:
            errors.append(str(exc))
        except (tarfile.TarError, EOFError) as exc:
            errors.append(f"the tar stream in the parts is damaged or truncated ({exc})")
        except FileExistsError as exc:
            errors.append(f"cannot extract {exc.filename}: it already exists")
    finally:
        # Hash whatever the parser did not consume (tar padding, or the rest after an error) so each
        # part's own check still says which part is damaged.
        with contextlib.suppress(OSError):
            reader.drain()
        reader.finish()
        bar.close()
    results = tuple(
        PartResult(e.name, e.size, e.sha256, reader.part_sizes[i], reader.part_hashes[i].hexdigest(), reader.part_errors[i])
        for i, e in enumerate(index.parts)
    )
    return PartsScan(results, reader.stream_size, reader.stream.hexdigest(), tuple(members), tuple(errors))
