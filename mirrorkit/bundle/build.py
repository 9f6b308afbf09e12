"""Seal a bundle directory: scan it, hash it (reusing cached hashes), write the SBOM and the manifest, sign, split.

This is ``pack``'s last step, kept here so ``pack`` stays a thin composition: whatever produced the
payload (oc-mirror archives, npm tarballs), :func:`seal_bundle` turns the directory into a bundle
that :func:`mirrorkit.bundle.verify.verify_bundle` accepts.
"""

from __future__ import annotations

import calendar
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from mirrorkit import __version__
from mirrorkit.bundle import layout
from mirrorkit.bundle.hashcache import HashCache, default_cache_file
from mirrorkit.bundle.hashing import FileHash, HashFailure, hash_files
from mirrorkit.bundle.manifest import BaseRef, FileEntry, ImageEntry, Manifest, NpmPackage, utc_now
from mirrorkit.bundle.parts import write_parts
from mirrorkit.bundle.safepath import check_regular, check_relpath
from mirrorkit.bundle.sbom import add_sbom
from mirrorkit.bundle.signing import write_signature
from mirrorkit.diskspace import existing_parent
from mirrorkit.errors import BundleError
from mirrorkit.fsutil import atomic_write_bytes
from mirrorkit.sizes import human


def check_free_space(path: Path, needed_bytes: int, *, what: str = "the bundle") -> None:
    """Refuse early, with numbers, when the filesystem holding *path* has less than *needed_bytes* free."""
    free = shutil.disk_usage(existing_parent(path)).free
    if free < needed_bytes:
        raise BundleError(
            f"not enough free space for {what} in {path}",
            f"needs about {human(needed_bytes)}, {human(free)} free",
            "free some space, choose another --output, or use --split-size and carry the parts",
        )


def scan(bundle_dir: Path, exclude: Iterable[str] = (layout.MANIFEST, layout.SIGNATURE, layout.PARTS_DIR)) -> dict[str, int]:
    """Every regular file under *bundle_dir* as {relative POSIX path: size}, minus *exclude*
    (top-level names). Symlinks, devices, FIFOs and sockets are refused, never followed."""
    root = Path(bundle_dir)
    skip = set(exclude)
    found: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        for d in list(dirnames):
            name = prefix + d
            if not prefix and d in skip:
                dirnames.remove(d)
                continue
            if os.path.islink(os.path.join(dirpath, d)):
                check_regular(Path(dirpath) / d, name)  # raises: a link to a directory
        for f in filenames:
            name = prefix + f
            if not prefix and f in skip:
                continue
            check_relpath(name)
            st = check_regular(Path(dirpath) / f, name)
            found[name] = st.st_size
    return dict(sorted(found.items()))


def hash_payload(
    bundle_dir: Path,
    sizes: dict[str, int],
    *,
    cache: HashCache | None = None,
    jobs: int | None = None,
    progress: bool = True,
) -> dict[str, FileHash]:
    """sha256 of every payload file, reusing *cache* entries whose stat still matches."""
    root = Path(bundle_dir)
    done: dict[str, FileHash] = {}
    todo: list[str] = []
    for name in sizes:
        hit = cache.lookup(name, os.lstat(root / name)) if cache is not None else None
        if hit is not None:
            done[name] = hit
        else:
            todo.append(name)
    for name, result in hash_files(root, todo, sizes=sizes, jobs=jobs, progress=progress).items():
        if isinstance(result, HashFailure):
            raise BundleError(f"cannot hash {name}", result.error)
        done[name] = result
    return {name: done[name] for name in sizes}


def write_manifest(bundle_dir: Path, manifest: Manifest) -> bytes:
    """Write manifest.json atomically; returns the exact bytes written (what a signature covers)."""
    data = manifest.to_bytes()
    atomic_write_bytes(Path(bundle_dir) / layout.MANIFEST, data)
    return data


def seal_bundle(
    bundle_dir: Path,
    *,
    profile: str = "",
    imageset_config: str = "",
    oc_mirror_version: str = "",
    npm: Iterable[NpmPackage] = (),
    images: Iterable[ImageEntry] = (),
    created: str | None = None,
    sign_key: Path | None = None,
    passphrase: bytes | None = None,
    split_size: int | None = None,
    cache_file: Path | bool | None = None,
    jobs: int | None = None,
    progress: bool = True,
    base: BaseRef | None = None,
) -> Manifest:
    """Scan + hash the payload, write manifest.json, sign it (``manifest.json.sig``) and split it.

    * A stale signature or stale parts from an earlier run are removed before anything new is
      written, so the bundle never pairs a new manifest with an old signature or old parts.
    * *cache_file*: None = the user cache dir (resume-friendly), False = no cache, or a path.
    """
    root = Path(bundle_dir)
    if not root.is_dir():
        raise BundleError(f"bundle directory {root} does not exist")
    for stale in (root / layout.SIGNATURE,):
        if stale.exists() or stale.is_symlink():
            stale.unlink()
    if (root / layout.PARTS_DIR).is_dir() and not split_size:
        shutil.rmtree(root / layout.PARTS_DIR)
    for leftover in root.glob(".parts.*"):  # parts of a run killed mid-write (see parts.write_parts)
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)
    cache: HashCache | None = None
    if cache_file is not False:
        cache = HashCache.load(default_cache_file(root) if cache_file in (None, True) else Path(cache_file))  # type: ignore[arg-type]
    sizes = scan(root, exclude=(layout.MANIFEST, layout.SIGNATURE, layout.PARTS_DIR, layout.SBOM))  # SBOM: rewritten below
    hashes = hash_payload(root, sizes, cache=cache, jobs=jobs, progress=progress)
    if cache is not None:
        cache.update(hashes)
        cache.save()
    manifest = Manifest(
        created=created or utc_now(),
        mirrorkit_version=__version__,
        oc_mirror_version=oc_mirror_version,
        profile=profile,
        imageset_config=imageset_config,
        files=tuple(FileEntry(h.path, h.size, h.sha256) for h in hashes.values()),
        npm=tuple(npm),
        images=tuple(images),
        base=base,
    )
    # The SBOM describes the payload without itself, then joins the listed files (see bundle.sbom).
    manifest = add_sbom(root, manifest)
    # Validate what we are about to sign exactly as a verifier will read it.
    data = manifest.to_bytes()
    Manifest.from_bytes(data)
    write_manifest(root, manifest)
    if sign_key is not None:
        write_signature(root / layout.SIGNATURE, data, sign_key, passphrase)
    if split_size:
        members = [(layout.MANIFEST, len(data))]
        if sign_key is not None:
            members.append((layout.SIGNATURE, (root / layout.SIGNATURE).stat().st_size))
        members += [(f.path, f.size) for f in manifest.files]
        mtime = calendar.timegm(time.strptime(manifest.created, "%Y-%m-%dT%H:%M:%SZ"))
        write_parts(root, members, split_size, manifest_sha256=manifest.sha256(), mtime=mtime, progress=progress)
    return manifest


__all__ = ["check_free_space", "hash_payload", "scan", "seal_bundle", "write_manifest"]
