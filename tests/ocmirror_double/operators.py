"""Operator collection for the oc-mirror TEST DOUBLE: catalogs -> filtered FBC -> images to copy.

Per `mirror.operators[]` entry, as shared/reference/oc-mirror-v2.md "How oc-mirror mirrors
operators" says:
- mirror to disk / mirror to mirror: the catalog (docker:// only) is pinned to its digest, copied to
  `working-dir/operator-catalogs/<last path element>/<digest>/catalog-image/` (a skopeo `dir:` layout
  here, an OCI layout in oc-mirror), its FBC (the directory its label names, layers merged) saved in
  `.../catalog-config/`, filtered (fbc.py), the result saved as JSON in
  `.../filtered-catalogs/<filter hash>/catalog-config/<package>/catalog.json`;
- disk to mirror: no source registry; the digest comes from the cache (the catalog mirror to disk
  stored under its tag) and the filtered FBC from working-dir (so d2m must get the same entries).
- `full: true` without packages: nothing filtered, nothing rebuilt, the original image is mirrored.

The filter hash: 32 hex MD5 of `json.dumps(entry, sort_keys=True, separators=(",", ":"))` where entry
is the ISC operator entry with keys lower-cased (as the double decodes the ISC), `catalog` set to
`<registry>/<path>@<catalog digest>` and `targetcatalog`, `targettag`, `targetcatalogsourcetemplate`
removed. oc-mirror hashes its Go struct's JSON, so the value differs from oc-mirror's: never compute
it outside the double, read the directory name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cache as cache_storage
import fbc
import ociimage

OPERATOR_KEYS = {
    "catalog",
    "targetcatalog",
    "targettag",
    "targetcatalogsourcetemplate",
    "full",
    "packages",
    "skipdependencies",
    "platforms",
}
PACKAGE_KEYS = {"name", "defaultchannel", "minversion", "maxversion", "channels"}
CHANNEL_KEYS = {"name", "minversion", "maxversion"}


class CollectionError(Exception):
    """Stops the run before any copy: `collection error: ...`, exit bit 4."""


def split_ref(text: str) -> tuple[str, str, str | None, str | None]:
    """(registry, path, tag, digest) of a fully qualified reference (docker:// optional)."""
    rest = text[len("docker://") :] if text.startswith("docker://") else text
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    tag = None
    if rest.rfind(":") > rest.rfind("/"):
        rest, tag = rest.rsplit(":", 1)
    if "/" not in rest:
        raise ValueError(f"image reference {text!r} is not fully qualified")
    registry, path = rest.split("/", 1)
    return registry, path, tag, digest


@dataclass
class Needed:
    """One bundle or related image and who needs it (for the errors text and skipping bundles)."""

    image: str
    kind: str
    bundles: dict[str, str] = field(default_factory=dict)  # bundle image -> bundle name
    packages: set[str] = field(default_factory=set)


@dataclass
class Catalog:
    """One catalog entry after collection."""

    origin: str  # as oc-mirror logs it: docker://REF (pinned by digest in m2d/m2m)
    registry: str
    path: str
    tag: str | None  # original tag (pinning moves it to targetTag)
    digest: str
    target_repo: str  # targetCatalog, else the catalog's path
    target_tag: str | None  # the ISC targetTag
    full: bool
    filter_hash: str | None  # None for full catalogs (no rebuild)
    folder: Path  # working-dir/operator-catalogs/<name>/<digest>
    template: str | None = None
    rebuilt_digest: str | None = None

    @property
    def layout(self) -> Path:
        return self.folder / "catalog-image"

    @property
    def filtered_dir(self) -> Path | None:
        return self.folder / "filtered-catalogs" / self.filter_hash if self.filter_hash else None

    def cache_rebuilt(self, cache: Path) -> Path:
        """Where the double builds the filtered catalog (a `dir:` layout next to the registry storage,
        never archived); mirror to disk then copies it into the cache registry as `<target repo>:<hash>`."""
        return cache / "docker-dir" / self.target_repo / str(self.filter_hash)

    def dest_tag(self) -> str:
        """The tag at a registry destination: targetTag, else the original tag; a catalog given by
        digest gets `sha256-<digest of the rebuilt image>` (the filter hash before it is built)."""
        if self.target_tag or self.tag:
            return str(self.target_tag or self.tag)
        if self.filter_hash:
            digest_file = self.folder / "filtered-catalogs" / self.filter_hash / "digest"
            return "sha256-" + (digest_file.read_text().strip() if digest_file.is_file() else self.filter_hash)
        return self.digest.replace(":", "-")


Pull = Callable[[str, Path], None]  # copy docker REF into a dir: layout, raise CollectionError on failure
Inspect = Callable[[str], str]  # the digest of docker REF, raise CollectionError on failure


def check_entries(operators: list) -> None:
    """Unknown fields are refused the way the rest of the ISC is (raises ValueError with the field)."""
    for entry in operators:
        if not isinstance(entry, dict) or not entry.get("catalog"):
            raise ValueError("operators entry without catalog")
        for key in entry:
            if key not in OPERATOR_KEYS:
                raise ValueError(key)
        for package in entry.get("packages") or []:
            for key in package:
                if key not in PACKAGE_KEYS:
                    raise ValueError(key)
            for channel in package.get("channels") or []:
                for key in channel:
                    if key not in CHANNEL_KEYS:
                        raise ValueError(key)


def filter_hash(entry: dict, registry: str, path: str, digest: str) -> str:
    """See the module docstring: deterministic JSON of the entry, catalog by digest, targets cleared."""
    normalised = {k: v for k, v in entry.items() if k not in ("targetcatalog", "targettag", "targetcatalogsourcetemplate")}
    normalised["catalog"] = f"{registry}/{path}@{digest}"
    text = json.dumps(normalised, sort_keys=True, separators=(",", ":"))
    return hashlib.md5(text.encode()).hexdigest()[:32]


def is_full(entry: dict) -> bool:
    return bool(entry.get("full")) and not entry.get("packages")


def collect(
    operators: list[dict], working: Path, cache: Path, *, from_cache: bool, pull: Pull, inspect: Inspect
) -> tuple[list[Catalog], list[Needed]]:
    """Every catalog and every bundle/related image the entries select. *from_cache* (disk to
    mirror): nothing is pulled, the digest and the filtered FBC come from the cache and working-dir.
    Raises CollectionError with oc-mirror's wording (`collect catalog "X": ...`)."""
    catalogs: list[Catalog] = []
    needed: dict[str, Needed] = {}
    errors = []
    for entry in operators:
        try:
            catalog, objects = _collect_one(entry, working, cache, from_cache, pull, inspect)
        except (CollectionError, fbc.FBCError, ValueError, OSError) as exc:
            errors.append(f'collect catalog "{entry.get("catalog")}": {exc}')
            continue
        catalogs.append(catalog)
        try:
            for item in fbc.bundle_images(objects):
                need = needed.setdefault(item.image, Needed(item.image, item.kind))
                if item.kind == "operatorBundle":
                    need.kind = "operatorBundle"
                need.bundles[item.bundle_image] = item.bundle
                need.packages.add(item.package)
        except fbc.FBCError as exc:
            errors.append(f'collect catalog "{entry.get("catalog")}": {exc}')
    if errors:
        raise CollectionError("\n".join(errors))
    return catalogs, list(needed.values())


def _collect_one(
    entry: dict, working: Path, cache: Path, from_cache: bool, pull: Pull, inspect: Inspect
) -> tuple[Catalog, list[dict]]:
    ref = str(entry["catalog"])
    if ref.startswith("oci:"):
        raise CollectionError("oci:// catalogs are not supported by the TEST DOUBLE")
    registry, path, tag, digest = split_ref(ref)
    target_repo = str(entry.get("targetcatalog") or path)
    target_tag = entry.get("targettag")
    if from_cache and not digest:
        digest = _digest_from_cache(cache, target_repo, str(target_tag or tag or "latest"), ref)
    elif not digest:
        digest = inspect(f"{registry}/{path}:{tag or 'latest'}")
    full = is_full(entry)
    folder = working / "operator-catalogs" / path.rsplit("/", 1)[-1] / digest
    catalog = Catalog(
        origin=f"docker://{registry}/{path}@{digest}" if not from_cache else f"docker://{ref.removeprefix('docker://')}",
        registry=registry,
        path=path,
        tag=tag,
        digest=digest,
        target_repo=target_repo,
        target_tag=str(target_tag) if target_tag else None,
        full=full,
        filter_hash=None if full else filter_hash(entry, registry, path, digest),
        folder=folder,
        template=entry.get("targetcatalogsourcetemplate"),
    )
    if from_cache:
        return catalog, _objects_from_working_dir(catalog)
    if not (catalog.layout / "manifest.json").is_file():
        tmp = catalog.layout.with_name("catalog-image.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        pull(f"{registry}/{path}@{digest}", tmp)
        shutil.rmtree(catalog.layout, ignore_errors=True)
        tmp.rename(catalog.layout)
    configs = ociimage.configs_dir(catalog.layout)
    files = ociimage.merged_files(catalog.layout, configs)
    _save_tree(folder / "catalog-config", {p[len(configs.strip("/")) + 1 :]: d for p, d in files.items()})
    objects = fbc.load_fbc(files, configs)
    if full:
        return catalog, objects
    filtered = fbc.select_catalog(objects, entry)
    _save_tree(catalog.filtered_dir / "catalog-config", filtered_files(filtered))
    return catalog, filtered


def _digest_from_cache(root: Path, repo: str, tag: str, ref: str) -> str:
    """The catalog's digest from the cache registry's storage (the tag mirror to disk cached it under)."""
    digest = cache_storage.tag_digest(root, repo, tag)
    if not digest:
        raise CollectionError(f"catalog {ref} is not in the cache (run mirror to disk with the same ImageSetConfiguration)")
    return digest


def _objects_from_working_dir(catalog: Catalog) -> list[dict]:
    folder = (catalog.folder / "catalog-config") if catalog.full else (catalog.filtered_dir / "catalog-config")
    if not folder.is_dir():
        raise CollectionError(
            f"{folder} not found: disk to mirror needs the working-dir of a mirror to disk run with the same operators entries"
        )
    files = {str(p.relative_to(folder.parent)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return fbc.load_fbc(files, "catalog-config")


def filtered_files(objects: list[dict]) -> dict[str, bytes]:
    """One `<package>/catalog.json` (JSON stream) per package; objects of no package in `catalog.json`."""
    return {
        (f"{package}/catalog.json" if package != "_global" else "catalog.json"): fbc.to_json_stream(objs)
        for package, objs in fbc.by_package(objects).items()
    }


def _save_tree(folder: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    for rel, data in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    folder.mkdir(parents=True, exist_ok=True)


def rebuild(catalog: Catalog, cache: Path) -> None:
    """Build the filtered catalog image into the cache (reused when its digest file says it is there)."""
    if not catalog.filter_hash:
        return
    out = catalog.cache_rebuilt(cache)
    digest_file = catalog.filtered_dir / "digest"
    if (
        digest_file.is_file()
        and (out / "manifest.json").is_file()
        and ociimage.top_digest(out).split(":", 1)[1] == digest_file.read_text().strip()
    ):
        catalog.rebuilt_digest = ociimage.top_digest(out)
        return
    configs = ociimage.configs_dir(catalog.layout)
    folder = catalog.filtered_dir / "catalog-config"
    files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    catalog.rebuilt_digest = ociimage.rebuild_catalog(catalog.layout, out, configs, files)
    digest_file.write_text(catalog.rebuilt_digest.split(":", 1)[1])
