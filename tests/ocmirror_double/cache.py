"""The oc-mirror TEST DOUBLE's cache: a real registry's storage, archived and restored as oc-mirror does.

oc-mirror v2 keeps its cache as the filesystem storage of a distribution registry it runs itself
(`--cache-dir`/.oc-mirror/.cache, served on `localhost:--port`, default 55000) and its mirror-to-disk
archives are that storage, not image layouts. So that whatever reads the archives (mirrorkit's
cross-check, disk to mirror) sees the same tree, the double runs Debian's `docker-registry`
(distribution 2.8, the same on-disk layout) on that port and copies images into it with skopeo.

Archive (what oc-mirror's MirrorArchive.BuildArchive writes, in this order; regular files only, no
directory members, names relative to the cache or to working-dir's parent):
  1. every file under `docker/registry/v2/repositories/` (lexical walk: links of all cached images),
  2. for each archived image, the blobs it needs (manifests, instances of an index, config, layers) as
     `docker/registry/v2/blobs/sha256/<xx>/<hex>/data`, once per archive set, and none listed in the
     latest `working-dir/.history/.history-<RFC3339>` (what an earlier archive already carried),
  3. every file under `working-dir/` (after the registry stopped),
  4. the ImageSetConfiguration as `isc_<RFC3339>`;
then the blobs added are written to a new history file. Files go to `mirror_000001.tar` until the next
would pass `archiveSize` GiB (default 500), then `mirror_000002.tar` and so on; a file larger than that
gets a chunk of its own (with `--strict-archive`: an error). Standard library only.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

REGISTRY_ROOT = "docker/registry/v2"
REPOSITORIES = f"{REGISTRY_ROOT}/repositories"
BLOBS = f"{REGISTRY_ROOT}/blobs"
WORKING_DIR = "working-dir"
GIB = 1024 * 1024 * 1024
DEFAULT_ARCHIVE_GIB = 500
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


class CacheError(Exception):
    """The cache registry could not be used (port taken, registry would not start, archive too small)."""


# -- the cache registry process ------------------------------------------------------------------------


def port_bound(port: int) -> bool:
    """oc-mirror's check before anything else: can it listen on localhost:PORT right now?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("localhost", port))
            sock.listen(1)
        except OSError:
            return True
    return False


def _registry_binary() -> str:
    for candidate in (os.environ.get("MIRRORKIT_REGISTRY_BIN"), "/usr/bin/docker-registry", shutil.which("docker-registry")):
        if candidate and os.path.exists(candidate):
            return candidate
    raise CacheError("oc-mirror TEST DOUBLE: docker-registry (the cache registry) is not installed")


def _die_with_parent() -> None:
    """The registry must not outlive a killed double (it would hold the port): PR_SET_PDEATHSIG."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class CacheRegistry:
    """The local cache registry of one run: storage at *root*, listening on *port* (all interfaces, as
    oc-mirror's `addr: :PORT`); its log goes to *log_path* (oc-mirror: working-dir/logs/registry-*.log)."""

    def __init__(self, root: Path, port: int, log_path: Path, debug: bool = False) -> None:
        self.root, self.port, self.log_path, self.debug = root, port, log_path, debug
        self.proc: subprocess.Popen[bytes] | None = None
        self._config_dir: str | None = None

    @property
    def host(self) -> str:
        return f"localhost:{self.port}"

    def _config(self) -> str:
        """oc-mirror's registry settings that distribution 2.8 knows (no index platform validation)."""
        return json.dumps(
            {
                "version": 0.1,
                "log": {
                    "level": "debug" if self.debug else "info",
                    "formatter": "text",
                    "accesslog": {"disabled": not self.debug},
                },
                "storage": {
                    "delete": {"enabled": True},
                    "cache": {"blobdescriptor": "inmemory"},
                    "filesystem": {"rootdirectory": str(self.root)},
                },
                "http": {"addr": f":{self.port}", "headers": {"X-Content-Type-Options": ["nosniff"]}},
            }
        )  # JSON is YAML: the registry reads it as its config file

    def start(self, timeout: float = 20.0) -> None:
        self._config_dir = tempfile.mkdtemp(prefix="oc-mirror-double-registry-")
        config = Path(self._config_dir) / "config.yml"
        config.write_text(self._config(), encoding="utf-8")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [_registry_binary(), "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # the double has no threads
            )
        self._wait(timeout)

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                self.stop()
                raise CacheError(f"Could not start local registry: see {self.log_path}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v2/", timeout=2)
                return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise CacheError(f"Could not start local registry on port {self.port}: no answer in {timeout:.0f}s")

    def stop(self) -> None:
        """Stop it (idempotent): oc-mirror stops its registry before archiving working-dir."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._config_dir:
            shutil.rmtree(self._config_dir, ignore_errors=True)
            self._config_dir = None


# -- reading the registry storage ------------------------------------------------------------------------


def _read_link(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def tag_digest(root: Path, repo: str, tag: str) -> str | None:
    """The digest `repo:tag` points to in the cache storage (its tag's current link), or None."""
    return _read_link(root / REPOSITORIES / repo / "_manifests" / "tags" / tag / "current" / "link")


def has_manifest(root: Path, repo: str, digest: str) -> bool:
    """Whether the cache holds *digest* as a manifest of *repo* (a revision link and its blob)."""
    hex_ = digest.split(":", 1)[1]
    link = root / REPOSITORIES / repo / "_manifests" / "revisions" / "sha256" / hex_ / "link"
    return _read_link(link) == digest and blob_path(root, digest).is_file()


def blob_path(root: Path, digest: str) -> Path:
    hex_ = digest.split(":", 1)[1]
    return root / BLOBS / "sha256" / hex_[:2] / hex_ / "data"


def image_blobs(root: Path, digest: str) -> list[str]:
    """Every blob the image *digest* needs, read from the storage: the manifest, for an index each
    instance manifest and its blobs, the config and the layers (oc-mirror's blob gatherer's set)."""
    raw = blob_path(root, digest).read_bytes()
    doc = json.loads(raw)
    blobs = [digest]
    if doc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
        for entry in doc.get("manifests") or []:
            if blob_path(root, entry["digest"]).is_file():
                blobs += image_blobs(root, entry["digest"])
        return blobs
    blobs += [layer["digest"] for layer in doc.get("layers") or []]
    if doc.get("config"):
        blobs.append(doc["config"]["digest"])
    return blobs


# -- the archive ------------------------------------------------------------------------------------------


def walk_files(folder: Path) -> Iterator[Path]:
    """Regular files under *folder* in Go's filepath.Walk order (entries sorted by name, depth first)."""
    if not folder.is_dir():
        return
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from walk_files(path)
        elif entry.is_file(follow_symlinks=False):
            yield path


class ArchiveWriter:
    """`mirror_%06d.tar` chunks in *folder*, each at most *max_size* bytes of file content.

    Permissive (oc-mirror's default): a file larger than a chunk gets an exception chunk of its own and
    a warning; strict (`--strict-archive`): that is an error."""

    def __init__(self, folder: Path, max_size: int, strict: bool, warn: Callable[[str], None]) -> None:
        self.folder, self.max_size, self.strict, self.warn = folder, max_size, strict, warn
        self.chunk, self.size = 1, 0
        self.oversized: dict[str, int] = {}
        folder.mkdir(parents=True, exist_ok=True)
        self.tar = self._open(self.chunk)

    def _open(self, chunk: int) -> tarfile.TarFile:
        return tarfile.open(self.folder / f"mirror_{chunk:06d}.tar", "w", format=tarfile.PAX_FORMAT)

    def add(self, path: Path, name: str) -> None:
        size = path.stat().st_size
        if size > self.max_size:
            self._oversized(path, name, size)
            return
        if size + self.size > self.max_size:
            self.tar.close()
            self.chunk, self.size = self.chunk + 1, 0
            self.tar = self._open(self.chunk)
        self.tar.add(path, arcname=name, recursive=False)
        self.size += size

    def _oversized(self, path: Path, name: str, size: int) -> None:
        gib = self.max_size // GIB
        if self.strict:
            raise CacheError(
                f"maxArchiveSize {gib}G is too small compared to sizes of files that need to be included in the "
                f"archive.\n{path.name}: {size // GIB}G\n Aborting archive generation"
            )
        self.warn(
            f"maxArchiveSize {gib}G is too small compared to sizes of files that need to be included in the archive.\n{path}: {size // GIB}G"
        )
        self.oversized[str(path)] = size
        self.chunk += 1
        with self._open(self.chunk) as alone:
            alone.add(path, arcname=name, recursive=False)

    def add_tree(self, folder: Path, relative_to: Path) -> None:
        for path in walk_files(folder):
            self.add(path, path.relative_to(relative_to).as_posix())

    def close(self) -> None:
        if self.oversized:
            self.warn("The following files exceed the archiveSize configured: ")
            for path, size in self.oversized.items():
                self.warn(f"{path}: {size // GIB}")
            self.warn(f"Please consider updating archiveSize to at least {max(self.oversized.values()) // GIB}")
        self.tar.close()


def rfc3339_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_history(working: Path, before: datetime.datetime | None = None) -> set[str]:
    """Blobs of the latest `.history-<RFC3339>` file (the latest before *before*, i.e. `--since`)."""
    latest: tuple[datetime.datetime, Path] | None = None
    for path in (working / ".history").glob(".history-*"):
        try:
            when = datetime.datetime.strptime(path.name[len(".history-") :], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
        if (before is None or when < before) and (latest is None or when > latest[0]):
            latest = (when, path)
    if latest is None:
        return set()
    return {line.strip() for line in latest[1].read_text(encoding="utf-8").splitlines() if line.strip()}


def append_history(working: Path, history: set[str], added: set[str]) -> None:
    """A new history file: what the latest one held plus the blobs this archive added."""
    folder = working / ".history"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f".history-{rfc3339_now()}").write_text("".join(f"{b}\n" for b in sorted(history | added)), encoding="utf-8")


def build_archive(
    writer: ArchiveWriter,
    root: Path,
    image_digests: list[str],
    history: set[str],
    stop_registry: Callable[[], None],
    working: Path,
    isc: Path,
) -> set[str]:
    """Write the archive set (see the module docstring); returns the blobs it added."""
    writer.add_tree(root / REPOSITORIES, root)
    added: set[str] = set()
    for digest in image_digests:
        for blob in sorted(set(image_blobs(root, digest))):
            if blob in history or blob in added:
                continue
            path = blob_path(root, blob)
            writer.add(path, path.relative_to(root).as_posix())
            added.add(blob)
    stop_registry()
    writer.add_tree(working, working.parent)
    writer.add(isc, f"isc_{rfc3339_now()}")
    return added


# -- disk to mirror: unpacking ----------------------------------------------------------------------------


def archive_chunks(folder: Path) -> list[Path]:
    """The chunks oc-mirror reads: names matching `mirror_[0-9]{6}.tar`, in directory order."""
    return [p for p in sorted(folder.iterdir()) if p.is_file() and _is_chunk(p.name)]


def _is_chunk(name: str) -> bool:
    return name.startswith("mirror_") and name[7:13].isdigit() and len(name) >= 17 and name[13:17] == ".tar"


def _safe_target(parent: Path, name: str) -> Path:
    target = (parent / name).resolve()
    if not str(target).startswith(str(parent.resolve()) + os.sep):
        raise CacheError(f"content filepath is tainted: {parent / name}")
    return target


def unarchive(chunks: list[Path], working: Path, root: Path) -> None:
    """Regular files only: `working-dir` members under working-dir's parent, `docker/registry/v2`
    members into the cache; anything else (the ISC copy) is left in the archive."""
    for chunk in chunks:
        if chunk.stat().st_size == 0:
            raise CacheError(f'empty archive file "{chunk}"')
        with tarfile.open(chunk, "r:") as tar:
            for member in tar:
                if not member.isreg():
                    continue
                if WORKING_DIR in member.name:
                    parent = working.parent
                elif REGISTRY_ROOT in member.name:
                    parent = root
                else:
                    continue
                target = _safe_target(parent, member.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    continue
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                os.chmod(target, (member.mode & 0o777) | 0o600)
