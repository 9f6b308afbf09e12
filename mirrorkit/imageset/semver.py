"""Semantic versions (semver.org 2.0.0): the only version syntax oc-mirror accepts for min/max ranges."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*"
_SEMVER_RE = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>(?:{_PRE_ID})(?:\.(?:{_PRE_ID}))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@dataclass(frozen=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SemVer | None:
        """The version, or None when *text* is not strict semver (``1.36`` and ``v1.36.0`` are not)."""
        match = _SEMVER_RE.match(text)
        if not match:
            return None
        pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
        return cls(int(match.group("major")), int(match.group("minor")), int(match.group("patch")), pre)

    def _key(self) -> tuple[object, ...]:
        # A release sorts after its prereleases; numeric identifiers sort before alphanumeric ones.
        pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre_key)

    def __lt__(self, other: SemVer) -> bool:
        return self._key() < other._key()

    def __gt__(self, other: SemVer) -> bool:
        return self._key() > other._key()
