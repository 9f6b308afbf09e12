"""Read an operator catalog image's File-Based Catalog straight from its registry, one pass, flat memory.

What `oc-mirror` does (copy the catalog to disk, untar every layer, load the whole FBC) costs the
catalog's full size on disk and in memory. Here the layers stream through the decompressor and a tar
reader once (`catalog.stream.InflatedLayer`, `oci.tarwalk`), bottom to top, each verified against
its digest before its content counts: FBC files of packages
that were not asked for are skipped without being decoded (opm's layout puts each package in
`<configs>/<package>/`), and objects of selected packages are reduced to the few fields mirroring
needs as they are decoded. Nothing is written to disk.

Layer order and OCI whiteouts are applied as a container runtime would (`.wh.NAME`, `.wh..wh..opq`,
a non-file entry hiding a lower file), so a package deleted by an upper layer is gone, and a
rebuilt catalog that whites out `/configs` and adds a new one reads as the new one.
"""

from __future__ import annotations

import functools
import io
import logging
import posixpath
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from mirrorkit.catalog.fbc import (
    BundleDef,
    ChannelDef,
    Deprecation,
    DeprecationsDef,
    FbcObject,
    PackageDef,
    malformed,
    package_of,
    reduce_object,
)
from mirrorkit.catalog.stream import InflatedLayer, is_fbc_file, iter_objects
from mirrorkit.errors import InputError, MirrorkitError, RegistryError
from mirrorkit.limits import FBC_OBJECT_BYTES, InflateBudget
from mirrorkit.oci.layers import OPAQUE, WHITEOUT, normalise_member
from mirrorkit.oci.manifest import Manifest
from mirrorkit.oci.platform import Platform
from mirrorkit.oci.reference import ImageReference
from mirrorkit.oci.tarwalk import TarWalker

log = logging.getLogger(__name__)

CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"


@dataclass(frozen=True)
class PackageFbc:
    """One package of a catalog: its `olm.package`, channels and bundles (reduced)."""

    name: str
    default_channel: str | None
    channels: tuple[ChannelDef, ...]
    bundles: tuple[BundleDef, ...]
    deprecations: tuple[Deprecation, ...] = ()

    def bundle(self, name: str) -> BundleDef | None:
        return self._by_name.get(name)

    @functools.cached_property
    def _by_name(self) -> dict[str, BundleDef]:
        """The bundles by name, built once: selection looks up every bundle it keeps (the reader
        refuses duplicate names; were there any, the first would win, as a scan finds it)."""
        return {b.name: b for b in reversed(self.bundles)}


@dataclass(frozen=True)
class Catalog:
    """What was read: the image (`ref` as given, `digest` the tag's digest), its FBC folder, the
    names of every package directory (parsed or not) and the parsed packages."""

    ref: str
    digest: str
    configs_dir: str
    package_names: tuple[str, ...]
    packages: dict[str, PackageFbc] = field(repr=False)
    layers_read: int = 0
    skipped_files: int = 0


def read_catalog(
    client: Any,
    ref: str,
    packages: Iterable[str] | None = None,
    *,
    platform: Platform | str | None = None,
) -> Catalog:
    """Read catalog image *ref*; only the FBC of *packages* is decoded (None: every package)."""
    if ref.startswith("oci:"):
        raise InputError(
            f"catalog {ref} is an oci:// directory",
            "mirrorkit plan reads catalogs from registries",
            "push the catalog to a registry, or plan with a docker:// catalog",
        )
    image = ImageReference.parse(ref)
    try:
        manifest = client.get_manifest(image, platform=platform)
        labels = client.config_labels(manifest)
    except MirrorkitError as exc:
        raise type(exc)(f"cannot read operator catalog {ref}: {exc.what}", exc.why, exc.hint) from None
    label = labels.get(CONFIGS_LABEL, "").strip()
    root = normalise_member(label.lstrip("/")) if label else None
    if not root:
        raise InputError(
            f"{ref} is not a File-Based Catalog image",
            f"its config has no {CONFIGS_LABEL} label" if not label else f"its {CONFIGS_LABEL} label {label!r} is not a folder",
            "pass an operator catalog (index) image such as registry.redhat.io/redhat/redhat-operator-index:v4.19",
        )
    wanted = None if packages is None else frozenset(packages)
    state = _Overlay(root, wanted)
    for index, layer in enumerate(manifest.layers):
        state.apply_layer(client, manifest, index, layer)
    found = state.packages()
    if wanted is not None and (state.needs_full or (wanted - set(found) and state.unparsed_dirs() and state.misnamed)):
        # folders here are not named after their packages (opm does not require it), or a wanted file
        # is a hard link to a file that was skipped: read everything once
        log.debug("packages %s not in folders of their name; reading every package of %s", sorted(wanted - set(found)), ref)
        state = _Overlay(root, None, keep=wanted, link_targets=frozenset(state.missing_targets))
        for index, layer in enumerate(manifest.layers):
            state.apply_layer(client, manifest, index, layer)
        found = state.packages()
    names = sorted(set(state.dir_names()) | set(found))
    return Catalog(
        ref=ref,
        digest=manifest.top_digest,
        configs_dir=root,
        package_names=tuple(names),
        packages=found,
        layers_read=len(manifest.layers),
        skipped_files=state.skipped,
    )


def _under(path: str, directory: str) -> bool:
    return directory == "" or path == directory or path.startswith(directory + "/")


class _Overlay:
    """The merged view of the FBC folder across layers: every file path, parsed objects of wanted files."""

    def __init__(
        self,
        root: str,
        wanted: frozenset[str] | None,
        keep: frozenset[str] | None = None,
        link_targets: frozenset[str] | None = None,
    ) -> None:
        self.root = root
        self.wanted = wanted  # package folders to decode (None: all)
        self.keep = keep if keep is not None else wanted  # packages whose objects are kept (None: all)
        self.paths: set[str] = set()
        self.parsed: dict[str, list[FbcObject]] = {}
        self.skipped = 0
        self.misnamed = False  # a decoded folder held objects of another package
        self.needs_full = False  # a wanted file is a hard link to a file that was not decoded
        self.missing_targets: set[str] = set()  # those files: the full read keeps their bytes
        self.link_targets = link_targets  # None: the first read (a missing target asks for another)
        self.raw: dict[str, bytes] = {}  # bytes of link targets outside what is decoded

    def _folder(self, path: str) -> str | None:
        rel = path[len(self.root) + 1 :]
        return rel.split("/", 1)[0] if "/" in rel else None

    def apply_layer(self, client: Any, manifest: Manifest, index: int, layer: Any) -> None:
        what = f"layer {index + 1} ({layer.digest}) of catalog {manifest.ref}"
        if layer.size == 0:
            return
        added_paths: set[str] = set()
        added: dict[str, list[FbcObject]] = {}
        hidden: set[str] = set()
        opaque: set[str] = set()
        # a worker thread fetches, hashes and inflates the blob; this one walks the tar (skipping
        # other packages' files costs no copying) and decodes the wanted files
        budget = InflateBudget(what, layer.size)  # a compression bomb is refused at its ratio
        with InflatedLayer(client.open_blob(manifest.name, layer), layer.media_type, what, budget=budget) as inflated:
            try:
                tar = TarWalker(inflated.pieces)
                for member in tar:
                    path = normalise_member(member.name)
                    if path is None:
                        continue
                    directory, base = posixpath.split(path)
                    if base == OPAQUE:
                        opaque.add(directory)
                        continue
                    if base.startswith(WHITEOUT):
                        hidden.add(posixpath.join(directory, base[len(WHITEOUT) :]))
                        continue
                    if member.isdir():
                        self.paths.discard(path)
                        self.parsed.pop(path, None)
                        continue
                    if member.islnk() and path.startswith(self.root + "/"):
                        self._hard_link(path, member.linkname, added_paths, added, what)
                        continue
                    if not member.isreg():
                        hidden.add(path)
                        added_paths.discard(path)
                        added.pop(path, None)
                        continue
                    if self.link_targets and path in self.link_targets:
                        self.raw[path] = _target_bytes(tar.open(member), path)
                    if not path.startswith(self.root + "/"):
                        continue
                    added_paths.add(path)
                    if not is_fbc_file(path):
                        continue
                    folder = self._folder(path)
                    if self._other_package(folder):
                        continue
                    data = self.raw.get(path)
                    added[path] = self._decode(tar.open(member) if data is None else io.BytesIO(data), path, folder)
                inflated.finish()  # the rest of the blob, so its digest is checked
            except (EOFError, zlib.error, OSError, ValueError) as exc:
                raise RegistryError(
                    f"{what} is not a valid tar archive",
                    str(exc) or type(exc).__name__,
                    "the catalog image is damaged; check the catalog reference",
                ) from None
            except Exception as exc:
                if type(exc).__name__ in ("ZstdError", "IsalError"):  # decoders' own error types
                    raise RegistryError(
                        f"{what} is not a valid compressed tar archive",
                        str(exc),
                        "the catalog image is damaged; check the catalog reference",
                    ) from None
                raise
        for directory in opaque:
            self._drop(lambda p, d=directory: _under(p, d) and p != d)
        for path in hidden:
            self._drop(lambda p, h=path: _under(p, h))
        self.paths |= added_paths
        self.parsed.update(added)

    def _other_package(self, folder: str | None) -> bool:
        """True (and counted in *skipped*) for a file in the folder of a package nobody asked for:
        it is not decoded at all."""
        if folder is not None and self.wanted is not None and folder not in self.wanted:
            self.skipped += 1
            return True
        return False

    def _hard_link(self, path: str, linkname: str, added_paths: set[str], added: dict[str, list[FbcObject]], what: str) -> None:
        """A hard link reads as its target, an earlier member of this layer or a file of the layers
        below (how a runtime unpacks it). A wanted link whose target was skipped asks for a full read."""
        added_paths.add(path)
        if not is_fbc_file(path):
            return
        folder = self._folder(path)
        if self._other_package(folder):
            return
        target = normalise_member(linkname) or ""
        if target in added:
            added[path] = list(added[target])
        elif target in self.parsed and target not in added_paths:
            added[path] = list(self.parsed[target])
        elif target in self.raw:
            added[path] = self._decode(io.BytesIO(self.raw[target]), path, folder)
        elif self.link_targets is None:
            self.needs_full = True  # skipped (another package's file, or not an FBC file): read again
            self.missing_targets.add(target)
        else:
            raise RegistryError(
                f"{path} in {what} is a hard link to {linkname!r}",
                "which is no file read before it",
                "the catalog image is damaged; rebuild it with opm",
            )

    def _decode(self, stream: Any, path: str, folder: str | None) -> list[FbcObject]:
        """The reduced objects of one FBC file that are kept."""
        objects = []
        for obj, where in iter_objects(stream, path):
            reduced = reduce_object(obj, where)
            if reduced is not None and folder is not None and package_of(reduced) != folder:
                self.misnamed = True
            if reduced is not None and (self.keep is None or package_of(reduced) in self.keep):
                objects.append(reduced)
        return objects

    def _drop(self, gone: Any) -> None:
        self.paths = {p for p in self.paths if not gone(p)}
        for path in [p for p in self.parsed if gone(p)]:
            del self.parsed[path]

    def dir_names(self) -> set[str]:
        return {f for f in (self._folder(p) for p in self.paths if is_fbc_file(p)) if f}

    def unparsed_dirs(self) -> set[str]:
        return {f for f in self.dir_names() if self.wanted is not None and f not in self.wanted}

    def packages(self) -> dict[str, PackageFbc]:
        defs: dict[str, PackageDef] = {}
        channels: dict[str, list[ChannelDef]] = {}
        bundles: dict[str, list[BundleDef]] = {}
        deprecations: dict[str, list[Deprecation]] = {}
        seen_bundles: dict[tuple[str, str], BundleDef] = {}
        for path in sorted(self.parsed):
            for obj in self.parsed[path]:
                if isinstance(obj, PackageDef):
                    if obj.name in defs:
                        raise _duplicate(obj.where, f'duplicate package "{obj.name}"', defs[obj.name].where)
                    defs[obj.name] = obj
                elif isinstance(obj, ChannelDef):
                    channels.setdefault(obj.package, []).append(obj)
                elif isinstance(obj, DeprecationsDef):
                    deprecations.setdefault(obj.package, []).extend(obj.entries)
                else:
                    key = (obj.package, obj.name)
                    if key in seen_bundles:
                        where = seen_bundles[key].where
                        raise _duplicate(obj.where, f'package "{obj.package}" has duplicate bundle "{obj.name}"', where)
                    seen_bundles[key] = obj
                    bundles.setdefault(obj.package, []).append(obj)
        return {
            name: PackageFbc(
                name,
                d.default_channel,
                tuple(channels.get(name, ())),
                tuple(bundles.get(name, ())),
                tuple(deprecations.get(name, ())),
            )
            for name, d in sorted(defs.items())
        }


def _target_bytes(member: Any, path: str) -> bytes:
    """A hard link target's bytes, kept for the link that follows (bounded like one FBC file)."""
    limit = FBC_OBJECT_BYTES.value()
    data = cast(bytes, member.read(limit + 1))
    if len(data) > limit:
        raise FBC_OBJECT_BYTES.refuse(f"the hard link target {path}", f"is larger than {limit:,} bytes")
    return data


def _duplicate(where: Any, what: str, first: Any) -> InputError:
    """opm validate refuses a catalog with a package or a bundle defined twice; so does mirrorkit,
    rather than pick one of them (which one oc-mirror would mirror is not defined)."""
    return malformed(where, f"{what} (first defined at {first}); opm validate refuses it the same way")


def catalog_from_files(ref: str, files: dict[str, bytes], configs_dir: str = "configs") -> Catalog:
    """A Catalog from FBC files already at hand ({path under *configs_dir*: bytes}), with no registry.

    The same decoding and assembly as an image's layers get: used to check selection on catalogs
    written as files (the conformance cases) and on `opm render` output."""
    overlay = _Overlay(configs_dir, None)
    for rel, data in sorted(files.items()):
        path = f"{configs_dir}/{rel}"
        overlay.paths.add(path)
        if is_fbc_file(path):
            overlay.parsed[path] = overlay._decode(io.BytesIO(data), path, overlay._folder(path))
    packages = overlay.packages()
    return Catalog(ref, "", configs_dir, tuple(sorted(overlay.dir_names() | set(packages))), packages)
