"""oc-mirror's operator selection rules on in-memory catalogs (no registry needed)."""

from __future__ import annotations

import pytest

from mirrorkit.catalog.fbc import BundleDef, ChannelDef, ChannelEntry, RelatedImage, Where
from mirrorkit.catalog.reader import Catalog, PackageFbc
from mirrorkit.catalog.select import Range, channel_head, select
from mirrorkit.errors import ConfigError
from mirrorkit.imageset.model import Channel, Operator, Package

W = Where("configs/x/catalog.json", 1)


def bundle(pkg: str, version: str) -> BundleDef:
    image = f"example.com/{pkg}/bundle:v{version}"
    return BundleDef(
        f"{pkg}.v{version}",
        pkg,
        image,
        version,
        (RelatedImage("", image), RelatedImage("op", f"example.com/{pkg}/op:{version}")),
        W,
    )


def entry(pkg: str, version: str, replaces: str | None = None, skips: tuple[str, ...] = ()) -> ChannelEntry:
    return ChannelEntry(f"{pkg}.v{version}", f"{pkg}.v{replaces}" if replaces else None, tuple(f"{pkg}.v{s}" for s in skips))


def catalog() -> Catalog:
    # rhdh: fast 1.7.0 -> 1.7.1 -> 1.8.0 -> 1.8.1 (written out of order), fast-1.7: 1.7.1 skips 1.7.0
    rhdh = PackageFbc(
        "rhdh",
        "fast",
        (
            ChannelDef(
                "fast",
                "rhdh",
                (
                    entry("rhdh", "1.7.0"),
                    entry("rhdh", "1.8.1", "1.8.0"),
                    entry("rhdh", "1.7.1", "1.7.0"),
                    entry("rhdh", "1.8.0", "1.7.1"),
                ),
                W,
            ),
            ChannelDef("fast-1.7", "rhdh", (entry("rhdh", "1.7.1", skips=("1.7.0",)), entry("rhdh", "1.7.0")), W),
            ChannelDef("fast-1.8", "rhdh", (entry("rhdh", "1.8.1", "1.8.0"), entry("rhdh", "1.8.0")), W),
        ),
        tuple(bundle("rhdh", v) for v in ("1.7.0", "1.7.1", "1.8.0", "1.8.1")),
    )
    logic = PackageFbc(
        "logic",
        "alpha",
        (ChannelDef("alpha", "logic", (entry("logic", "1.36.0", "1.35.0"), entry("logic", "1.35.0")), W),),
        tuple(bundle("logic", v) for v in ("1.35.0", "1.36.0")),
    )
    return Catalog(
        "example.com/index:v4.19", "sha256:" + "a" * 64, "configs", ("logic", "rhdh", "rhdh-lite"), {"rhdh": rhdh, "logic": logic}
    )


def versions(selection, package: str | None = None) -> set[str]:
    return {b.version for b in selection.bundles if package is None or b.package == package}


def op(*packages: Package, full: bool | None = None) -> Operator:
    return Operator(catalog="example.com/index:v4.19", full=full, packages=packages or None)


def test_head_only_per_channel_follows_the_graph_not_file_order() -> None:
    sel = select(op(Package(name="rhdh")), catalog())
    # heads: fast 1.8.1, fast-1.7 1.7.1, fast-1.8 1.8.1
    assert versions(sel) == {"1.8.1", "1.7.1"}
    by_name = {b.version: b.channels for b in sel.bundles}
    assert by_name["1.8.1"] == ("fast", "fast-1.8")
    assert dict(sel.channels)["rhdh"] == ("fast", "fast-1.7", "fast-1.8")
    assert not sel.full_catalog


def test_listed_channels_only() -> None:
    sel = select(op(Package(name="rhdh", channels=(Channel(name="fast"),))), catalog())
    assert versions(sel) == {"1.8.1"} and dict(sel.channels)["rhdh"] == ("fast",)


def test_unlisted_packages_are_not_selected_and_dependencies_not_followed() -> None:
    sel = select(op(Package(name="logic")), catalog())
    assert {b.package for b in sel.bundles} == {"logic"} and versions(sel) == {"1.36.0"}


def test_channel_range_keeps_the_chain_inside_it() -> None:
    sel = select(op(Package(name="rhdh", channels=(Channel(name="fast", min_version="1.7.1", max_version="1.8.0"),))), catalog())
    assert versions(sel) == {"1.7.1", "1.8.0"}


def test_min_version_alone_goes_up_to_the_head() -> None:
    sel = select(op(Package(name="rhdh", channels=(Channel(name="fast", min_version="1.8.0"),))), catalog())
    assert versions(sel) == {"1.8.0", "1.8.1"}


def test_package_range_applies_to_every_channel_and_drops_emptied_ones() -> None:
    sel = select(op(Package(name="rhdh", min_version="1.8.0")), catalog())
    assert versions(sel) == {"1.8.0", "1.8.1"}
    assert dict(sel.channels)["rhdh"] == ("fast", "fast-1.8")  # fast-1.7 emptied: dropped
    assert any("fast-1.7" in w and "dropped" in w for w in sel.warnings)


def test_package_range_and_channel_range_are_exclusive() -> None:
    # oc-mirror's answer (catalog_handler_test.go, "packages with MinVersion MaxVersion with channels"):
    # a package range together with a channel range fails the catalog filter's validation
    config = Package(
        name="rhdh", min_version="1.8.1", channels=(Channel(name="fast", max_version="1.7.1"), Channel(name="fast-1.8"))
    )
    with pytest.raises(ConfigError, match=r"package\.VersionRange and channel\.VersionRange are exclusive"):
        select(op(config), catalog())


def test_package_range_applies_to_channels_without_their_own() -> None:
    sel = select(
        op(Package(name="rhdh", min_version="1.8.1", channels=(Channel(name="fast"), Channel(name="fast-1.8")))), catalog()
    )
    assert versions(sel) == {"1.8.1"}


def test_range_keeps_in_range_skipped_bundles() -> None:
    sel = select(
        op(Package(name="rhdh", default_channel="fast-1.7", channels=(Channel(name="fast-1.7", min_version="1.7.0"),))), catalog()
    )
    assert versions(sel) == {"1.7.0", "1.7.1"}


def test_range_keeps_an_out_of_range_bundle_the_chain_needs() -> None:
    # 1.0.0 <- 2.0.0-rc (a prerelease never matches a plain range) <- 3.0.0; range 1.0.0..3.0.0 keeps all three
    pkg = PackageFbc(
        "p",
        "s",
        (ChannelDef("s", "p", (entry("p", "3.0.0", "2.0.0-rc"), entry("p", "2.0.0-rc", "1.0.0"), entry("p", "1.0.0")), W),),
        tuple(bundle("p", v) for v in ("1.0.0", "2.0.0-rc", "3.0.0")),
    )
    cat = Catalog("c:1", "sha256:" + "b" * 64, "configs", ("p",), {"p": pkg})
    sel = select(op(Package(name="p", min_version="1.0.0", max_version="3.0.0")), cat)
    assert versions(sel) == {"1.0.0", "2.0.0-rc", "3.0.0"}
    assert not Range.of("1.0.0", "3.0.0").contains(__import__("mirrorkit.semver").semver.Version.parse("2.0.0-rc"))


def test_full_with_packages_keeps_every_entry_of_selected_channels() -> None:
    sel = select(op(Package(name="rhdh", channels=(Channel(name="fast-1.8"),), default_channel="fast-1.8"), full=True), catalog())
    assert versions(sel) == {"1.8.0", "1.8.1"}


def test_full_with_a_range_is_an_error() -> None:
    with pytest.raises(ConfigError, match="Full: true cannot be mixed with versionRange"):
        select(op(Package(name="rhdh", min_version="1.8.0"), full=True), catalog())


def test_no_packages_heads_of_everything_or_the_whole_catalog() -> None:
    heads = select(op(), catalog())
    assert {(b.package, b.version) for b in heads.bundles} == {("rhdh", "1.8.1"), ("rhdh", "1.7.1"), ("logic", "1.36.0")}
    assert not heads.full_catalog
    full = select(op(full=True), catalog())
    assert full.full_catalog and len(full.bundles) == 6


def test_default_channel_filtered_out_needs_a_new_one() -> None:
    with pytest.raises(ConfigError) as exc:
        select(op(Package(name="rhdh", channels=(Channel(name="fast-1.8"),))), catalog())
    assert 'the default channel "fast" was filtered out, a new default channel must be configured for this package' in str(
        exc.value
    )
    assert exc.value.exit_code == 2
    sel = select(op(Package(name="rhdh", default_channel="fast-1.8", channels=(Channel(name="fast-1.8"),))), catalog())
    assert versions(sel) == {"1.8.1"}


def test_default_channel_override_must_survive() -> None:
    with pytest.raises(ConfigError, match=r'specified default channel override "fast-1.7" does not exist in the filtered output'):
        select(op(Package(name="rhdh", default_channel="fast-1.7", channels=(Channel(name="fast"),))), catalog())


def test_range_that_empties_the_default_channel_is_an_error() -> None:
    with pytest.raises(ConfigError, match="results in an empty channel"):
        select(op(Package(name="rhdh", min_version="2.0.0")), catalog())


def test_unknown_package_and_channel_name_what_exists_closest_first() -> None:
    with pytest.raises(ConfigError) as exc:
        select(op(Package(name="rhdhh")), catalog())
    assert "package 'rhdhh' is not in catalog example.com/index:v4.19: packages there: rhdh, rhdh-lite, logic" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        select(op(Package(name="rhdh", channels=(Channel(name="fast-18"),))), catalog())
    assert "channel 'fast-18' of package 'rhdh' is not in catalog" in str(exc.value)
    assert "its channels: fast-1.8, fast-1.7, fast" in str(exc.value)


def test_a_channel_with_two_heads_is_refused() -> None:
    bad = ChannelDef("s", "p", (entry("p", "1.0.0"), entry("p", "2.0.0")), W)
    with pytest.raises(ConfigError, match=r"multiple channel heads found: \[p.v1.0.0 p.v2.0.0\]"):
        channel_head(bad)
