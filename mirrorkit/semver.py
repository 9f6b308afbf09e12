"""Semantic versions (semver.org 2.0.0), shared by the ImageSetConfiguration checks and npm.

ImageSetConfiguration ranges are checked strictly: oc-mirror itself parses them with Masterminds
semver's ``NewVersion``, which coerces ``1.36`` and ``v1.36.0``, but mirrorkit refuses those so a
range always names one exact bundle version. npm tolerates a leading ``v`` or ``=``:
:meth:`Version.parse` is strict unless ``loose=True``.
Ordering follows semver precedence: a release sorts after its prereleases, numeric identifiers sort
before alphanumeric ones, build metadata is ignored.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*"
_SEMVER_RE = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@functools.total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version; equality and order ignore build metadata, as semver says."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, *, loose: bool = False) -> Version:
        """Parse *text* or raise ValueError; *loose* accepts npm's leading ``v`` / ``=``."""
        candidate = text.strip().lstrip("=v") if loose else text
        match = _SEMVER_RE.match(candidate)
        if not match:
            raise ValueError(f"not a semantic version: {text!r}")
        pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
        return cls(int(match.group("major")), int(match.group("minor")), int(match.group("patch")), pre)

    @classmethod
    def try_parse(cls, text: str, *, loose: bool = False) -> Version | None:
        """The version, or None when *text* is not one."""
        try:
            return cls.parse(text, loose=loose)
        except ValueError:
            return None

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def sort_key(self) -> tuple[object, ...]:
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (*self.release, 0 if self.prerelease else 1, ids)

    def __lt__(self, other: Version) -> bool:
        return self.sort_key() < other.sort_key()

    def __str__(self) -> str:
        pre = "-" + ".".join(self.prerelease) if self.prerelease else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}"
