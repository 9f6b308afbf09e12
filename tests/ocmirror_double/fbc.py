"""File-Based Catalog (FBC) reading and filtering for the oc-mirror TEST DOUBLE (stdlib + pyyaml).

An operator index image keeps its catalog as files under the directory named by its label
`operators.operatorframework.io.index.configs.v1`: one directory per package, each file either a
JSON stream (objects one after another, NOT an array) or YAML documents. This module turns those
files into a flat list of objects (`schema` olm.package / olm.channel / olm.bundle / olm.deprecations
/ anything else) and filters that list the way oc-mirror v2 filters it (its filter library,
sherine-k/catalog-filter, as described in shared/reference/oc-mirror-v2.md "How oc-mirror mirrors
operators"). It is an independent implementation written from that description: no code copied.

Filtering, per `mirror.operators[]` entry (keys lower-cased, as the double decodes the ISC):
- no packages and `full: true`: the caller mirrors the catalog unchanged (no filtering here);
- packages listed: only those packages, and of each only the listed channels (else all channels);
- per channel: channel minVersion/maxVersion, else the package's; with a range, the bundles in range
  plus what keeps the channel a valid upgrade graph (the replaces chain between the new head and the
  new tail); no range and `full: false`: only the channel head; `full: true`: every entry; `full` with
  a range is an error;
- default channel: a given `defaultChannel` must survive the channel selection; otherwise the
  catalog's default must survive ("...was filtered out, a new default channel must be configured for
  this package"); a range that empties the catalog's default channel is an error; other channels
  left empty are dropped.
The channel head is computed from the replaces/skips graph (the one entry nobody replaces or skips),
never from file order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

FBC_SUFFIXES = (".json", ".yaml", ".yml")


class FBCError(Exception):
    """A catalog that cannot be read or a filter that cannot be applied; str() is oc-mirror's text."""


# -- reading -------------------------------------------------------------------------------------------


def parse_file(name: str, data: bytes) -> list[dict]:
    """The objects of one FBC file: YAML documents, or a JSON stream (one object after another)."""
    text = data.decode("utf-8")
    if name.endswith((".yaml", ".yml")):
        try:
            return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
        except yaml.YAMLError as exc:
            raise FBCError(f"error parsing {name}: {str(exc).splitlines()[0]}") from exc
    decoder, objects, pos = json.JSONDecoder(), [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return objects
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise FBCError(f"error parsing {name}: {exc}") from exc
        if not isinstance(obj, dict):
            raise FBCError(f"error parsing {name}: expected a JSON object, found {type(obj).__name__}")
        objects.append(obj)


def load_fbc(files: dict[str, bytes], root: str) -> list[dict]:
    """Every FBC object under *root* (a directory of the merged image filesystem), files sorted by path."""
    prefix = root.strip("/") + "/"
    objects: list[dict] = []
    for path in sorted(files):
        if path.startswith(prefix) and path.endswith(FBC_SUFFIXES):
            objects.extend(parse_file(path, files[path]))
    if not any(o.get("schema") == "olm.package" for o in objects):
        raise FBCError(f"no olm.package found in the catalog directory /{root.strip('/')}")
    return objects


def package_of(obj: dict) -> str:
    return str(obj.get("name") if obj.get("schema") == "olm.package" else obj.get("package") or "")


def bundle_version(bundle: dict) -> str | None:
    for prop in bundle.get("properties") or []:
        if prop.get("type") == "olm.package":
            value = prop.get("value") or {}
            return str(value.get("version")) if value.get("version") is not None else None
    return None


def to_json_stream(objects: list[dict]) -> bytes:
    """JSON objects one after another (indented, as opm writes them)."""
    return "".join(json.dumps(o, indent=4) + "\n" for o in objects).encode()


def by_package(objects: list[dict]) -> dict[str, list[dict]]:
    """Objects grouped by package: olm.package first, then channels, bundles, others (file order kept)."""
    rank = {"olm.package": 0, "olm.channel": 1, "olm.bundle": 2}
    grouped: dict[str, list[dict]] = {}
    for obj in sorted(objects, key=lambda o: rank.get(str(o.get("schema")), 3)):
        grouped.setdefault(package_of(obj) or "_global", []).append(obj)
    return grouped


# -- semver ------------------------------------------------------------------------------------------------

_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Version:
    """A semantic version, compared as semver 2.0 (pre-releases sort before the release)."""

    major: int
    minor: int
    patch: int
    pre: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _SEMVER.match(str(text).strip())
        if not match:
            raise ValueError(f"{text!r} is not a semantic version")
        pre = tuple(int(p) if p.isdigit() else p for p in match.group(4).split(".")) if match.group(4) else ()
        return cls(int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0), pre)

    def key(self) -> tuple:
        # a release (no pre-release) sorts after all its pre-releases; numeric ids before alphanumeric
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)


@dataclass(frozen=True)
class Range:
    """`>=min <=max`, either bound optional (oc-mirror builds this from minVersion/maxVersion)."""

    minimum: Version | None
    maximum: Version | None
    text: str

    @classmethod
    def from_bounds(cls, minimum: str | None, maximum: str | None) -> Range | None:
        if not minimum and not maximum:
            return None
        parts = ([f">={minimum}"] if minimum else []) + ([f"<={maximum}"] if maximum else [])
        return cls(Version.parse(minimum) if minimum else None, Version.parse(maximum) if maximum else None, " ".join(parts))

    def contains(self, version: Version | None) -> bool:
        if version is None:
            return False
        # like Masterminds/semver: a pre-release only matches a bound that is itself a pre-release
        if version.pre and not any(b is not None and b.pre for b in (self.minimum, self.maximum)):
            return False
        if self.minimum is not None and version.key() < self.minimum.key():
            return False
        return not (self.maximum is not None and version.key() > self.maximum.key())


# -- the upgrade graph of one channel ---------------------------------------------------------------------


@dataclass
class Graph:
    """One channel's upgrade graph: `replaces` (one edge) and `skips` (several) per entry name."""

    names: list[str]
    replaces: dict[str, str]
    skips: dict[str, list[str]]
    head: str

    @classmethod
    def of(cls, channel: dict) -> Graph:
        """Build it and find the head: the one entry no other entry replaces or skips (file order is
        irrelevant). No head, several heads, duplicates or a cycle make the channel invalid."""
        names, replaces, skips, incoming, errors = [], {}, {}, {}, []
        for entry in channel.get("entries") or []:
            name = entry.get("name")
            if name in names:
                errors.append(f"duplicate channel entry {name!r}")
                continue
            names.append(name)
            if entry.get("replaces"):
                replaces[name] = entry["replaces"]
                incoming.setdefault(entry["replaces"], set()).add(name)
            skips[name] = list(entry.get("skips") or [])
            for skipped in skips[name]:
                incoming.setdefault(skipped, set()).add(name)
        if not names:
            raise FBCError("channel has no entries")
        heads = [n for n in names if not incoming.get(n)]
        if not heads:
            errors.append("no channel heads found")
        elif len(heads) > 1:
            errors.append(f"multiple channel heads found: [{' '.join(sorted(heads))}]")
        if errors:
            raise FBCError("; ".join(errors))
        graph = cls(names, replaces, skips, heads[0])
        graph.check_acyclic(incoming)
        return graph

    def check_acyclic(self, incoming: dict[str, set[str]]) -> None:
        """Kahn's walk from the head: edges left unvisited mean a cycle."""
        remaining = {k: set(v) for k, v in incoming.items()}
        queue = [self.head]
        while queue:
            current = queue.pop(0)
            for target in [self.replaces.get(current), *self.skips.get(current, [])]:
                if target is None or target not in remaining:
                    continue
                remaining[target].discard(current)
                if not remaining[target]:
                    del remaining[target]
                    queue.append(target)
        if remaining:
            raise FBCError("detected a cycle in the upgrade graph of the channel")

    def chain(self) -> list[str]:
        """The replaces chain from the head down (it may name bundles that are not entries)."""
        chain, current = [], self.head
        while current is not None and current not in chain:
            chain.append(current)
            current = self.replaces.get(current)
        return chain

    def keep_in_range(self, in_range: dict[str, bool]) -> set[str]:
        """Entries a range keeps. Along the replaces chain, count the in-range bundles at or below
        each node (each bundle counted once, skipped bundles included); the new head is the lowest
        node with the highest count, the new tail the first node whose count is 0 (excluded). Keep
        the chain between them (even out-of-range nodes, which keep the channel valid) plus the
        in-range bundles they skip."""
        chain = self.chain()
        seen: set[str] = set()
        counts: dict[str, int] = {}
        for name in reversed(chain):  # from the tail up, as the counting is cumulative
            below = self.replaces.get(name)
            count = counts.get(below, 0) if below in counts else 0
            for candidate in [name, *self.skips.get(name, [])]:
                if candidate not in seen and in_range.get(candidate, False):
                    seen.add(candidate)
                    count += 1
            counts[name] = count
        head_index, best, tail_index = 0, -1, len(chain)
        for index, name in enumerate(chain):
            if counts[name] >= best:
                head_index, best = index, counts[name]
            if counts[name] == 0:
                tail_index = index
                break
        keep: set[str] = set()
        for name in chain[head_index:tail_index]:
            keep.add(name)
            keep.update(s for s in self.skips.get(name, []) if in_range.get(s, False))
        return keep & set(self.names)


# -- filtering ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageFilter:
    name: str
    default_channel: str
    range: Range | None
    channels: dict[str, Range | None]


def package_filters(entry: dict) -> list[PackageFilter]:
    """The ISC `packages` list as filters; ISC-level mistakes are FBCError (the caller decides the exit)."""
    filters, names = [], set()
    for package in entry.get("packages") or []:
        name = package.get("name")
        if not name:
            raise FBCError("package name must be specified")
        if name in names:
            raise FBCError(f"duplicate package entry {name!r}")
        names.add(name)
        pkg_range = _range(package, f"package {name!r}")
        channels: dict[str, Range | None] = {}
        for channel in package.get("channels") or []:
            cname = channel.get("name")
            if not cname:
                raise FBCError(f"package {name!r}: channel name must be specified")
            if cname in channels:
                raise FBCError(f"package {name!r}: duplicate channel entry {cname!r}")
            channels[cname] = _range(channel, f"package {name!r} channel {cname!r}")
            if channels[cname] and pkg_range:
                raise FBCError(
                    f"package {name!r}: package.VersionRange and channel.VersionRange are exclusive "
                    f"(channel {cname!r} has one too)"
                )
        filters.append(PackageFilter(name, package.get("defaultchannel") or "", pkg_range, channels))
    return filters


def _range(section: dict, what: str) -> Range | None:
    try:
        return Range.from_bounds(section.get("minversion"), section.get("maxversion"))
    except ValueError as exc:
        raise FBCError(f"{what}: versionRange is not in valid semantic versioning format: {exc}") from exc


def filter_catalog(objects: list[dict], entry: dict) -> list[dict]:
    """The filtered catalog (see the module docstring). *entry* is one `mirror.operators[]` entry."""
    full = bool(entry.get("full"))
    filters = {f.name: f for f in package_filters(entry)}
    if filters:
        objects = [o for o in objects if _selected(o, filters)]
    packages = {o["name"]: o for o in objects if o.get("schema") == "olm.package"}
    channels = [o for o in objects if o.get("schema") == "olm.channel"]
    original_default = {name: pkg.get("defaultChannel") or "" for name, pkg in packages.items()}
    new_default = _check_default_channels(packages, channels, filters)
    versions = {(o.get("package"), o.get("name")): _version(o) for o in objects if o.get("schema") == "olm.bundle"}
    keep: dict[str, set[str]] = {}
    kept_channels: list[dict] = []
    for channel in channels:
        package = channel.get("package")
        pfilter = filters.get(package)
        crange = (pfilter.channels.get(channel.get("name")) or pfilter.range) if pfilter else None
        where = f"package {package!r} channel {channel.get('name')!r}"
        try:
            entries = _filter_channel(channel, crange, full, versions, package)
        except FBCError as exc:
            raise FBCError(f"{where}: {exc}") from None
        if not entries:
            if channel.get("name") == original_default.get(package):
                raise FBCError(f"{where} has version range {crange.text if crange else ''!r} that results in an empty channel")
            continue  # an empty channel that is not the default is dropped
        keep.setdefault(package, set()).update(e["name"] for e in entries)
        kept_channels.append({**channel, "entries": entries})
    return _assemble(objects, new_default, kept_channels, keep)


def _selected(obj: dict, filters: dict[str, PackageFilter]) -> bool:
    package = package_of(obj)
    if not package:
        return True  # objects of no package are kept
    if package not in filters:
        return False
    if obj.get("schema") == "olm.channel" and filters[package].channels:
        return obj.get("name") in filters[package].channels
    return True


def _check_default_channels(packages: dict[str, dict], channels: list[dict], filters: dict[str, PackageFilter]) -> dict[str, str]:
    """Default channel per package after channel selection; errors as oc-mirror's filter words them."""
    names: dict[str, set[str]] = {}
    for channel in channels:
        names.setdefault(channel.get("package"), set()).add(channel.get("name"))
    defaults = {}
    for name, package in packages.items():
        current = package.get("defaultChannel") or ""
        pfilter = filters.get(name)
        if pfilter is None:
            defaults[name] = current
            continue
        prefix = f"invalid default channel configuration for package {name!r}"
        if pfilter.default_channel:
            if pfilter.default_channel not in names.get(name, set()):
                raise FBCError(
                    f"{prefix}: specified default channel override {pfilter.default_channel!r} "
                    "does not exist in the filtered output"
                )
            defaults[name] = pfilter.default_channel
        elif current and current not in names.get(name, set()):
            raise FBCError(
                f"{prefix}: the default channel {current!r} was filtered out, a new default channel "
                "must be configured for this package"
            )
        else:
            defaults[name] = current
    return defaults


def _version(bundle: dict) -> Version | None:
    text = bundle_version(bundle)
    try:
        return Version.parse(text) if text else None
    except ValueError:
        return None


def _filter_channel(channel: dict, crange: Range | None, full: bool, versions: dict, package: str) -> list[dict]:
    entries = list(channel.get("entries") or [])
    if full and crange:
        raise FBCError("Full: true cannot be mixed with versionRange")
    if full:
        return entries
    graph = Graph.of(channel)
    if crange is None:
        return [e for e in entries if e.get("name") == graph.head]
    in_range = {name: crange.contains(versions.get((package, name))) for name in _all_names(graph)}
    kept = graph.keep_in_range(in_range)
    return [e for e in entries if e.get("name") in kept]


def _all_names(graph: Graph) -> set[str]:
    return set(graph.names) | set(graph.replaces.values()) | {s for skips in graph.skips.values() for s in skips}


def _assemble(objects: list[dict], defaults: dict[str, str], channels: list[dict], keep: dict[str, set[str]]) -> list[dict]:
    """The filtered objects in catalog order: packages (new default), kept channels, kept bundles,
    deprecations without entries for dropped bundles/channels, other objects unchanged."""
    channel_names = {(c.get("package"), c.get("name")) for c in channels}
    result: list[dict] = []
    for obj in objects:
        schema = obj.get("schema")
        if schema == "olm.package":
            result.append({**obj, "defaultChannel": defaults.get(obj["name"], obj.get("defaultChannel"))})
        elif schema == "olm.channel":
            continue
        elif schema == "olm.bundle":
            if obj.get("name") in keep.get(obj.get("package"), set()):
                result.append(obj)
        elif schema == "olm.deprecations":
            result.append(_filter_deprecations(obj, keep, channel_names))
        else:
            result.append(obj)
    # channels after their package, as opm renders them
    out: list[dict] = []
    for obj in result:
        out.append(obj)
        if obj.get("schema") == "olm.package":
            out.extend(c for c in channels if c.get("package") == obj["name"])
    return out


def _filter_deprecations(obj: dict, keep: dict[str, set[str]], channels: set[tuple]) -> dict:
    package = obj.get("package")
    entries = []
    for entry in obj.get("entries") or []:
        reference = entry.get("reference") or {}
        if reference.get("schema") == "olm.bundle" and reference.get("name") not in keep.get(package, set()):
            continue
        if reference.get("schema") == "olm.channel" and (package, reference.get("name")) not in channels:
            continue
        entries.append(entry)
    return {**obj, "entries": entries}


# -- images -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BundleImage:
    """One image a kept bundle needs. *kind*: operatorBundle or operatorRelatedImage (oc-mirror's names)."""

    image: str
    kind: str
    bundle: str
    package: str
    bundle_image: str


def bundle_images(objects: list[dict]) -> list[BundleImage]:
    """relatedImages of each olm.bundle (the bundle image among them, else from its `image` field);
    empty entries skipped. An `oci:` related image is an error, as in oc-mirror."""
    found: list[BundleImage] = []
    for bundle in objects:
        if bundle.get("schema") != "olm.bundle":
            continue
        own = str(bundle.get("image") or "")
        related = [str(r.get("image") or "") for r in bundle.get("relatedImages") or []]
        if own and own not in related:
            related.insert(0, own)
        for image in related:
            if not image:
                continue
            if image.startswith("oci:"):
                raise FBCError(f"invalid image: {image} 'oci' is not supported in operator catalogs")
            kind = "operatorBundle" if image == own else "operatorRelatedImage"
            found.append(BundleImage(image, kind, str(bundle.get("name")), str(bundle.get("package")), own))
    return found
