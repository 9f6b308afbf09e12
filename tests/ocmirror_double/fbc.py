"""File-Based Catalog (FBC) reading and filtering for the oc-mirror TEST DOUBLE (stdlib + pyyaml).

An operator index image keeps its catalog as files under the directory named by its label
`operators.operatorframework.io.index.configs.v1`: one directory per package, each file either a
JSON stream (objects one after another, NOT an array) or YAML documents. This module turns those
files into a flat list of objects (`schema` olm.package / olm.channel / olm.bundle / olm.deprecations
/ anything else) and filters that list the way oc-mirror v2 filters it (its filter library,
sherine-k/catalog-filter). No code copied.

Filtering, per `mirror.operators[]` entry (keys lower-cased, as the double decodes the ISC), as
oc-mirror v2 does it with catalog-filter v0.0.5 and Masterminds/semver v3.5.0 (read from their
sources, the behaviour re-written here; tests/test_catalog_conformance.py runs the 69 cases of their
own tests through this module):
- `select_catalog`: no packages and `full: true`: the catalog unchanged; else `oc_mirror_filter`:
  the library's configuration check (`failed to validate catalog filter: ...`, e.g. package and
  channel ranges are exclusive) then `filter_catalog` (`failed to filter catalog: ...`);
- `filter_catalog`: packages listed: only those (an unknown one selects nothing, silently), and of
  each only the listed channels (else all); every bundle version of those packages read strictly
  (`1.2.3[-pre][+meta]`, else the whole filter fails); range = `>=MIN`, ` <=MAX` (channel's, else the
  package's), read as a Masterminds constraint (a partial `<=1.2` accepts every 1.2.z; a pre-release
  matches only when a bound is one);
- per channel: `full` + range: error; `full`: every entry; min == max (`>=X <=X`): the one bundle of
  the package whose version equals X (`error finding specific bundle: specific version X not found in
  bundles`); other ranges: the graph's range selection (the replaces chain between a new head and
  tail, followed through names that are not entries of the channel, whose bundles are then kept);
  no range: the head, computed from the replaces/skips graph (never file order; duplicates, an entry
  replacing or skipping itself, no head, several heads are reported together, one per line, then
  cycles); a range that empties the catalog's default channel is an error, other emptied channels
  are dropped;
- default channel: a given `defaultChannel` must be among the selected channels; otherwise the
  catalog's default must be;
- `bundle_images`: a bundle with an `oci://` image is an error; no bundle at all is `no related images found`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

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


# -- semver, as Masterminds/semver v3.5.0 (the version oc-mirror builds with) reads it -----------------------

_LOOSE = re.compile(
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(?:-([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?(?:\+([0-9A-Za-z\-]+(?:\.[0-9A-Za-z\-]+)*))?"
)
_DIGITS = re.compile(r"[0-9]*")
_ALLOWED = re.compile(r"[0-9A-Za-z\-]*")


def go_quote(text: object) -> str:
    """Go's %q of a printable string."""
    return json.dumps(str(text), ensure_ascii=False)


def _check_prerelease(pre: str) -> None:
    for part in pre.split("."):
        if part == "":
            raise ValueError("invalid prerelease string")
        if _DIGITS.fullmatch(part):
            if len(part) > 1 and part[0] == "0":
                raise ValueError("version segment starts with 0")
        elif not _ALLOWED.fullmatch(part):
            raise ValueError("invalid prerelease string")


def _check_metadata(meta: str) -> None:
    for part in meta.split("."):
        if part == "" or not _ALLOWED.fullmatch(part):
            raise ValueError("invalid metadata string")


@dataclass(frozen=True)
class Version:
    """A version as Masterminds reads it: `parse` = NewVersion (loose: `v1`, `1.2`, leading zeros
    coerced), `strict` = StrictNewVersion (what the filter library reads bundle versions with).
    Build metadata is ignored when comparing."""

    major: int
    minor: int
    patch: int
    pre: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        text = str(text)
        if len(text) > 256:
            raise ValueError("version string is too long (max 256 bytes)")
        match = _LOOSE.fullmatch(text)
        if not match:
            raise ValueError("invalid semantic version")
        pre = match.group(4) or ""
        if pre:
            _check_prerelease(pre)
        minor, patch = match.group(2), match.group(3)
        return cls(int(match.group(1)), int(minor[1:]) if minor else 0, int(patch[1:]) if patch else 0, pre)

    @classmethod
    def strict(cls, text: str) -> Version:
        if not text:
            raise ValueError("version string empty")
        if len(text) > 256:
            raise ValueError("version string is too long (max 256 bytes)")
        parts = text.split(".", 2)
        if len(parts) != 3:
            raise ValueError("invalid semantic version")
        last, pre = parts[2], ""
        if "+" in last:
            last, meta = last.split("+", 1)
            _check_metadata(meta)
        if "-" in last:
            last, pre = last.split("-", 1)
            _check_prerelease(pre)
        numbers = [parts[0], parts[1], last]
        for number in numbers:
            if not _DIGITS.fullmatch(number):
                raise ValueError("invalid characters in version")
            if len(number) > 1 and number[0] == "0":
                raise ValueError("version segment starts with 0")
        for number in numbers:
            if number == "":
                raise ValueError('strconv.ParseUint: parsing "": invalid syntax')
        return cls(int(numbers[0]), int(numbers[1]), int(numbers[2]), pre)

    def compare(self, other: Version) -> int:
        for mine, theirs in ((self.major, other.major), (self.minor, other.minor), (self.patch, other.patch)):
            if mine != theirs:
                return -1 if mine < theirs else 1
        if not self.pre and not other.pre:
            return 0
        if not self.pre:
            return 1
        if not other.pre:
            return -1
        return _compare_pre(self.pre, other.pre)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")


def _compare_pre(mine: str, theirs: str) -> int:
    mine_parts, their_parts = mine.split("."), theirs.split(".")
    for index in range(max(len(mine_parts), len(their_parts))):
        result = _compare_pre_part(
            mine_parts[index] if index < len(mine_parts) else "",
            their_parts[index] if index < len(their_parts) else "",
        )
        if result:
            return result
    return 0


def _compare_pre_part(mine: str, theirs: str) -> int:
    if mine == theirs:
        return 0
    if mine == "":
        return -1
    if theirs == "":
        return 1
    mine_num, their_num = _DIGITS.fullmatch(mine) is not None, _DIGITS.fullmatch(theirs) is not None
    if not mine_num and not their_num:
        return 1 if mine > theirs else -1
    if not their_num:
        return -1  # a number sorts before a word
    if not mine_num:
        return 1
    return 1 if int(mine) > int(theirs) else -1


_CV = (
    r"v?([0-9|xX*]+)(\.[0-9|xX*]+)?(\.[0-9|xX*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_ONE = re.compile(rf"\s*({_OPS})\s*({_CV})\s*")
_FIND = re.compile(rf"({_OPS})\s*({_CV})")
_VALID = re.compile(rf"(\s*({_OPS})\s*({_CV})\s*)((?:\s+|,\s*)({_OPS})\s*({_CV})\s*)*")
_HYPHEN = re.compile(rf"\s*({_CV})\s+-\s+({_CV})\s*")


@dataclass(frozen=True)
class Constraint:
    """One comparison (`>=1.2.3`, `<=1.2`, `~1`, `1.x`...). A partial or `x` version is "dirty":
    `<=1.2` accepts every 1.2.z, `>1.2` needs 1.3 or more."""

    op: str
    orig: str
    con: Version
    dirty: bool = False
    minor_dirty: bool = False
    patch_dirty: bool = False

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _ONE.fullmatch(text)
        if not match:
            raise ValueError(f"improper constraint: {go_quote(text)}")
        op, orig, major, minor, patch, pre = (match.group(i) or "" for i in (1, 2, 3, 4, 5, 6))
        dirty = minor_dirty = patch_dirty = False
        if major in ("x", "X", "*") or not major:
            ver, dirty = f"0.0.0{pre}", True
        elif minor[1:] in ("x", "X", "*") or not minor:
            ver, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
        elif patch[1:] in ("x", "X", "*") or not patch:
            ver, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
        else:
            ver = orig
        try:
            con = Version.parse(ver)
        except ValueError:
            raise ValueError("constraint parser error") from None
        return cls(op, orig, con, dirty, minor_dirty, patch_dirty)

    def check(self, v: Version, include_pre: bool) -> bool:
        if v.pre and not include_pre:
            return False
        c, op = self.con, self.op
        if op in ("", "="):
            return self._tilde(v) if self.dirty else v.compare(c) == 0
        if op == "!=":
            return self._not_equal(v)
        if op == ">":
            if self.dirty:
                if v.major != c.major:
                    return v.major > c.major
                if self.minor_dirty:
                    return False
                if self.patch_dirty:
                    return v.minor > c.minor
            return v.compare(c) > 0
        if op == "<":
            return v.compare(c) < 0
        if op in (">=", "=>"):
            return v.compare(c) >= 0
        if op in ("<=", "=<"):
            if not self.dirty:
                return v.compare(c) <= 0
            return not (v.major > c.major or (v.major == c.major and v.minor > c.minor and not self.minor_dirty))
        if op in ("~", "~>"):
            return self._tilde(v)
        return self._caret(v)

    def _not_equal(self, v: Version) -> bool:
        c = self.con
        if self.dirty:
            if c.major != v.major:
                return True
            if c.minor != v.minor and not self.minor_dirty:
                return True
            if self.minor_dirty:
                return False
            if c.patch != v.patch and not self.patch_dirty:
                return True
            if self.patch_dirty:
                return bool((v.pre or c.pre) and _compare_pre(v.pre, c.pre) != 0)
        return v.compare(c) != 0

    def _tilde(self, v: Version) -> bool:
        c = self.con
        if v.compare(c) < 0:
            return False
        if (c.major, c.minor, c.patch) == (0, 0, 0) and not self.minor_dirty and not self.patch_dirty:
            return True
        if v.major != c.major:
            return False
        return v.minor == c.minor or self.minor_dirty

    def _caret(self, v: Version) -> bool:
        c = self.con
        if v.compare(c) < 0:
            return False
        if c.major > 0 or self.minor_dirty:
            return v.major == c.major
        if v.major > 0:
            return False
        if c.minor > 0 or self.patch_dirty:
            return v.minor == c.minor
        if v.minor > 0:
            return False
        return v.patch == c.patch


@dataclass(frozen=True)
class Range:
    """A Masterminds constraint string (oc-mirror writes `>=MIN`, `<=MAX`, `>=MIN <=MAX`): OR groups
    (`||`) of AND-ed comparisons. A pre-release matches a group only when one of the group's
    comparisons names a pre-release."""

    groups: tuple[tuple[Constraint, ...], ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> Range:
        if len(text) > 512:
            raise ValueError("constraint string is too long (max 512 bytes)")
        rewritten = text
        for match in _HYPHEN.finditer(text):
            rewritten = rewritten.replace(match.group(0), f">= {match.group(1)}, <= {match.group(11)} ", 1)
        ors = rewritten.split("||")
        if len(ors) > 32:
            raise ValueError("too many constraint groups (max 32)")
        groups = []
        for part in ors:
            if not _VALID.fullmatch(part):
                raise ValueError(f"improper constraint: {go_quote(part)}")
            found = [m.group(0) for m in _FIND.finditer(part)] or [part]
            groups.append(tuple(Constraint.parse(c) for c in found))
        return cls(tuple(groups), text)

    @classmethod
    def from_bounds(cls, minimum: str | None, maximum: str | None) -> Range | None:
        """oc-mirror's string (`>=MIN`, ` <=MAX`, both), parsed; None without bounds."""
        text = range_text(minimum, maximum)
        return cls.parse(text) if text else None

    def contains(self, version: Version | None) -> bool:
        if version is None:
            return False
        for group in self.groups:
            include_pre = any(c.con.pre for c in group)
            if all(c.check(version, include_pre) for c in group):
                return True
        return False


def range_text(minimum: object, maximum: object) -> str:
    """The range oc-mirror hands the filter library (catalog_handler.go filterPackage): `>=MIN`,
    then ` <=MAX` appended (a maxVersion alone gives ` <=MAX`, leading space included)."""
    text = f">={minimum}" if minimum else ""
    if maximum:
        text += f" <={maximum}"
    return text


# -- the upgrade graph of one channel ---------------------------------------------------------------------


@dataclass
class Graph:
    """One channel's upgrade graph: `replaces` (one edge) and `skips` (several) per entry name; names
    replaced or skipped that are not entries are nodes too (without edges of their own)."""

    names: list[str]
    replaces: dict[str, str]
    skips: dict[str, list[str]]
    head: str

    @classmethod
    def of(cls, channel: dict) -> Graph:
        """Build it and find the head: the one entry no other entry replaces or skips (file order is
        irrelevant). Duplicates, an entry replacing or skipping itself, no head or several heads are
        reported together (one per line, as Go's errors.Join); then a cycle is looked for."""
        entries = list(channel.get("entries") or [])
        if not entries:
            raise FBCError("channel has no entries")
        names: list[str] = []
        replaces: dict[str, str] = {}
        skips: dict[str, list[str]] = {}
        incoming: dict[str, set[str]] = {}
        errors: list[str] = []
        for entry in entries:
            name = str(entry.get("name") or "")
            if name in names:
                errors.append(f"duplicate channel entry {go_quote(name)}")
                continue
            names.append(name)
            if entry.get("replaces"):
                target = str(entry["replaces"])
                if target == name:
                    errors.append(f"invalid channel entry {go_quote(name)}: replaces itself")
                replaces[name] = target
                incoming.setdefault(target, set()).add(name)
            skipped_names = []
            for skipped in entry.get("skips") or []:
                skipped = str(skipped)
                if skipped == name:
                    errors.append(f"invalid channel entry {go_quote(name)}: skips itself")
                incoming.setdefault(skipped, set()).add(name)
                if skipped not in skipped_names:
                    skipped_names.append(skipped)
            skips[name] = skipped_names
        heads = [str(e.get("name") or "") for e in entries if not incoming.get(str(e.get("name") or ""))]
        if not heads:
            errors.append("no channel heads found")
        elif len(heads) > 1:
            errors.append(f"multiple channel heads found: [{' '.join(sorted(heads))}]")
        if errors:
            raise FBCError("\n".join(errors))
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
        """The replaces chain from the head down (it may end on a name that is not an entry)."""
        chain, current = [], self.head
        while current is not None and current not in chain:
            chain.append(current)
            current = self.replaces.get(current)
        return chain

    def keep_in_range(self, versions: dict[str, Version | None], vrange: Range) -> set[str]:
        """Names a range keeps (names that are not entries included: their bundles are kept too).
        Along the replaces chain, count the in-range bundles at or below each node (each bundle
        counted once, skipped bundles included); the new head is the lowest node with the highest
        count, the new tail the first node whose count is 0 (excluded). Keep the chain between them
        (out-of-range and unversioned nodes included, they keep the channel valid) plus the in-range
        bundles they skip. *versions*: every bundle of the package."""
        chain = self.chain()

        def in_range(name: str) -> bool:
            return vrange.contains(versions.get(name))

        seen: set[str] = set()
        counts: dict[str, int] = {}
        for name in reversed(chain):  # from the tail up, as the counting is cumulative
            below = self.replaces.get(name)
            count = counts.get(below, 0) if below is not None else 0
            for candidate in [name, *self.skips.get(name, [])]:
                if candidate not in seen and in_range(candidate):
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
            keep.update(s for s in self.skips.get(name, []) if in_range(s))
        return keep


# -- filtering ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageFilter:
    """One `packages[]` entry as oc-mirror hands it to the filter library: ranges as text."""

    name: str
    default_channel: str
    range: str
    channels: dict[str, str]  # channel name -> its range text ("" without one)


def package_filters(entry: dict) -> list[PackageFilter]:
    """The ISC `packages` list checked as oc-mirror checks the ImageSetConfiguration (config/validate.go:
    names, duplicates, bounds readable as versions, package and channel ranges not both); raises
    FBCError (the caller decides the exit)."""
    filters, names = [], set()
    for package in entry.get("packages") or []:
        name = package.get("name")
        if not name:
            raise FBCError("package name must be specified")
        if name in names:
            raise FBCError(f"duplicate package entry {name!r}")
        names.add(name)
        _check_bounds(package, f"package {name!r}")
        pkg_range = range_text(package.get("minversion"), package.get("maxversion"))
        channels: dict[str, str] = {}
        for channel in package.get("channels") or []:
            cname = channel.get("name")
            if not cname:
                raise FBCError(f"package {name!r}: channel name must be specified")
            if cname in channels:
                raise FBCError(f"package {name!r}: duplicate channel entry {cname!r}")
            _check_bounds(channel, f"package {name!r} channel {cname!r}")
            channels[cname] = range_text(channel.get("minversion"), channel.get("maxversion"))
            if channels[cname] and pkg_range:
                raise FBCError(
                    f"package {name!r}: package.VersionRange and channel.VersionRange are exclusive "
                    f"(channel {cname!r} has one too)"
                )
        filters.append(PackageFilter(name, package.get("defaultchannel") or "", pkg_range, channels))
    return filters


def _check_bounds(section: dict, what: str) -> None:
    for key in ("minversion", "maxversion"):
        if section.get(key):
            try:
                Version.parse(str(section[key]))
            except ValueError as exc:
                raise FBCError(f"{what}: versionRange is not in valid semantic versioning format: {exc}") from exc


def _filters_of(entry: dict) -> list[PackageFilter]:
    """The filter configuration as oc-mirror builds it (no checks: the library gets what the ISC says)."""
    filters = []
    for package in entry.get("packages") or []:
        channels = {
            str(c.get("name") or ""): range_text(c.get("minversion"), c.get("maxversion")) for c in package.get("channels") or []
        }
        filters.append(
            PackageFilter(
                str(package.get("name") or ""),
                str(package.get("defaultchannel") or ""),
                range_text(package.get("minversion"), package.get("maxversion")),
                channels,
            )
        )
    return filters


def validate_filter(entry: dict) -> None:
    """The filter library's FilterConfiguration.Validate, which oc-mirror runs before filtering
    (catalog_handler.go filterFromImageSetConfig); every problem, one per line."""
    errors = []
    for i, pkg in enumerate(_filters_of(entry)):
        where = f"package {go_quote(pkg.name)} at index [{i}] is invalid"
        if not pkg.name:
            errors.append(f"{where}: name must be specified")
        if pkg.range:
            try:
                Range.parse(pkg.range)
            except ValueError as exc:
                errors.append(f"{where}: versionRange is not in valid semantic versionning format: {exc}")
        for j, (cname, crange) in enumerate(pkg.channels.items()):
            cwhere = f"{where}: channel {go_quote(cname)} at index [{j}] is invalid"
            if not cname:
                errors.append(f"{cwhere}: name must be specified")
            if crange and pkg.range:
                errors.append(
                    f"{where}: package specifies a VersionRange, while channel {go_quote(cname)} at index [{j}] "
                    "equally specifies one: package.VersionRange and channel.VersionRange are exclusive"
                )
            if crange:
                try:
                    Range.parse(crange)
                except ValueError as exc:
                    errors.append(f"{cwhere}: versionRange is not in valid semantic versionning format: {exc}")
    if errors:
        raise FBCError("failed to validate catalog filter: " + "\n".join(errors))


def select_catalog(objects: list[dict], entry: dict) -> list[dict]:
    """What oc-mirror's collector keeps of a catalog for one `mirror.operators[]` entry: `full: true`
    without packages keeps it whole (filtered_collector.go isFullCatalog), else `oc_mirror_filter`."""
    if entry.get("full") and not entry.get("packages"):
        return objects
    return oc_mirror_filter(objects, entry)


def oc_mirror_filter(objects: list[dict], entry: dict) -> list[dict]:
    """oc-mirror's filterCatalog (catalog_handler.go): the filter configuration validated, then the
    catalog filtered; errors `failed to validate catalog filter: ...` / `failed to filter catalog: ...`."""
    validate_filter(entry)
    try:
        return filter_catalog(objects, entry)
    except FBCError as exc:
        raise FBCError(f"failed to filter catalog: {exc}") from None


def filter_catalog(objects: list[dict], entry: dict) -> list[dict]:
    """The filter library's FilterCatalog (see the module docstring). *entry* is one
    `mirror.operators[]` entry (keys lower-cased). Errors carry the library's words, unprefixed."""
    full = bool(entry.get("full"))
    filters = {f.name: f for f in _filters_of(entry)}
    if filters:
        objects = [o for o in objects if _selected(o, filters)]
    packages = {o["name"]: o for o in objects if o.get("schema") == "olm.package"}
    channels = [o for o in objects if o.get("schema") == "olm.channel"]
    bundles: dict[tuple[str, str], dict] = {}
    versions: dict[str, dict[str, Version | None]] = {}
    for obj in objects:
        if obj.get("schema") == "olm.bundle":
            package, name = str(obj.get("package")), str(obj.get("name"))
            bundles.setdefault((package, name), obj)
            versions.setdefault(package, {})[name] = _strict_version(obj)
    original_default = {name: pkg.get("defaultChannel") or "" for name, pkg in packages.items()}
    channel_names = {(c.get("package"), c.get("name")) for c in channels}
    new_default = _check_default_channels(packages, channels, filters)
    keep: dict[str, set[str]] = {}
    kept_channels: list[dict] = []
    for channel in channels:
        package, name = str(channel.get("package")), str(channel.get("name"))
        pfilter = filters.get(package)
        crange = (pfilter.channels.get(name) or pfilter.range) if pfilter else ""
        entries = list(channel.get("entries") or [])
        if full and crange:
            raise FBCError("Full: true cannot be mixed with versionRange")
        if full:
            if entries:
                keep.setdefault(package, set()).update(str(e.get("name")) for e in entries)
            kept_channels.append(channel)
            continue
        if crange:
            names = _range_names(channel, crange, versions.get(package, {}))
            if not names and name == original_default.get(package):
                raise FBCError(
                    f"package {go_quote(package)} channel {go_quote(name)} has version range {go_quote(crange)} "
                    "that results in an empty channel"
                )
            keep.setdefault(package, set()).update(names)
            if names:  # channels left empty are dropped
                kept_channels.append({**channel, "entries": [e for e in entries if e.get("name") in names]})
            continue
        try:
            head = Graph.of(channel).head
        except FBCError as exc:
            raise FBCError(
                f"package {go_quote(package)} channel {go_quote(name)} unable to filter head of channel: {exc}"
            ) from None
        keep.setdefault(package, set()).add(head)
        head_entry = [e for e in entries if e.get("name") == head][-1:]
        kept_channels.append({**channel, "entries": head_entry})
    return _assemble(objects, new_default, kept_channels, keep, bundles, channel_names)


def _range_names(channel: dict, crange: str, versions: dict[str, Version | None]) -> set[str]:
    """Names a channel range keeps: min == max (`>=X <=X`) is the one bundle of the package whose
    version equals X (OCPBUGS-61497), else the graph's range selection."""
    try:
        vrange = Range.parse(crange)
    except ValueError as exc:
        raise FBCError(f"error parsing version range: {exc}") from None
    fields = crange.split()
    if len(fields) == 2 and fields[0].removeprefix(">=") == fields[1].removeprefix("<="):
        wanted_text = fields[0].removeprefix(">=")
        try:
            wanted = Version.parse(wanted_text)
        except ValueError as exc:
            raise FBCError(f"error finding specific bundle: error parsing specific version: {exc}") from None
        # the library takes the first match of a Go map (random order): by name here
        for bundle in sorted(versions):
            found = versions[bundle]
            if found is not None and found.compare(wanted) == 0:
                return {bundle}
        raise FBCError(f"error finding specific bundle: specific version {wanted_text} not found in bundles")
    return Graph.of(channel).keep_in_range(versions, vrange)


def _strict_version(bundle: dict) -> Version:
    """The bundle's olm.package version read strictly; a bundle without one fails the whole filter."""
    for prop in bundle.get("properties") or []:
        if prop.get("type") == "olm.package":
            value = (prop.get("value") or {}).get("version", "")
            if not isinstance(value, str):
                raise FBCError("json: cannot unmarshal number into Go struct field Package.version of type string")
            try:
                return Version.strict(value)
            except ValueError as exc:
                raise FBCError(str(exc)) from None
    raise FBCError(f"bundle {go_quote(bundle.get('name'))} in package {go_quote(bundle.get('package'))} has no package property")


def _selected(obj: dict, filters: dict[str, PackageFilter]) -> bool:
    package = package_of(obj)
    if not package:
        return obj.get("schema") not in ("olm.package", "olm.channel", "olm.bundle", "olm.deprecations")
    if package not in filters:
        return False
    if obj.get("schema") == "olm.channel" and filters[package].channels:
        return obj.get("name") in filters[package].channels
    return True


def _check_default_channels(packages: dict[str, dict], channels: list[dict], filters: dict[str, PackageFilter]) -> dict[str, str]:
    """Default channel per package after channel selection; errors as the filter library words them."""
    names: dict[str, set[str]] = {}
    for channel in channels:
        names.setdefault(channel.get("package"), set()).add(channel.get("name"))
    defaults = {}
    for name, package in packages.items():
        current = package.get("defaultChannel") or ""
        pfilter = filters.get(name)
        if pfilter is None or (not current and not pfilter.default_channel):
            defaults[name] = current
            continue
        prefix = f"invalid default channel configuration for package {go_quote(name)}"
        if pfilter.default_channel:
            if pfilter.default_channel not in names.get(name, set()):
                raise FBCError(
                    f"{prefix}: specified default channel override {go_quote(pfilter.default_channel)} "
                    "does not exist in the filtered output"
                )
            defaults[name] = pfilter.default_channel
        elif current not in names.get(name, set()):
            raise FBCError(
                f"{prefix}: the default channel {go_quote(current)} was filtered out, a new default channel "
                "must be configured for this package"
            )
        else:
            defaults[name] = current
    return defaults


def _assemble(
    objects: list[dict],
    defaults: dict[str, str],
    channels: list[dict],
    keep: dict[str, set[str]],
    bundles: dict[tuple[str, str], dict],
    channel_names: set[tuple],
) -> list[dict]:
    """The filtered objects: packages (new default) each followed by its kept channels, then the kept
    bundles (by package and name, as the library sorts them; every bundle when nothing was selected
    channel by channel), deprecations without entries for dropped bundles or for channels not
    selected, other objects unchanged."""
    out: list[dict] = []
    for obj in objects:
        if obj.get("schema") == "olm.package":
            out.append({**obj, "defaultChannel": defaults.get(obj["name"], obj.get("defaultChannel"))})
            out.extend(c for c in channels if c.get("package") == obj["name"])
    if keep:
        out.extend(bundles[key] for key in sorted(bundles) if key[1] in keep.get(key[0], set()))
    else:
        out.extend(o for o in objects if o.get("schema") == "olm.bundle")
    for obj in objects:
        schema = obj.get("schema")
        if schema == "olm.deprecations":
            out.append(_filter_deprecations(obj, keep, channel_names) if keep else obj)
        elif schema not in ("olm.package", "olm.channel", "olm.bundle"):
            out.append(obj)
    return out


def _filter_deprecations(obj: dict, keep: dict[str, set[str]], channels: set[tuple]) -> dict:
    package = obj.get("package")
    known_channels = {name for pkg, name in channels if pkg == package}
    entries = []
    for entry in obj.get("entries") or []:
        reference = entry.get("reference") or {}
        if reference.get("schema") == "olm.bundle" and package in keep and reference.get("name") not in keep[package]:
            continue
        if reference.get("schema") == "olm.channel" and known_channels and reference.get("name") not in known_channels:
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
    empty entries skipped. As oc-mirror (catalog_handler.go getRelatedImagesFromCatalog): a bundle
    with an `oci://` image is left out and its error kept; no bundle left is `no related images
    found`; the errors, one per line, fail the catalog."""
    found: list[BundleImage] = []
    errors: list[str] = []
    handled = 0
    for bundle in objects:
        if bundle.get("schema") != "olm.bundle":
            continue
        own = str(bundle.get("image") or "")
        related = [str(r.get("image") or "") for r in bundle.get("relatedImages") or []]
        if own and own not in related:
            related.insert(0, own)
        oci = next((image for image in related if "oci://" in image), None)
        if oci is not None:
            errors.append(f"invalid image: {oci} 'oci' is not supported in operator catalogs")
            continue
        handled += 1
        for image in related:
            if image:
                kind = "operatorBundle" if image == own else "operatorRelatedImage"
                found.append(BundleImage(image, kind, str(bundle.get("name")), str(bundle.get("package")), own))
    if not handled:
        errors.append("no related images found")
    if errors:
        raise FBCError("\n".join(errors))
    return found
