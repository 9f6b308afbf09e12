"""Which bundles of a catalog an ImageSetConfiguration operator entry selects: oc-mirror's rules.

The rules (`shared/reference/oc-mirror-v2.md`, "How oc-mirror mirrors operators"), re-derived here
from the upgrade graph rather than by running oc-mirror's filter:

* no packages: `full: true` keeps the whole catalog; otherwise the head of every channel of every package;
* listed packages only; listed channels only, else every channel of the package;
* a range (channel min/max, else package min/max; either bound optional) keeps the `replaces` chain
  from the lowest bundle that still reaches every in-range bundle down to the last one that has any,
  plus in-range bundles those skip; out-of-range bundles on that chain stay (the channel must stay valid);
* no range and `full: false`: only the channel head (the entry nothing else replaces or skips);
* `full: true` with packages: every entry of the selected channels; `full` with a range is an error;
* the catalog's default channel must survive the channel selection unless `defaultChannel` names one
  that does; a range that empties the catalog's default channel is an error, other emptied channels
  are dropped. Dependencies (`olm.package.required`) are not followed, as oc-mirror does not.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mirrorkit.catalog.fbc import BundleDef, ChannelDef, ChannelEntry, RelatedImage, Where
from mirrorkit.catalog.reader import Catalog, PackageFbc
from mirrorkit.errors import ConfigError
from mirrorkit.imageset.model import Operator, Package
from mirrorkit.semver import Version


@dataclass(frozen=True)
class SelectedBundle:
    """A bundle oc-mirror will mirror, and the channels that selected it."""

    package: str
    name: str
    version: str | None
    image: str
    related_images: tuple[RelatedImage, ...]
    channels: tuple[str, ...]
    where: Where


@dataclass(frozen=True)
class Selection:
    """The outcome for one operator entry: `full_catalog` when the catalog is mirrored unfiltered."""

    catalog: Catalog
    full_catalog: bool
    bundles: tuple[SelectedBundle, ...]
    channels: tuple[tuple[str, tuple[str, ...]], ...]  # (package, kept channels)
    warnings: tuple[str, ...] = ()


_OPS = (">=", "<=", "=>", "=<", ">", "<", "=")


@dataclass(frozen=True)
class Bound:
    """One constraint of a range (`>=1.2.0`); *partial* when minor or patch was left out, which
    Masterminds semver reads as a wildcard for `<=` and `>` (`<=1.2` keeps 1.2.9)."""

    op: str
    version: Version
    partial_minor: bool
    partial_patch: bool

    def check(self, v: Version) -> bool:
        c = _cmp(v, self.version)
        if self.op == ">=":
            return c >= 0
        if self.op == "<":
            return c < 0
        if self.op == "=":
            return c == 0
        if self.op == "<=":
            if not (self.partial_minor or self.partial_patch):
                return c <= 0
            major, minor = v.release[0], v.release[1]
            return not (
                major > self.version.release[0]
                or (major == self.version.release[0] and minor > self.version.release[1] and not self.partial_minor)
            )
        # ">"
        if not (self.partial_minor or self.partial_patch):
            return c > 0
        if v.release[0] != self.version.release[0]:
            return v.release[0] > self.version.release[0]
        return not self.partial_minor and v.release[1] > self.version.release[1]


def _cmp(a: Version, b: Version) -> int:
    return -1 if a < b else (1 if b < a else 0)


@dataclass(frozen=True)
class Range:
    """A version range as catalog-filter checks it (Masterminds semver, space-separated ANDs).

    oc-mirror writes minVersion/maxVersion as `>=min <=max`. A prerelease version matches only when
    some bound of the range names a prerelease (Masterminds v3.5 decides per AND group)."""

    bounds: tuple[Bound, ...]
    text: str

    @classmethod
    def of(cls, min_version: str | None, max_version: str | None) -> Range | None:
        if not min_version and not max_version:
            return None
        text = f">={min_version}" if min_version else ""
        if max_version:
            text += f" <={max_version}"
        return cls.parse(text.strip())

    @classmethod
    def parse(cls, text: str) -> Range:
        bounds = tuple(_bound(part, text) for part in _split(text))
        if not bounds:
            raise _bad_range(text, "it is empty")
        return cls(bounds, text)

    @property
    def exact(self) -> str | None:
        """The version when the range is `>=X <=X` (catalog-filter then takes just that bundle)."""
        parts = self.text.split()
        if len(parts) == 2 and parts[0].startswith(">=") and parts[1].startswith("<=") and parts[0][2:] == parts[1][2:]:
            return parts[0][2:]
        return None

    def contains(self, version: Version | None) -> bool:
        if version is None:
            return False
        if version.prerelease and not any(b.version.prerelease for b in self.bounds):
            return False  # a prerelease only matches a range that names prereleases
        return all(b.check(version) for b in self.bounds)


def _split(text: str) -> list[str]:
    """`>= 1.0, <2` -> [">=1.0", "<2"]: an operator may be followed by spaces; commas also separate."""
    tokens = text.replace(",", " ").split()
    parts: list[str] = []
    for token in tokens:
        if parts and parts[-1] in _OPS:
            parts[-1] += token
        else:
            parts.append(token)
    return parts


def _bound(part: str, text: str) -> Bound:
    op = next((o for o in _OPS if part.startswith(o)), "=")
    body = part[len(op) :] if part.startswith(op) else part
    op = {"=>": ">=", "=<": "<="}.get(op, op)
    core = body.lstrip("vV").split("-", 1)[0].split("+", 1)[0]
    numbers = core.split(".")
    parsed = mm_version(body)
    if parsed is None:
        raise _bad_range(text, f"improper constraint: {part}")
    return Bound(op, parsed, len(numbers) < 2, len(numbers) < 3)


def _bad_range(text: str, why: str) -> ConfigError:
    return ConfigError(
        f"error parsing version range {text!r}",
        why,
        "write minVersion/maxVersion as MAJOR.MINOR.PATCH (a prerelease may follow: 1.2.3-rc.1)",
    )


def mm_version(text: str | None) -> Version | None:
    """*text* read as Masterminds semver's NewVersion reads it: a leading `v`, and a missing minor or
    patch (`1.2` is 1.2.0), are accepted; None when it is not a version."""
    if not text:
        return None
    body = text.strip()
    body = body[1:] if body[:1] in "vV" else body
    cut = min((i for i in (body.find("-"), body.find("+")) if i >= 0), default=len(body))
    core, rest = body[:cut], body[cut:]
    numbers = core.split(".")
    if not 1 <= len(numbers) <= 3:
        return None
    return Version.try_parse(".".join(numbers + ["0"] * (3 - len(numbers))) + rest)


def closest(name: str, choices: Iterable[str], limit: int = 8) -> str:
    """`a, b, c` with the closest names to *name* first (difflib), then the rest alphabetically."""
    options = sorted(set(choices))
    near = difflib.get_close_matches(name, options, n=limit, cutoff=0.4)
    rest = [o for o in options if o not in near]
    shown = near + rest[: max(0, limit - len(near))]
    more = len(options) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "none"


# -- the upgrade graph ------------------------------------------------------------------------------


def graph_errors(channel: ChannelDef) -> tuple[list[str], str | None]:
    """catalog-filter's checks of a channel's upgrade graph: the problems found and the head.

    A channel is valid when it has entries, no entry is listed twice, none replaces or skips itself,
    exactly one entry is neither replaced nor skipped (the head), and every edge is reached from the
    head without a cycle. Edges to names that are not entries of the channel are allowed (a channel
    may start above older bundles); such names take part in the walk like any other node.
    """
    if not channel.entries:
        return ["channel has no entries"], None
    errors: list[str] = []
    edges: dict[str, list[str]] = {}
    incoming: dict[str, set[str]] = {}
    for entry in channel.entries:
        if entry.name in edges:
            errors.append(f'duplicate channel entry "{entry.name}"')
            continue
        targets = []
        if entry.replaces:
            if entry.replaces == entry.name:
                errors.append(f'invalid channel entry "{entry.name}": replaces itself')
            targets.append(entry.replaces)
        for skipped in entry.skips:
            if skipped == entry.name:
                errors.append(f'invalid channel entry "{entry.name}": skips itself')
            targets.append(skipped)
        edges[entry.name] = targets
        for target in targets:
            incoming.setdefault(target, set()).add(entry.name)
    heads = [e.name for e in channel.entries if not incoming.get(e.name)]  # a listed-twice head counts twice
    if not heads:
        errors.append("no channel heads found")
    elif len(heads) > 1:
        errors.append(f"multiple channel heads found: [{' '.join(sorted(heads))}]")
    if errors:
        return errors, None
    head = heads[0]
    queue = [head]
    while queue:
        current = queue.pop(0)
        for target in dict.fromkeys(edges.get(current, ())):
            waiting = incoming.get(target)
            if waiting is None:
                continue
            waiting.discard(current)
            if not waiting:
                del incoming[target]
                queue.append(target)
    if incoming:
        return ["detected a cycle in the upgrade graph of the channel"], None
    return [], head


def channel_head(channel: ChannelDef) -> str:
    """The entry no other entry replaces or skips, once the channel's graph is known to be valid.

    oc-mirror (catalog-filter) refuses a broken graph for head and range selection, so does mirrorkit:
    the channel cannot be filtered, and the catalog fails."""
    errors, head = graph_errors(channel)
    if head is None:
        raise ConfigError(
            f"package {channel.package!r} channel {channel.name!r} in the catalog is invalid",
            f"{'; '.join(errors)} ({channel.where})",
            "the catalog's upgrade graph is broken for this channel (oc-mirror fails this catalog too); "
            "select another channel or report it to the catalog's owner",
        )
    return head


def range_entries(channel: ChannelDef, versions: dict[str, Version | None], wanted: Range) -> set[str]:
    """Names a range keeps: a contiguous part of the replaces chain plus in-range skipped bundles.

    The chain runs from the head through `replaces`, also through names that are not entries of this
    channel (their bundle, when the package has one in range, is kept: catalog-filter does so)."""
    by_name: dict[str, ChannelEntry] = {}
    for e in channel.entries:
        by_name.setdefault(e.name, e)
    chain: list[str] = []
    current: str | None = channel_head(channel)
    while current is not None and current not in chain:
        chain.append(current)
        found = by_name.get(current)
        current = found.replaces if found else None

    def skips(name: str) -> tuple[str, ...]:
        found = by_name.get(name)
        return found.skips if found else ()

    # counts[i]: in-range bundles reachable at or below chain[i], each counted once, lowest first
    seen: set[str] = set()
    counts = [0] * len(chain)
    below = 0
    for i in range(len(chain) - 1, -1, -1):
        for name in (chain[i], *skips(chain[i])):
            if name not in seen and wanted.contains(versions.get(name)):
                seen.add(name)
                below += 1
        counts[i] = below
    if not chain or counts[0] == 0:
        return set()
    head = max(i for i in range(len(chain)) if counts[i] == counts[0])
    tail = next((i for i in range(len(chain)) if counts[i] == 0), len(chain))
    keep = set(chain[head:tail])
    for name in chain[head:tail]:
        keep.update(s for s in skips(name) if wanted.contains(versions.get(s)))
    return keep


def exact_bundle(package: str, text: str, versions: dict[str, Version | None]) -> str:
    """The bundle whose version is *text* (`minVersion` == `maxVersion`): catalog-filter keeps just it,
    from any channel of the package, and fails when there is none."""
    wanted = mm_version(text)
    if wanted is None:
        raise _bad_range(f">={text} <={text}", f"error parsing specific version: {text}")
    found = sorted(name for name, v in versions.items() if v is not None and _cmp(v, wanted) == 0)
    if not found:
        raise ConfigError(
            f"package {package!r}: error finding specific bundle: specific version {text} not found in bundles",
            "minVersion equals maxVersion, so oc-mirror looks for a bundle of exactly that version",
            "check the version against the package's bundles (oc-mirror fails this catalog too)",
        )
    return found[0]


# -- one operator entry -----------------------------------------------------------------------------


def select(operator: Operator, catalog: Catalog) -> Selection:
    """Apply *operator*'s filter to *catalog* (read with at least the packages it names).

    Fails as oc-mirror fails the catalog: a broken upgrade graph in a channel it must walk, a
    selection that leaves no bundle ("no related images found"), a selected bundle whose related
    image has neither tag nor digest."""
    full = bool(operator.full)
    packages = operator.packages or ()
    if not packages:
        chosen: dict[str, dict[str, set[str]]] = {}
        for pkg in catalog.packages.values():
            for channel in pkg.channels:
                names = {e.name for e in channel.entries} if full else {channel_head(channel)}
                chosen.setdefault(pkg.name, {})[channel.name] = names
        if full:  # unfiltered: every bundle, in a channel or not
            for pkg in catalog.packages.values():
                chosen.setdefault(pkg.name, {}).setdefault("", set()).update(b.name for b in pkg.bundles)
        return _checked(_result(catalog, chosen, full_catalog=full, warnings=[]))
    chosen = {}
    warnings: list[str] = []
    for index, config in enumerate(packages):
        name = config.name or ""
        found = catalog.packages.get(name)
        if found is None:
            raise ConfigError(
                f"package {name!r} is not in catalog {catalog.ref}",
                f"packages there: {closest(name, catalog.package_names)} "
                "(oc-mirror only logs a warning and mirrors nothing for it; mirrorkit stops, deliberately)",
                "fix the package name in the ImageSetConfiguration",
            )
        chosen[name] = _select_package(config, index, found, full, catalog.ref, warnings)
    return _checked(_result(catalog, chosen, full_catalog=False, warnings=warnings))


def _exclusive_ranges(config: Package, index: int) -> None:
    """oc-mirror's filter configuration refuses a package range together with a channel range."""
    if not (config.min_version or config.max_version):
        return
    for j, channel in enumerate(config.channels or ()):
        if channel.min_version or channel.max_version:
            raise ConfigError(
                f"failed to validate catalog filter: package {config.name!r} at index [{index}] is invalid",
                f"package specifies a VersionRange, while channel {channel.name!r} at index [{j}] equally specifies one: "
                "package.VersionRange and channel.VersionRange are exclusive",
                "put minVersion/maxVersion either on the package or on its channels, not both",
            )


def _select_package(
    config: Package, index: int, pkg: PackageFbc, full: bool, catalog: str, warnings: list[str]
) -> dict[str, set[str]]:
    _exclusive_ranges(config, index)
    channels = {c.name: c for c in pkg.channels}
    listed = config.channels or ()
    for asked in listed:
        if asked.name not in channels:
            raise ConfigError(
                f"channel {asked.name!r} of package {pkg.name!r} is not in catalog {catalog}",
                f"its channels: {closest(asked.name or '', channels)} "
                "(oc-mirror would silently select nothing from it; mirrorkit stops, deliberately)",
                "fix the channel name in the ImageSetConfiguration",
            )
    selected = (
        [
            (channels[c.name or ""], Range.of(c.min_version, c.max_version) or Range.of(config.min_version, config.max_version))
            for c in listed
        ]
        if listed
        else [(c, Range.of(config.min_version, config.max_version)) for c in pkg.channels]
    )
    _check_default_channel(config, pkg, {c.name for c, _ in selected})
    versions = {b.name: mm_version(b.version) for b in pkg.bundles}
    result: dict[str, set[str]] = {}
    for channel, wanted in selected:
        if full and wanted is not None:
            raise ConfigError(
                f"package {pkg.name!r}: Full: true cannot be mixed with versionRange",
                f"channel {channel.name!r} has {wanted.text}",
                "remove full: true or the minVersion/maxVersion",
            )
        if full:
            result[channel.name] = {e.name for e in channel.entries}
        elif wanted is not None:
            exact = wanted.exact
            keep = {exact_bundle(pkg.name, exact, versions)} if exact else range_entries(channel, versions, wanted)
            if not keep:
                if channel.name == pkg.default_channel:
                    raise ConfigError(
                        f"package {pkg.name!r} channel {channel.name!r} has version range {wanted.text!r} that results in an empty channel",
                        "it is the package's default channel",
                        "widen the range, or select other channels and set defaultChannel",
                    )
                warnings.append(f"package {pkg.name}: channel {channel.name} has no bundle in {wanted.text}; dropped")
                continue
            result[channel.name] = keep
        else:
            result[channel.name] = {channel_head(channel)}
    return result


def _check_default_channel(config: Package, pkg: PackageFbc, kept_names: set[str]) -> None:
    """The package's default channel must survive the channel selection, or be replaced by one that does."""
    if config.default_channel:
        if config.default_channel not in kept_names:
            raise ConfigError(
                f"invalid default channel configuration for package {pkg.name!r}",
                f'specified default channel override "{config.default_channel}" does not exist in the filtered output '
                f"(channels kept: {', '.join(sorted(kept_names))})",
                "set defaultChannel to one of the channels you select",
            )
    elif pkg.default_channel and pkg.default_channel not in kept_names:
        raise ConfigError(
            f"invalid default channel configuration for package {pkg.name!r}",
            f'the default channel "{pkg.default_channel}" was filtered out, a new default channel must be configured for this package',
            f"add defaultChannel: one of {', '.join(sorted(kept_names))} to the package, or select channel {pkg.default_channel!r} too",
        )


def _checked(selection: Selection) -> Selection:
    """oc-mirror's collection of the filtered catalog: no bundle at all, or a related image it cannot
    parse (no tag, no digest), fails the catalog (exit bit 4) instead of mirroring part of it."""
    if not selection.bundles:
        raise ConfigError(
            f"catalog {selection.catalog.ref}: no related images found",
            "the selection leaves no bundle (oc-mirror fails this catalog: exit code bit 4)",
            "check the packages, channels and versions against the catalog (`opm render <catalog>` lists them)",
        )
    bad = [
        f"{r.image or '(empty)'} (bundle {b.name})"
        for b in selection.bundles
        for r in b.related_images
        if not has_tag_or_digest(r.image)
    ]
    if bad:
        raise ConfigError(
            f"catalog {selection.catalog.ref}: a selected bundle has a related image without tag or digest",
            f"{', '.join(bad[:5])}{' and more' if len(bad) > 5 else ''}; oc-mirror skips such a bundle and fails "
            "this catalog (exit code bit 4)",
            "select other bundles (a version range or channel without them) or have the catalog fixed",
        )
    return selection


def has_tag_or_digest(ref: str) -> bool:
    """True when *ref* names a tag or a digest (`repo:tag`, `repo@sha256:...`)."""
    last = ref.rsplit("/", 1)[-1]
    return ":" in last or "@" in last


def _result(catalog: Catalog, chosen: dict[str, dict[str, set[str]]], *, full_catalog: bool, warnings: list[str]) -> Selection:
    bundles: list[SelectedBundle] = []
    for package, channels in sorted(chosen.items()):
        pkg = catalog.packages[package]
        by_bundle: dict[str, list[str]] = {}
        for channel, names in channels.items():
            for name in names:
                by_bundle.setdefault(name, [])
                if channel:
                    by_bundle[name].append(channel)
        for name in sorted(by_bundle):
            bundle = pkg.bundle(name)
            if bundle is None:
                warnings.append(f"package {package}: channel entry {name} has no olm.bundle in the catalog; skipped")
                continue
            bundles.append(_selected(bundle, by_bundle[name]))
        warnings.extend(deprecation_warnings(pkg, {c for c in channels if c}, set(by_bundle)))
    kept = tuple((p, tuple(sorted(c for c in chs if c))) for p, chs in sorted(chosen.items()))
    return Selection(catalog, full_catalog, tuple(bundles), kept, tuple(warnings))


def deprecation_warnings(pkg: PackageFbc, channels: set[str], bundles: set[str]) -> list[str]:
    """One warning per deprecated thing the selection keeps: the package, a kept channel, a kept
    bundle (`olm.deprecations`). oc-mirror carries the deprecations along silently; a cluster then
    shows them, so mirrorkit says so before anything is mirrored."""
    found = []
    for entry in pkg.deprecations:
        if entry.schema == "olm.package":
            what = f"package {pkg.name}"
        elif entry.schema == "olm.channel" and entry.name in channels:
            what = f"channel {entry.name} of package {pkg.name}"
        elif entry.schema == "olm.bundle" and entry.name in bundles:
            what = f"bundle {entry.name} of package {pkg.name}"
        else:
            continue
        found.append(f"deprecated: {what} is selected ({entry.message or 'no message'}); consider another channel or version")
    return found


def _selected(bundle: BundleDef, channels: Sequence[str]) -> SelectedBundle:
    return SelectedBundle(
        bundle.package, bundle.name, bundle.version, bundle.image, bundle.related_images, tuple(sorted(channels)), bundle.where
    )
