"""The one semantic-version type both oc-mirror ranges (strict) and npm specs (loose) use."""

from __future__ import annotations

import pytest

from mirrorkit.semver import Version


@pytest.mark.parametrize("text", ["1.36", "v1.36.0", "01.2.3", "1.2.3-01", "1.2", "", "1.2.3-"])
def test_strict_refuses(text):
    assert Version.try_parse(text) is None


def test_loose_accepts_npm_prefixes():
    assert Version.parse("v1.8.0", loose=True) == Version(1, 8, 0)
    assert Version.parse("=1.8.0", loose=True) == Version(1, 8, 0)
    with pytest.raises(ValueError):
        Version.parse("v1.8.0")


def test_precedence_follows_semver():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
        "2.0.0",
    ]
    parsed = [Version.parse(v) for v in ordered]
    assert sorted(reversed(parsed)) == parsed
    assert Version.parse("1.0.0+build.5") == Version.parse("1.0.0")
    assert str(Version.parse("1.2.3-rc.1+b7")) == "1.2.3-rc.1"
