"""Verify a bundle, directory tree or parts, and say exactly what differs.

Everything is a :class:`~mirrorkit.report.CheckItem`: nothing is raised for a bundle that does not
verify, so one run reports *every* problem (a damaged archive, an extra file, a bad part) instead of
stopping at the first. Only a bundle directory that does not exist or an unusable key is an error.

Order of trust: the signature is checked over the raw manifest bytes before they are parsed; the
parsed manifest then pins every payload file; the parts index is only a locator for damage.
Without a verify key the report carries a *warning* saying the bundle is unauthenticated, never a
passed signature item.

Target checks plug in as callables ``checker(manifest) -> Iterable[CheckItem]`` (images present in a
registry by digest, npm packages served with the recorded integrity).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mirrorkit.bundle import layout
from mirrorkit.bundle.archives import archive_consistency_items
from mirrorkit.bundle.carried import from_manifest
from mirrorkit.bundle.consistency import npm_consistency_items
from mirrorkit.bundle.hashing import FileHash, hash_files
from mirrorkit.bundle.limits import MAX_MANIFEST_BYTES, clip, read_capped
from mirrorkit.bundle.manifest import Manifest
from mirrorkit.bundle.parts import PartsIndex, load_index, scan_parts
from mirrorkit.bundle.safepath import check_relpath
from mirrorkit.bundle.sbom import check_sbom
from mirrorkit.bundle.signing import fingerprint, load_public_key, verify_signature
from mirrorkit.delta import release_view
from mirrorkit.errors import BundleError, InputError, MirrorkitError
from mirrorkit.report.model import BundleIdentity, CheckItem, Report, Status
from mirrorkit.report.provenance import Provenance

Checker = Callable[[Manifest], Iterable[CheckItem]]

_P, _F, _W = Status.PASSED, Status.FAILED, Status.WARNING


def _desc(size: int | None, sha256: str | None) -> str:
    return f"size {size}, sha256 {sha256}"


def _walk(root: Path) -> tuple[dict[str, int], dict[str, str]]:
    """All regular files under *root* ({name: size}) and everything that is not one ({name: kind}).
    Links are reported, never followed."""
    regular: dict[str, int] = {}
    unsafe: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                unsafe[prefix + d] = "a symbolic link"
                dirnames.remove(d)
        for f in filenames:
            st = os.lstat(os.path.join(dirpath, f))
            if stat.S_ISREG(st.st_mode):
                regular[prefix + f] = st.st_size
            else:
                unsafe[prefix + f] = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "a device, FIFO or socket"
    return regular, unsafe


def _signature_items(root: Path, data: bytes, key: Ed25519PublicKey | None) -> tuple[list[CheckItem], str | None]:
    sig_path = root / layout.SIGNATURE
    has_sig = sig_path.is_file() and not sig_path.is_symlink()
    if key is None:
        detail = (
            "a signature file is present but was not checked" if has_sig else "the bundle is not signed"
        ) + "; give --verify-key PUB to authenticate it"
        return [
            CheckItem(
                "signature",
                layout.MANIFEST,
                "signature checked with a verify key",
                "UNAUTHENTICATED: no verify key given",
                _W,
                detail,
            )
        ], None
    fp = fingerprint(key)
    expected = f"valid Ed25519 signature by {fp}"
    if not has_sig:
        return [
            CheckItem(
                "signature",
                layout.SIGNATURE,
                expected,
                "missing",
                _F,
                "the bundle carries no signature; it cannot be authenticated",
            )
        ], None
    try:
        ok = verify_signature(data, sig_path.read_bytes(), key)
    except BundleError as exc:
        return [CheckItem("signature", layout.SIGNATURE, expected, "unreadable signature", _F, str(exc))], None
    if ok:
        return [CheckItem("signature", layout.MANIFEST, expected, f"valid signature by {fp}", _P)], fp
    return [
        CheckItem(
            "signature",
            layout.MANIFEST,
            expected,
            "signature does not match",
            _F,
            "manifest.json was changed after signing, or it was signed with another key",
        )
    ], None


def _compare(category: str, name: str, want_size: int, want_sha: str, got: FileHash | None, error: str = "") -> CheckItem:
    expected = _desc(want_size, want_sha)
    if error:
        return CheckItem(category, name, expected, "unreadable", _F, error)
    assert got is not None
    actual = _desc(got.size, got.sha256)
    if got.size != want_size:
        return CheckItem(category, name, expected, actual, _F, "size differs: the file is truncated or was replaced")
    if got.sha256 != want_sha:
        return CheckItem(category, name, expected, actual, _F, "content differs: the file is damaged or was modified")
    return CheckItem(category, name, expected, actual, _P)


def _tree_items(
    root: Path,
    manifest: Manifest,
    regular: dict[str, int],
    unsafe: dict[str, str],
    allowed_extra: set[str],
    jobs: int | None,
    progress: bool,
) -> list[CheckItem]:
    items: list[CheckItem] = []
    listed = {f.path: f for f in manifest.files}
    for name, kind in sorted(unsafe.items()):
        items.append(
            CheckItem(
                "file",
                name,
                "regular file" if name in listed else "nothing",
                kind,
                _F,
                "bundles only contain regular files; links and devices are refused",
            )
        )
    to_hash = [n for n in listed if n in regular]
    results = hash_files(root, to_hash, sizes=regular, jobs=jobs, progress=progress, desc="verifying")
    for name, entry in listed.items():
        if name in unsafe:
            continue
        if name not in regular:
            items.append(
                CheckItem(
                    "file", name, _desc(entry.size, entry.sha256), "missing", _F, "listed in the manifest but not in the bundle"
                )
            )
            continue
        got = results[name]
        if isinstance(got, FileHash):
            items.append(_compare("file", name, entry.size, entry.sha256, got))
        else:
            items.append(_compare("file", name, entry.size, entry.sha256, None, got.error))
    for name in sorted(set(regular) - set(listed) - allowed_extra):
        items.append(
            CheckItem(
                "file",
                name,
                "not present (not in the manifest)",
                f"present, size {regular[name]}",
                _F,
                "unlisted file: it was added after the bundle was sealed",
            )
        )
    return items


def _parts_items(root: Path, manifest: Manifest, data: bytes, index: PartsIndex, progress: bool) -> list[CheckItem]:
    items: list[CheckItem] = []
    manifest_sha = hashlib.sha256(data).hexdigest()
    if index.manifest_sha256 != manifest_sha:
        items.append(
            CheckItem(
                "parts",
                layout.PARTS_INDEX,
                f"parts cut from manifest sha256 {manifest_sha}",
                f"parts cut from manifest sha256 {index.manifest_sha256}",
                _F,
                "the parts belong to another packing run; copy the matching parts",
            )
        )
    scan = scan_parts(root, index, progress=progress)
    for part in scan.parts:
        if part.error:
            items.append(
                CheckItem(
                    "part",
                    f"{layout.PARTS_DIR}/{part.name}",
                    _desc(part.expected_size, part.expected_sha256),
                    "missing or unreadable",
                    _F,
                    part.error,
                )
            )
        else:
            detail = (
                ""
                if part.ok
                else ("part is truncated or too long" if part.size != part.expected_size else "part content is damaged")
            )
            items.append(
                CheckItem(
                    "part",
                    f"{layout.PARTS_DIR}/{part.name}",
                    _desc(part.expected_size, part.expected_sha256),
                    _desc(part.size, part.sha256),
                    _P if part.ok else _F,
                    detail,
                )
            )
    stream_ok = scan.stream_size == index.stream_size and scan.stream_sha256 == index.stream_sha256
    items.append(
        CheckItem(
            "parts",
            "reassembled stream",
            _desc(index.stream_size, index.stream_sha256),
            _desc(scan.stream_size, scan.stream_sha256),
            _P if stream_ok else _F,
            "" if stream_ok else "the concatenated parts differ from what was written",
        )
    )
    for error in scan.errors:
        items.append(
            CheckItem("parts", "reassembly", "a complete tar stream of regular files with safe names", "refused", _F, error)
        )
    expected: dict[str, tuple[int, str]] = {layout.MANIFEST: (len(data), manifest_sha)}
    sig = root / layout.SIGNATURE
    if sig.is_file() and not sig.is_symlink():
        raw = sig.read_bytes()
        expected[layout.SIGNATURE] = (len(raw), hashlib.sha256(raw).hexdigest())
    for f in manifest.files:
        expected[f.path] = (f.size, f.sha256)
    members = {m.name: m for m in scan.members}
    for name, (size, sha) in expected.items():
        m = members.get(name)
        if m is None:
            if name == layout.SIGNATURE:
                continue  # signed after splitting is impossible; an unsigned tar with an outer sig is caught by the signature check
            items.append(
                CheckItem(
                    "part-file",
                    name,
                    _desc(size, sha),
                    "missing from the parts",
                    _F,
                    "listed in the manifest but not in the reassembled parts",
                )
            )
            continue
        items.append(_compare("part-file", name, size, sha, FileHash(name, m.size, m.sha256)))
    for name in sorted(set(members) - set(expected)):
        items.append(
            CheckItem(
                "part-file",
                name,
                "not present (not in the manifest)",
                _desc(members[name].size, members[name].sha256),
                _F,
                "unlisted file inside the parts",
            )
        )
    return items


def verify_bundle(
    bundle_dir: Path,
    *,
    verify_key: Path | Ed25519PublicKey | None = None,
    image_checker: Checker | None = None,
    npm_checker: Checker | None = None,
    jobs: int | None = None,
    progress: bool = True,
    title: str = "mirrorkit bundle verification",
) -> Report:
    """Check everything that can be checked about *bundle_dir* and return one report."""
    root = Path(bundle_dir)
    if not root.is_dir():
        raise InputError(f"bundle directory {root} does not exist", hint="give the directory written by 'mirrorkit pack'")
    key = load_public_key(verify_key) if isinstance(verify_key, (str, Path)) else verify_key
    items: list[CheckItem] = []
    identity = BundleIdentity(path=str(root))

    manifest_path = root / layout.MANIFEST
    if manifest_path.is_symlink() or not manifest_path.is_file():
        items.append(
            CheckItem(
                "manifest",
                layout.MANIFEST,
                "present (regular file)",
                "missing or not a regular file",
                _F,
                "this is not a mirrorkit bundle, or the copy is incomplete",
            )
        )
        return Report(title, identity, None, tuple(items))
    try:  # refused by its size before a byte is parsed (see mirrorkit.bundle.limits)
        data = read_capped(manifest_path, MAX_MANIFEST_BYTES, layout.MANIFEST)
    except BundleError as exc:
        items.append(CheckItem("manifest", layout.MANIFEST, "a valid mirrorkit manifest", "refused", _F, str(exc)))
        return Report(title, identity, None, tuple(items))
    manifest_sha = hashlib.sha256(data).hexdigest()
    identity = BundleIdentity(manifest_sha256=manifest_sha, path=str(root))

    sig_items, signer = _signature_items(root, data, key)
    items += sig_items
    if key is not None and signer is None:
        # A key was given and the signature does not hold: the manifest is hostile until proven
        # otherwise, so it is not parsed at all (and nothing it names is read).
        return Report(title, identity, None, tuple(items))
    try:
        manifest = Manifest.from_bytes(data)
    except BundleError as exc:
        items.append(CheckItem("manifest", layout.MANIFEST, "a valid mirrorkit manifest", "refused", _F, str(exc)))
        return Report(title, identity, signer, tuple(items))
    identity = BundleIdentity(
        manifest_sha256=manifest_sha, profile=clip(manifest.profile), created=manifest.created, path=str(root)
    )
    items.append(
        CheckItem(
            "manifest",
            layout.MANIFEST,
            "a valid mirrorkit manifest",
            f"format {manifest.format_version}, {len(manifest.files)} files, {len(manifest.npm)} npm packages, "
            f"{len(manifest.images)} images",
            _P,
        )
    )

    regular, unsafe = _walk(root)
    regular.pop(layout.MANIFEST, None)
    sig = regular.pop(layout.SIGNATURE, None)
    del sig
    index: PartsIndex | None = None
    has_parts = (root / layout.PARTS_DIR).exists() or (root / layout.PARTS_DIR).is_symlink()
    allowed: set[str] = set()
    if has_parts:
        try:
            index = load_index(root)
            allowed = {layout.PARTS_INDEX} | {f"{layout.PARTS_DIR}/{p.name}" for p in index.parts}
        except BundleError as exc:
            items.append(CheckItem("parts", layout.PARTS_INDEX, "a valid parts index", "refused", _F, str(exc)))
            allowed = {layout.PARTS_INDEX}
    payload_present = any(f.path in regular or f.path in unsafe for f in manifest.files)
    in_parts_dir = {n for n in list(regular) + list(unsafe) if n.split("/", 1)[0] == layout.PARTS_DIR}

    if payload_present or index is None:
        items += _tree_items(
            root,
            manifest,
            {k: v for k, v in regular.items() if k not in in_parts_dir},
            {k: v for k, v in unsafe.items() if k not in in_parts_dir},
            set(),
            jobs,
            progress,
        )
        items += npm_consistency_items(root, manifest, set(regular))
        items += archive_consistency_items(root, manifest, set(regular))  # charts and images vs the oc-mirror archives
        items += check_sbom(root, manifest)  # parts only: checked once reassembled
    if index is not None:
        items += _parts_items(root, manifest, data, index, progress)
    for name in sorted(in_parts_dir - allowed):
        kind = unsafe.get(name)
        items.append(
            CheckItem(
                "part",
                name,
                "not present (not in the parts index)",
                kind or f"present, size {regular.get(name)}",
                _F,
                "unlisted file in parts/",
            )
        )

    items += target_items(manifest, image_checker=image_checker, npm_checker=npm_checker)
    items = _link_causes(_merge_part_files(items), manifest)
    return Report(
        title,
        identity,
        signer,
        tuple(items),
        provenance=Provenance.here(
            oc_mirror_version=manifest.oc_mirror_version,
            targets=tuple(dict.fromkeys(i.subject for i in items if i.category == "target")),
        ),
        carried=from_manifest(manifest),
    )


def _merge_part_files(items: list[CheckItem]) -> list[CheckItem]:
    """One row per file when a bundle holds both the tree and its parts: a ``part-file`` check that
    agrees with the ``file`` check of the same path is folded into it (said in its detail); one that
    disagrees stays, it is a different problem."""
    tree = {i.subject: i for i in items if i.category == "file"}
    folded = {
        i.subject
        for i in items
        if i.category == "part-file"
        and i.subject in tree
        and (tree[i.subject].status, tree[i.subject].actual) == (i.status, i.actual)
    }
    out = []
    for item in items:
        if item.category == "part-file" and item.subject in folded:
            continue
        if item.category == "file" and item.subject in folded:
            item = dataclasses.replace(item, detail="; ".join(filter(None, (item.detail, "the same in the parts"))))
        out.append(item)
    return out


#: Files whose every check follows from them: a changed SBOM fails its own checks, a changed npm index
#: its entries' (and a changed oc-mirror archive under images/ the chart and archive cross-checks).
_FILE_CHECKS = {"sbom.cdx.json": "sbom", "npm/index.json": "npm-index"}


def _link_causes(items: list[CheckItem], manifest: Manifest) -> list[CheckItem]:
    """Mark the failures that follow from a changed, missing or unreadable file (its npm index entry,
    its SBOM hashes, its archive's contents) as consequences of that file's failure, so the report
    shows one root cause with its consequences listed under it."""
    roots = [i for i in items if i.failed and i.category in ("file", "part-file")]
    if not roots:
        return items
    npm_names = {p.file: f"{p.name}@{p.version}" for p in manifest.npm}

    def cause_of(item: CheckItem) -> str:
        text = " ".join((item.subject, item.expected, item.actual, item.detail))
        for root in roots:
            if _FILE_CHECKS.get(root.subject) == item.category or (
                root.subject.startswith("images/") and item.category in ("chart", "archive")
            ):
                return root.key
            names = [root.subject, npm_names.get(root.subject, root.subject)]
            if any(name in text for name in names):
                return root.key
        return ""

    return [
        dataclasses.replace(item, cause=cause_of(item))
        if item.failed and not item.cause and item.category not in ("file", "part-file", "part", "parts", "signature")
        else item
        for item in items
    ]


def target_items(
    manifest: Manifest, *, image_checker: Checker | None = None, npm_checker: Checker | None = None
) -> list[CheckItem]:
    """Run the target checkers; a checker that cannot complete becomes one failed item, not an error."""
    items: list[CheckItem] = []
    for category, checker in (("image", image_checker), ("npm", npm_checker)):
        if checker is None:
            continue
        try:
            items += list(checker(release_view(manifest)))  # a delta: the whole release it stands for
        except MirrorkitError as exc:
            items.append(CheckItem(category, "target check", "the check completes", "error", _F, str(exc)))
    return items


def reassemble(
    bundle_dir: Path,
    out_dir: Path,
    *,
    verify_key: Path | Ed25519PublicKey | None = None,
    progress: bool = True,
    manifest_sha256: str | None = None,
) -> Report:
    """Rebuild the bundle tree from its parts into *out_dir* (which must not exist), then verify the
    result as a tree. On any failure *out_dir* is removed and :class:`BundleError` names the problem.

    *manifest_sha256*: the sha256 of the manifest the caller already verified (push). The rebuilt
    tree must carry exactly that manifest: parts swapped after verification for those of another
    signed bundle reassemble and verify on their own, against their own manifest."""
    import shutil

    root, out = Path(bundle_dir), Path(out_dir)
    if out.exists():
        raise InputError(f"{out} already exists", hint="give a new directory to reassemble into")
    index = load_index(root)
    out.mkdir(parents=True)
    try:
        scan = scan_parts(root, index, extract_to=out, progress=progress)
        bad = [p for p in scan.parts if not p.ok]
        if scan.errors or bad:
            why = scan.errors[0] if scan.errors else f"part {bad[0].name} does not match the parts index"
            raise BundleError(f"cannot reassemble {root}", why, "get a fresh copy of the damaged part(s)")
        if manifest_sha256 is not None:
            _same_manifest(out, manifest_sha256)
        report = verify_bundle(out, verify_key=verify_key, progress=progress, title="mirrorkit reassembled bundle")
        if not report.ok:
            first = report.failures()[0]
            raise BundleError(
                f"reassembled bundle does not verify: {first.subject}",
                f"expected {first.expected}, actual {first.actual}",
                "get a fresh copy of the bundle",
            )
        return report
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise


def _same_manifest(tree: Path, manifest_sha256: str) -> None:
    """Refuse a reassembled tree whose manifest is not, byte for byte, the one verified."""
    data = read_capped(tree / layout.MANIFEST, MAX_MANIFEST_BYTES, layout.MANIFEST)
    got = hashlib.sha256(data).hexdigest()
    if got != manifest_sha256:
        raise BundleError(
            f"the parts now hold another manifest than the one verified (sha256 {got}, verified {manifest_sha256})",
            "the parts were replaced after the bundle was verified (another bundle's, perhaps an older one)",
            "nothing was loaded from them; make sure nothing writes to the bundle, copy it again from the connected "
            "host and push again",
        )


__all__ = ["Checker", "check_relpath", "reassemble", "target_items", "verify_bundle"]
