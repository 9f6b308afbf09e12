"""The part of npm's semver that people write in package specs, resolved the way npm resolves it.

Supported (anything else is refused with a clear message, never guessed):

* exact versions: `1.8.0`, `=1.8.0`, `v1.8.0`, with prerelease/build (`1.8.0-rc.1+b5`);
* X-ranges: `*`, `x`, `1`, `1.x`, `1.8`, `1.8.x`;
* caret and tilde: `^1.8.0`, `^0.2.3`, `^0.0.3`, `^1.8`, `~1.8.0`, `~1.8`, `~1`;
* comparators `>=`, `>`, `<=`, `<`, `=` joined by spaces (all must hold), and alternatives joined
  by `||` (any may hold).

Not supported: hyphen ranges (`1.2 - 1.4`), `git+`/`file:`/`npm:` aliases and URLs.

As in npm, a prerelease version only satisfies a range if one of its comparators names a prerelease
of the same major.minor.patch, and when the `latest` dist-tag satisfies the range it wins over a
higher version (that is what `npm install` / `npm pack` pick).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mirrorkit.errors import InvalidReference, NpmError
from mirrorkit.semver import Version

_PARTIAL = re.compile(
    r"^v?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*]))?(?:\.(?P<patch>\d+|[xX*]))?(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_COMPARATOR = re.compile(r"^(?P<op><=|>=|<|>|=|\^|~>?|)(?P<ver>.+)$")


_FLOOR = ("0",)  # `<2.0.0-0`: below every prerelease of 2.0.0


@dataclass(frozen=True)
class Comparator:
    op: str  # one of >= > <= < =
    version: Version

    def test(self, v: Version) -> bool:
        k = self.version
        return {
            ">=": v >= k,
            ">": v > k,
            "<=": v <= k,
            "<": v < k,
            "=": v == k,
        }[self.op]


@dataclass(frozen=True)
class Range:
    """A parsed range: alternatives (`||`), each a set of comparators that must all hold."""

    text: str
    alternatives: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        alternatives = []
        for part in text.split("||"):
            tokens = _tokens(part)
            if "-" in tokens:
                _refuse(text, "hyphen ranges such as '1.2 - 1.4' are not supported")
            comparators: list[Comparator] = []
            for token in tokens or ["*"]:
                comparators.extend(_desugar(token, text))
            alternatives.append(tuple(comparators))
        return cls(text, tuple(alternatives))

    def satisfied_by(self, v: Version) -> bool:
        for comparators in self.alternatives:
            if not all(c.test(v) for c in comparators):
                continue
            if not v.prerelease:
                return True
            # npm: a prerelease only matches when a comparator names a prerelease of the same release
            if any(c.version.prerelease and c.version.release == v.release for c in comparators):
                return True
        return False


def _tokens(part: str) -> list[str]:
    # join operators separated from their version by spaces: ">= 1.2.3" -> ">=1.2.3"
    return re.sub(r"(<=|>=|<|>|=|\^|~)\s+", r"\1", part.strip()).split()


def _refuse(text: str, why: str) -> None:
    raise InvalidReference(
        f"unsupported npm version range {text!r}",
        why,
        "use an exact version, a dist-tag, ^, ~, x-ranges or comparators (>=, <) joined by spaces or ||",
    )


def _num(part: str | None) -> int | None:
    return None if part is None or part in ("x", "X", "*") else int(part)


def _desugar(token: str, text: str) -> list[Comparator]:
    match = _COMPARATOR.match(token)
    if not match:
        _refuse(text, f"cannot read {token!r}")
    assert match is not None
    op, ver = match.group("op"), match.group("ver")
    partial = _PARTIAL.match(ver)
    if not partial:
        _refuse(text, f"{ver!r} is not a version")
    assert partial is not None
    major, minor, patch = _num(partial.group("major")), _num(partial.group("minor")), _num(partial.group("patch"))
    if (major is None and (minor is not None or patch is not None)) or (minor is None and patch is not None):
        _refuse(text, f"{ver!r} is not a valid x-range")
    pre = tuple(partial.group("pre").split(".")) if partial.group("pre") else ()
    full = major is not None and minor is not None and patch is not None

    def v(a: int, b: int, c: int, p: tuple[str, ...] = ()) -> Version:
        return Version(a, b, c, p)

    if op == "~>":
        op = "~"
    if major is None:  # *, x
        return [] if op in ("", "=", ">=", "<=", "^", "~") else [Comparator("<", v(0, 0, 0, _FLOOR))]
    lo = v(major, minor or 0, patch or 0, pre if full else ())
    if op == "^":
        if minor is None or major > 0:
            hi = v(major + 1, 0, 0, _FLOOR)
        elif patch is None or minor > 0:
            hi = v(0, minor + 1, 0, _FLOOR)
        else:
            hi = v(0, 0, patch + 1, _FLOOR)
        return [Comparator(">=", lo), Comparator("<", hi)]
    if op == "~":
        hi = v(major + 1, 0, 0, _FLOOR) if minor is None else v(major, minor + 1, 0, _FLOOR)
        return [Comparator(">=", lo), Comparator("<", hi)]
    if op in ("", "="):
        if full:
            return [Comparator("=", lo)]
        hi = v(major + 1, 0, 0, _FLOOR) if minor is None else v(major, minor + 1, 0, _FLOOR)
        return [Comparator(">=", lo), Comparator("<", hi)]
    if full:
        return [Comparator(op, lo)]
    # partial version with an operator: >1.2 means >=1.3.0, <=1.2 means <1.3.0-0
    nxt = v(major + 1, 0, 0, _FLOOR) if minor is None else v(major, minor + 1, 0, _FLOOR)
    return {
        ">=": [Comparator(">=", lo)],
        ">": [Comparator(">=", nxt)],
        "<": [Comparator("<", v(lo.major, lo.minor, lo.patch, _FLOOR))],
        "<=": [Comparator("<", nxt)],
    }[op]


def resolve_version(name: str, wanted: str, versions: Iterable[str], dist_tags: Mapping[str, str]) -> str:
    """Pick the exact version npm would pick for *wanted* (a tag, exact version or range).

    Raises :class:`NpmError` when nothing matches, listing what the registry has.
    """
    available = {text: parsed for text in versions if (parsed := Version.try_parse(text, loose=True)) is not None}
    if wanted in dist_tags:
        tagged = dist_tags[wanted]
        if tagged in available:
            return tagged
        raise NpmError(f"{name}@{wanted}", f"the dist-tag points at {tagged}, which the registry does not list")
    exact = Version.try_parse(wanted, loose=True)
    if exact is not None:
        for text, parsed in available.items():
            if parsed == exact:
                return text
        raise NpmError(
            f"{name}@{wanted}", f"version not found; the registry has {_summary(available)}", "pick one of those versions"
        )
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", wanted) and not re.fullmatch(r"[xX]", wanted):
        raise NpmError(
            f"{name}@{wanted}",
            f"no dist-tag {wanted!r}; the registry has tags {', '.join(sorted(dist_tags)) or '(none)'}",
            "use one of those tags or an exact version",
        )
    rng = Range.parse(wanted)
    latest = dist_tags.get("latest")
    if latest in available and rng.satisfied_by(available[latest]):
        return latest
    matching = [(parsed, text) for text, parsed in available.items() if rng.satisfied_by(parsed)]
    if not matching:
        raise NpmError(
            f"{name}@{wanted}",
            f"no version satisfies the range; the registry has {_summary(available)}",
            "widen the range or pick an exact version",
        )
    return max(matching)[1]


def _summary(available: Mapping[str, Version], limit: int = 8) -> str:
    if not available:
        return "no versions"
    ordered = [text for _, text in sorted((v, t) for t, v in available.items())]
    shown = ordered[-limit:]
    return ("..., " if len(ordered) > limit else "") + ", ".join(shown)


def checked_version(name: str, text: str) -> str:
    """*text*, a version key a registry listed, when npm would take it as it is (`semver.valid` in
    loose mode) and it is safe in a file name; else NpmError.

    `semver.valid` trims whitespace before it matches, and Python's `$` matches before a final
    newline, so "1.0.0\\n" would pass both and end up in `NAME-1.0.0\\n.tgz`: the text must be its own
    trimmed form, and no path separator or control character may reach a file name."""
    clean = text == text.strip() and not any(c in text for c in "/\\") and text.isprintable()
    if clean and Version.try_parse(text, loose=True) is not None:
        return text
    raise NpmError(
        f"{name}: the registry lists version {text!r}",
        "which is not a valid npm version (semver, loose mode, no whitespace or path separators)",
        "the registry is broken or hostile; pin another version or fix the package on the registry",
    )
