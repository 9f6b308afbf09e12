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

from mirrorkit.catalog.fbc import BundleDef, ChannelDef, RelatedImage, Where
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


@dataclass(frozen=True)
class Range:
    """`>=min <=max` (either bound optional), checked the way Masterminds semver checks it."""

    min: Version | None
    max: Version | None
    text: str

    @classmethod
    def of(cls, min_version: str | None, max_version: str | None) -> Range | None:
        if not min_version and not max_version:
            return None
        text = " ".join(p for p in (f">={min_version}" if min_version else "", f"<={max_version}" if max_version else "") if p)
        return cls(_version(min_version), _version(max_version), text)

    def contains(self, version: Version | None) -> bool:
        if version is None:
            return False
        if version.prerelease and not any(b is not None and b.prerelease for b in (self.min, self.max)):
            return False  # a prerelease only matches a range that names prereleases
        if self.min is not None and version < self.min:
            return False
        return not (self.max is not None and version > self.max)


def _version(text: str | None) -> Version | None:
    if not text:
        return None
    parsed = Version.try_parse(text, loose=True)
    if parsed is None:
        raise ConfigError(f"version {text!r} is not a semantic version", None, "write minVersion/maxVersion as MAJOR.MINOR.PATCH")
    return parsed


def closest(name: str, choices: Iterable[str], limit: int = 8) -> str:
    """`a, b, c` with the closest names to *name* first (difflib), then the rest alphabetically."""
    options = sorted(set(choices))
    near = difflib.get_close_matches(name, options, n=limit, cutoff=0.4)
    rest = [o for o in options if o not in near]
    shown = near + rest[: max(0, limit - len(near))]
    more = len(options) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else "none"


# -- the upgrade graph ------------------------------------------------------------------------------


def channel_head(channel: ChannelDef) -> str:
    """The entry no other entry replaces or skips; exactly one, or the channel is invalid."""
    names = [e.name for e in channel.entries]
    pointed = {e.replaces for e in channel.entries if e.replaces} | {s for e in channel.entries for s in e.skips}
    heads = [n for n in dict.fromkeys(names) if n not in pointed]
    if len(heads) != 1:
        why = f"multiple channel heads found: {sorted(heads)}" if heads else "no channel head found (a cycle)"
        raise ConfigError(
            f"package {channel.package!r} channel {channel.name!r} in the catalog is invalid",
            f"{why} ({channel.where})",
            "the catalog is broken for this channel; select another channel or report it to the catalog's owner",
        )
    return heads[0]


def range_entries(channel: ChannelDef, versions: dict[str, Version | None], wanted: Range) -> set[str]:
    """Entries a range keeps: a contiguous part of the replaces chain plus in-range skipped bundles."""
    by_name = {e.name: e for e in channel.entries}
    chain = []
    current: str | None = channel_head(channel)
    while current is not None and current in by_name and current not in chain:
        chain.append(current)
        current = by_name[current].replaces
    # counts[i]: in-range bundles reachable at or below chain[i], each counted once, lowest first
    seen: set[str] = set()
    counts = [0] * len(chain)
    below = 0
    for i in range(len(chain) - 1, -1, -1):
        for name in (chain[i], *by_name[chain[i]].skips):
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
        keep.update(s for s in by_name[name].skips if wanted.contains(versions.get(s)))
    return keep


# -- one operator entry -----------------------------------------------------------------------------


def select(operator: Operator, catalog: Catalog) -> Selection:
    """Apply *operator*'s filter to *catalog* (read with at least the packages it names)."""
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
        return _result(catalog, chosen, full_catalog=full, warnings=[])
    chosen = {}
    warnings: list[str] = []
    for config in packages:
        name = config.name or ""
        found = catalog.packages.get(name)
        if found is None:
            raise ConfigError(
                f"package {name!r} is not in catalog {catalog.ref}",
                f"packages there: {closest(name, catalog.package_names)}",
                "fix the package name in the ImageSetConfiguration",
            )
        chosen[name] = _select_package(config, found, full, catalog.ref, warnings)
    return _result(catalog, chosen, full_catalog=False, warnings=warnings)


def _select_package(config: Package, pkg: PackageFbc, full: bool, catalog: str, warnings: list[str]) -> dict[str, set[str]]:
    channels = {c.name: c for c in pkg.channels}
    listed = config.channels or ()
    for asked in listed:
        if asked.name not in channels:
            raise ConfigError(
                f"channel {asked.name!r} of package {pkg.name!r} is not in catalog {catalog}",
                f"its channels: {closest(asked.name or '', channels)}",
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
    kept_names = {c.name for c, _ in selected}
    if config.default_channel:
        if config.default_channel not in kept_names:
            raise ConfigError(
                f"invalid default channel configuration for package {pkg.name!r}",
                f"specified default channel override {config.default_channel!r} does not exist in the filtered output "
                f"(channels kept: {', '.join(sorted(kept_names))})",
                "set defaultChannel to one of the channels you select",
            )
    elif pkg.default_channel and pkg.default_channel not in kept_names:
        raise ConfigError(
            f"invalid default channel configuration for package {pkg.name!r}",
            f"the default channel {pkg.default_channel!r} was filtered out, a new default channel must be configured for this package",
            f"add defaultChannel: one of {', '.join(sorted(kept_names))} to the package, or select channel {pkg.default_channel!r} too",
        )
    versions = {b.name: Version.try_parse(b.version, loose=True) if b.version else None for b in pkg.bundles}
    result: dict[str, set[str]] = {}
    for channel, wanted in selected:
        if full and wanted is not None:
            raise ConfigError(
                f"package {pkg.name!r}: full: true cannot be mixed with a version range",
                f"channel {channel.name!r} has {wanted.text}",
                "remove full: true or the minVersion/maxVersion",
            )
        if full:
            result[channel.name] = {e.name for e in channel.entries}
        elif wanted is not None:
            keep = range_entries(channel, versions, wanted)
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
    kept = tuple((p, tuple(sorted(c for c in chs if c))) for p, chs in sorted(chosen.items()))
    return Selection(catalog, full_catalog, tuple(bundles), kept, tuple(warnings))


def _selected(bundle: BundleDef, channels: Sequence[str]) -> SelectedBundle:
    return SelectedBundle(
        bundle.package, bundle.name, bundle.version, bundle.image, bundle.related_images, tuple(sorted(channels)), bundle.where
    )
