"""npm's version ranges, resolved the way `npm install` resolves them (semver's loose mode).

mirrorkit must pick the same version npm would, or a mirrored plugin is not the one the user tested.
So this module follows npm's `semver` package (loose mode) and its resolver (`npm-pick-manifest`)
rule for rule, quirks included; tests/test_npm_semver_conformance.py holds thousands of answers the
real packages gave (tests/data/npm_semver/, made by scripts/gen_npm_semver_fixtures.js).

What npm does, and so what mirrorkit does:

* a spec is an exact version if it is a valid loose version (`1.8.0`, `=v1.8.0`, `1.8.0+b5`), else a
  range if it is a valid loose range, else a dist-tag (refused if it holds characters a tag cannot);
* an exact version is looked up under its clean form (`1.8.0+b5` -> key `1.8.0`: build metadata is
  dropped);
* ranges: x-ranges, `^`, `~`, comparators, hyphen ranges (`1.2 - 1.4`) and `||`. Loose mode drops a
  part it cannot read (`^1.2-beta.1 || 2.x` is `2.x`); a range with no readable part is invalid;
* a prerelease only satisfies a range when a comparator names a prerelease of the same
  major.minor.patch; `>1.2` means `>=1.3.0`, so `1.3.0-beta` is outside it;
* `*` takes the `latest` dist-tag even when that is a prerelease; any other range takes `latest` when
  it satisfies the range, else the highest satisfying version (the first listed among versions that
  differ only by build metadata).

Not followed: the resolver's preferences that need the version documents (deprecated versions,
`engines`, `--before`, staged and policy-restricted versions).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from mirrorkit.errors import InvalidReference, NpmError
from mirrorkit.semver import Version

MAX_LENGTH = 256  # npm refuses longer version strings
MAX_SAFE_INTEGER = 2**53 - 1  # and components above JavaScript's exact integers

# -- the grammar (npm's loose forms) ---------------------------------------------------------------
_D = "[0-9]"
_LDN = "[a-zA-Z0-9-]"
_PRE_ID = rf"(?:{_D}*[a-zA-Z-]{_LDN}*|{_D}+)"
_PRE = rf"(?:-?({_PRE_ID}(?:\.{_PRE_ID})*))"
_BUILD = rf"(?:\+({_LDN}+(?:\.{_LDN}+)*))"
_PLAIN = rf"[v=\s]*({_D}+)\.({_D}+)\.({_D}+){_PRE}?{_BUILD}?"
_XID = rf"{_D}+|x|X|\*"
_XPLAIN = rf"[v=\s]*({_XID})(?:\.({_XID})(?:\.({_XID})(?:{_PRE})?{_BUILD}?)?)?"
_BOUNDS = ((r"\s", 1), (_D, MAX_LENGTH), (_LDN, MAX_LENGTH - 6))


def _bounded(pattern: str) -> re.Pattern[str]:
    """Compile *pattern* with npm's repetition limits: npm matches at most 256 digits and 250
    identifier characters in a row (and one blank where it allows blanks), so a longer run simply
    does not match, exactly as it does not for npm."""
    for token, most in _BOUNDS:
        pattern = pattern.replace(f"{token}*", f"{token}{{0,{most}}}").replace(f"{token}+", f"{token}{{1,{most}}}")
    return re.compile(pattern)


_VERSION = _bounded(rf"^{_PLAIN}\Z")
_BUILD_ANY = re.compile(_BUILD)  # npm strips build metadata of any length from a range
_BUILD_ONE = _bounded(_BUILD)
_HYPHEN = _bounded(rf"^\s*({_XPLAIN})\s+-\s+({_XPLAIN})\s*\Z")
_OP_SPACE = _bounded(rf"(\s*)((?:<|>)?=?)\s*({_PLAIN}|{_XPLAIN})")
_TILDE_SPACE = _bounded(r"(\s*)(?:~>?)\s+")
_CARET_SPACE = _bounded(r"(\s*)\^\s+")
_TILDE = _bounded(rf"^(?:~>?){_XPLAIN}\Z")
_CARET = _bounded(rf"^\^{_XPLAIN}\Z")
_XRANGE = _bounded(rf"^((?:<|>)?=?)\s*{_XPLAIN}\Z")
_STAR = _bounded(r"(<|>)?=?\s*\*")
_GTE0 = _bounded(r"^\s*>=\s*0\.0\.0\s*\Z")
_COMPARATOR = _bounded(rf"^((?:<|>)?=?)\s*({_PLAIN})\Z|^\Z")
_TAG = re.compile(r"[A-Za-z0-9_.!~*'()-]+")  # what encodeURIComponent leaves alone: a possible dist-tag
_NULL_SET = "<0.0.0-0"


def parse_version(text: str) -> Version | None:
    """*text* as npm reads a version in loose mode (`v1.2.3`, `=1.2.3`, `1.2.3beta`, `01.2.3`), or None.

    Longer than 256 characters or a component above 2**53-1 is not a version for npm, so it is not
    one here either (this also keeps a thousand-digit number from reaching int())."""
    if len(text) > MAX_LENGTH:
        return None
    match = _VERSION.match(text.strip())
    if not match:
        return None
    numbers = [int(match.group(i)) for i in (1, 2, 3)]
    if any(n > MAX_SAFE_INTEGER for n in numbers):
        return None
    pre = tuple(_pre_id(p) for p in match.group(4).split(".")) if match.group(4) else ()
    return Version(numbers[0], numbers[1], numbers[2], pre)


def _pre_id(text: str) -> str:
    """npm stores a small numeric identifier as a number: `01` and `1` are the same identifier."""
    if text.isascii() and text.isdigit() and int(text) < MAX_SAFE_INTEGER:
        return str(int(text))
    return text


def clean_version(text: str) -> str | None:
    """The registry key npm looks an exact version up under (`=v1.2.3+b` -> `1.2.3`), or None."""
    parsed = parse_version(text)
    return None if parsed is None else str(parsed)


# -- desugaring, step by step as npm does it -------------------------------------------------------
def _is_x(part: str | None) -> bool:
    return not part or part in ("x", "X", "*")


def _succ(number: str) -> str:
    """`+n + 1` in JavaScript, as text: beyond 2**53 it is rounded, beyond 1e21 it is no longer
    digits (and beyond 1.8e308 it is `Infinity`), so such a bound stops being a valid comparator."""
    value = float(number) + 1
    if math.isinf(value):
        return "Infinity"
    return str(int(value)) if value < 1e21 else repr(value)


def _hyphen(match: re.Match[str]) -> str:
    """`1.2 - 1.4` -> `>=1.2.0 <1.5.0-0`; a full upper bound is inclusive."""
    start, f_major, f_minor, f_patch = match.group(1, 2, 3, 4)
    end, t_major, t_minor, t_patch, t_pre = match.group(7, 8, 9, 10, 11)
    if _is_x(f_major):
        low = ""
    elif _is_x(f_minor):
        low = f">={f_major}.0.0"
    elif _is_x(f_patch):
        low = f">={f_major}.{f_minor}.0"
    else:
        low = f">={start}"
    if _is_x(t_major):
        high = ""
    elif _is_x(t_minor):
        high = f"<{_succ(t_major)}.0.0-0"
    elif _is_x(t_patch):
        high = f"<{t_major}.{_succ(t_minor)}.0-0"
    elif t_pre:
        high = f"<={t_major}.{t_minor}.{t_patch}-{t_pre}"
    else:
        high = f"<={end}"
    return f"{low} {high}".strip()


def _tilde(match: re.Match[str]) -> str:
    """`~1.2.3` -> `>=1.2.3 <1.3.0-0`; `~1` -> `>=1.0.0 <2.0.0-0`."""
    major, minor, patch, pre = match.group(1, 2, 3, 4)
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0 <{_succ(major)}.0.0-0"
    if _is_x(patch):
        return f">={major}.{minor}.0 <{major}.{_succ(minor)}.0-0"
    low = f"{major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
    return f">={low} <{major}.{_succ(minor)}.0-0"


def _caret(match: re.Match[str]) -> str:
    """`^1.2.3` -> `>=1.2.3 <2.0.0-0`; below 1.0.0 the first non-zero part is the one that may not
    change (npm compares the text with "0", so `^00.1` counts as above 1.0.0)."""
    major, minor, patch, pre = match.group(1, 2, 3, 4)
    if _is_x(major):
        return ""
    if _is_x(minor):
        return f">={major}.0.0 <{_succ(major)}.0.0-0"
    if _is_x(patch):
        high = f"<{major}.{_succ(minor)}.0-0" if major == "0" else f"<{_succ(major)}.0.0-0"
        return f">={major}.{minor}.0 {high}"
    low = f">={major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
    if major != "0":
        return f"{low} <{_succ(major)}.0.0-0"
    if minor != "0":
        return f"{low} <{major}.{_succ(minor)}.0-0"
    return f"{low} <{major}.{minor}.{_succ(patch)}-0"


def _xrange(comp: str) -> str:
    """`1.x` -> `>=1.0.0 <2.0.0-0`, `>1.2` -> `>=1.3.0`, `<=1` -> `<2.0.0-0`, `>*` -> nothing at all."""
    comp = comp.strip()
    match = _XRANGE.match(comp)
    if not match:
        return comp
    op, major, minor, patch = match.group(1, 2, 3, 4)
    if (_is_x(major) and not _is_x(minor)) or (_is_x(minor) and patch and not _is_x(patch)):
        return comp
    x_major = _is_x(major)
    x_minor = x_major or _is_x(minor)
    any_x = x_minor or _is_x(patch)
    if op == "=" and any_x:
        op = ""
    if x_major:
        return _NULL_SET if op in (">", "<") else "*"
    if op and any_x:
        return _bounded_xrange(op, major, "0" if x_minor else minor, x_minor)
    if x_minor:
        return f">={major}.0.0 <{_succ(major)}.0.0-0"
    if any_x:
        return f">={major}.{minor}.0 <{major}.{_succ(minor)}.0-0"
    return match.group(0)


def _bounded_xrange(op: str, major: str, minor: str, x_minor: bool) -> str:
    """A comparator on a partial version: `>` and `<=` move to the next minor (or major)."""
    if op == ">":
        op = ">="
        major, minor = (_succ(major), "0") if x_minor else (major, _succ(minor))
    elif op == "<=":
        op = "<"
        major, minor = (_succ(major), minor) if x_minor else (major, _succ(minor))
    return f"{op}{major}.{minor}.0" + ("-0" if op == "<" else "")


def _each(comp: str, fix: Callable[[str], str], *, trim: bool = True) -> str:
    words = re.split(r"\s+", comp.strip() if trim else comp)
    return " ".join(fix(word) for word in words)


def _desugar(comp: str) -> str:
    """One space-separated word of a range, rewritten into plain comparators."""
    comp = _BUILD_ONE.sub("", comp, count=1)
    comp = _each(comp, lambda w: _CARET.sub(_caret, w, count=1))
    comp = _each(comp, lambda w: _TILDE.sub(_tilde, w, count=1))
    comp = _each(comp, _xrange, trim=False)
    return _STAR.sub("", comp.strip(), count=1)


# -- ranges ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparator:
    """`op version`; version None is npm's "any" comparator (from `*`, `x`, `>=0.0.0`, `^*`)."""

    op: str  # "" (equal), >=, >, <=, <
    version: Version | None

    @property
    def value(self) -> str:
        return "" if self.version is None else f"{self.op}{self.version}"

    def test(self, v: Version) -> bool:
        k = self.version
        if k is None:
            return True
        return {"": v == k, ">=": v >= k, ">": v > k, "<=": v <= k, "<": v < k}[self.op]


def _comparator(word: str) -> Comparator:
    match = _COMPARATOR.match(word)
    assert match is not None  # only words that matched reach here
    if not match.group(2):
        return Comparator("", None)
    version = parse_version(match.group(2))
    if version is None:
        raise ValueError(f"{match.group(2)!r} is out of npm's bounds")
    op = match.group(1)
    return Comparator("" if op == "=" else op, version)


def _part(part: str) -> tuple[Comparator, ...]:
    """One `||` alternative: what loose mode keeps of it (possibly nothing)."""
    part = _BUILD_ANY.sub("", part)
    part = _HYPHEN.sub(_hyphen, part, count=1)
    part = _OP_SPACE.sub(lambda m: m.group(1) + m.group(2) + m.group(3), part)
    part = _TILDE_SPACE.sub(lambda m: m.group(1) + "~", part)
    part = _CARET_SPACE.sub(lambda m: m.group(1) + "^", part)
    words = re.split(r"\s+", " ".join(_desugar(w) for w in part.split(" ")))
    words = [_GTE0.sub("", w.strip(), count=1) for w in words]
    kept: dict[str, Comparator] = {}
    for word in words:
        if not _COMPARATOR.match(word):
            continue  # loose mode: a word that is no comparator is dropped
        comp = _comparator(word)
        if comp.value == _NULL_SET:
            return (comp,)
        kept[comp.value] = comp
    if len(kept) > 1:
        kept.pop("", None)
    return tuple(kept.values())


def _alternatives(text: str) -> tuple[tuple[Comparator, ...], ...]:
    raw = re.sub(r"\s+", " ", text.strip())
    sets = [s for s in (_part(p.strip()) for p in raw.split("||")) if s]
    if not sets:
        raise ValueError("no part of it is a range")
    if len(sets) > 1:
        real = [s for s in sets if s[0].value != _NULL_SET]
        sets = real or sets[:1]
        sets = next(([s] for s in sets if len(s) == 1 and s[0].version is None), sets) if len(sets) > 1 else sets
    return tuple(sets)


@lru_cache(maxsize=4096)
def _parse_range(text: str) -> tuple[tuple[Comparator, ...], ...] | None:
    try:
        return _alternatives(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Range:
    """A parsed range: alternatives (`||`), each a set of comparators that must all hold."""

    text: str
    alternatives: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        """The range npm reads in *text* (loose mode), or InvalidReference when npm reads none."""
        alternatives = _parse_range(text)
        if alternatives is None:
            raise InvalidReference(
                f"invalid npm version range {text!r}",
                "npm reads no version, range or dist-tag in it",
                "use an exact version, a dist-tag, ^, ~, x-ranges, hyphen ranges or comparators (>=, <) joined by spaces or ||",
            )
        return cls(text, alternatives)

    @classmethod
    def try_parse(cls, text: str) -> Range | None:
        alternatives = _parse_range(text)
        return None if alternatives is None else cls(text, alternatives)

    @property
    def normalized(self) -> str:
        """npm's canonical form (`semver.validRange`): `>=1.2.0 <1.5.0-0`, `*` for anything."""
        text = "||".join(" ".join(c.value for c in alt) for alt in self.alternatives)
        return text or "*"

    def satisfied_by(self, v: Version) -> bool:
        return any(_holds(alt, v) for alt in self.alternatives)


def _holds(comparators: tuple[Comparator, ...], v: Version) -> bool:
    """All comparators hold, and a prerelease is let in only by a comparator that names a
    prerelease of the same major.minor.patch (so `^1.8.0` never drifts onto `1.9.0-rc.1`)."""
    if not all(c.test(v) for c in comparators):
        return False
    if not v.prerelease:
        return True
    return any(c.version is not None and c.version.prerelease and c.version.release == v.release for c in comparators)


def satisfies(version: str, range_text: str) -> bool:
    """`semver.satisfies(version, range, {loose: true})`: False when either does not parse."""
    parsed, rng = parse_version(version), Range.try_parse(range_text)
    return parsed is not None and rng is not None and rng.satisfied_by(parsed)


def max_satisfying(versions: Iterable[str], range_text: str) -> str | None:
    """`semver.maxSatisfying` in loose mode: the highest, the first listed among equals."""
    rng = Range.try_parse(range_text)
    best: tuple[Version, str] | None = None
    for text in versions:
        parsed = parse_version(text)
        if rng is not None and parsed is not None and rng.satisfied_by(parsed) and (best is None or parsed > best[0]):
            best = (parsed, text)
    return None if best is None else best[1]


# -- what `npm install name@wanted` picks ----------------------------------------------------------
def resolve_version(name: str, wanted: str, versions: Iterable[str], dist_tags: Mapping[str, str]) -> str:
    """Pick the exact version npm would pick for *wanted* (an exact version, a range or a tag).

    *versions* are the packument's keys in the packument's order (it decides between versions that
    differ only by build metadata). Raises NpmError when nothing matches, listing what exists, and
    InvalidReference for a spec npm would refuse."""
    spec = wanted.strip()
    listed = list(versions)
    exact = clean_version(spec)
    if exact is not None:
        return _exact_version(name, wanted, exact, listed)
    rng = Range.try_parse(spec)
    if rng is not None:
        return _in_range(name, wanted, rng, listed, dist_tags)
    return _tagged(name, spec, listed, dist_tags)


def _exact_version(name: str, wanted: str, key: str, listed: list[str]) -> str:
    if key in listed:
        return key
    hint = "pick one of those versions"
    if any(clean_version(v) == key for v in listed):
        hint += " (npm looks an exact version up without build metadata, so ask with a range such as '>=X <=X')"
    raise NpmError(f"{name}@{wanted}", f"version not found (npm looks for {key}); the registry has {_summary(listed)}", hint)


def _in_range(name: str, wanted: str, rng: Range, listed: list[str], dist_tags: Mapping[str, str]) -> str:
    latest = dist_tags.get("latest")
    if latest is not None and latest in listed and (rng.text == "*" or satisfies(latest, rng.text)):
        return latest
    best = max_satisfying(listed, rng.text)
    if best is None:
        raise NpmError(
            f"{name}@{wanted}",
            f"no version satisfies the range; the registry has {_summary(listed)}",
            "widen the range or pick an exact version",
        )
    return best


def _tagged(name: str, tag: str, listed: list[str], dist_tags: Mapping[str, str]) -> str:
    if not _TAG.fullmatch(tag):
        raise InvalidReference(
            f"unsupported npm version range {tag!r}",
            "npm reads it as neither a version, a range nor a dist-tag (git, file, alias and URL specs are not mirrored)",
            "use an exact version, a dist-tag, ^, ~, x-ranges, hyphen ranges or comparators (>=, <) joined by spaces or ||",
        )
    if tag not in dist_tags:
        raise NpmError(
            f"{name}@{tag}",
            f"no dist-tag {tag!r}; the registry has tags {', '.join(sorted(dist_tags)) or '(none)'}",
            "use one of those tags or an exact version",
        )
    tagged = dist_tags[tag]
    if tagged not in listed:
        raise NpmError(f"{name}@{tag}", f"the dist-tag points at {tagged}, which the registry does not list")
    return tagged


def _summary(listed: Iterable[str], limit: int = 8) -> str:
    parsed = sorted((v, t) for t in listed if (v := parse_version(t)) is not None)
    if not parsed:
        return "no versions"
    shown = [t for _, t in parsed[-limit:]]
    return ("..., " if len(parsed) > limit else "") + ", ".join(shown)


def checked_version(name: str, text: str) -> str:
    """*text*, a version key a registry listed, when npm would take it as it is (`semver.valid` in
    loose mode) and it is safe in a file name; else NpmError.

    `semver.valid` trims whitespace before it matches, and Python's `$` matches before a final
    newline, so "1.0.0\\n" would pass both and end up in `NAME-1.0.0\\n.tgz`: the text must be its own
    trimmed form, and no path separator or control character may reach a file name."""
    clean = text == text.strip() and not any(c in text for c in "/\\") and text.isprintable()
    if clean and parse_version(text) is not None:
        return text
    raise NpmError(
        f"{name}: the registry lists version {text!r}",
        "which is not a valid npm version (semver, loose mode, no whitespace or path separators)",
        "the registry is broken or hostile; pin another version or fix the package on the registry",
    )
