"""Ceilings on what a source (catalog image, bundle image, npm registry) may send, and their settings.

Everything mirrorkit reads on the connected side comes from registries it does not control. A
hostile or broken source must be refused in seconds with one line, not read until memory or disk
runs out. The defaults sit far above real content (Red Hat's operator index is about 400 MB of FBC
in a 120 MB layer; its largest bundle object a few MB; RHDH plugin tarballs under 50 MB), so only a
misbehaving source meets them. Each one can be raised with one environment variable,
``MIRRORKIT_LIMIT_<NAME>`` (sizes read as ``--split-size`` reads them: :mod:`mirrorkit.sizes`); the
refusal names that variable.

A foundation module: it imports only :mod:`mirrorkit.errors` and :mod:`mirrorkit.sizes`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mirrorkit.errors import InputError, SourceLimitExceeded
from mirrorkit.sizes import bytes_from

ENV_PREFIX = "MIRRORKIT_LIMIT_"


@dataclass(frozen=True)
class Limit:
    """One ceiling: its variable's suffix, default, unit ("bytes", "nodes", "x") and what it bounds."""

    name: str
    default: int
    unit: str
    about: str

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name

    def value(self) -> int:
        """The ceiling in force: the environment variable when set, else the default.

        Read on every use (cheap), so a test or a wrapper script can change it without a restart."""
        text = os.environ.get(self.variable, "").strip()
        if not text:
            return self.default
        value = bytes_from(text, whole=True) if self.unit == "bytes" else (int(text) if text.isdigit() else None)
        if value is None:
            raise InputError(
                f"{self.variable}={text!r} is not a valid limit",
                f"expected a whole number{' of bytes (e.g. 2GiB)' if self.unit == 'bytes' else ''}",
                f"set it to a number or unset it for the default ({self.default})",
            )
        return value

    def refuse(self, source: str, found: str) -> SourceLimitExceeded:
        """The one-line refusal: the source, what it sent, the ceiling and how to raise it."""
        return SourceLimitExceeded(
            f"{source} {found}",
            f"more than the {self.about} limit of {describe(self.value(), self.unit)}",
            f"the source is broken or hostile; if you trust it, raise the limit with {self.variable}",
        )


def describe(value: int, unit: str) -> str:
    if unit == "x":
        return f"{value}x"
    if unit != "bytes":
        return f"{value:,} {unit}"
    for suffix, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= size and value % size == 0:
            return f"{value // size} {suffix}"
    return f"{value:,} bytes"


#: Uncompressed bytes one layer may inflate to, as a multiple of its compressed size
#: (real layers: 3-20x; gzip's own ceiling is about 1030x) ...
LAYER_RATIO = Limit("LAYER_RATIO", 100, "x", "inflate ratio")
#: ... but never less than this (small layers of zeros, such as opm's cache files, compress better) ...
LAYER_FLOOR = Limit("LAYER_FLOOR_BYTES", 256 * 1024**2, "bytes", "inflated layer floor")
#: ... and never more than this, whatever the ratio.
LAYER_BYTES = Limit("LAYER_BYTES", 8 * 1024**3, "bytes", "inflated layer size")
#: One FBC object (a JSON value of a catalog file, one YAML document's file).
FBC_OBJECT_BYTES = Limit("FBC_OBJECT_BYTES", 64 * 1024**2, "bytes", "FBC object size")
#: Values in one FBC object (objects, arrays and their members): a bound on the memory it decodes to.
FBC_OBJECT_NODES = Limit("FBC_OBJECT_NODES", 1_000_000, "nodes", "FBC object node")
#: One npm packument (the package document listing every version).
PACKUMENT_BYTES = Limit("PACKUMENT_BYTES", 128 * 1024**2, "bytes", "npm packument size")
#: One npm tarball when the server sends no Content-Length (and the most a Content-Length may announce).
TARBALL_BYTES = Limit("TARBALL_BYTES", 1024**3, "bytes", "npm tarball size")

ALL = (LAYER_RATIO, LAYER_FLOOR, LAYER_BYTES, FBC_OBJECT_BYTES, FBC_OBJECT_NODES, PACKUMENT_BYTES, TARBALL_BYTES)


def too_deep(source: str) -> SourceLimitExceeded:
    """Nesting deeper than Python's decoders go (about 900 levels; real content nests under 30).

    Not a setting: the ceiling is the interpreter's recursion limit, and raising that risks a crash."""
    return SourceLimitExceeded(
        f"{source} is nested too deeply",
        "more levels than mirrorkit's JSON/YAML decoders read (about 900; real content nests under 30)",
        "the source is broken or hostile; check the reference",
    )


@dataclass
class InflateBudget:
    """Counts the uncompressed bytes of one layer against the ratio, floor and absolute ceilings."""

    source: str
    compressed: int
    seen: int = 0
    allowed: int = -1

    def __post_init__(self) -> None:
        by_ratio = max(LAYER_RATIO.value() * max(self.compressed, 0), LAYER_FLOOR.value())
        self.allowed = min(by_ratio, LAYER_BYTES.value())

    def add(self, size: int) -> None:
        self.seen += size
        if self.seen > self.allowed:
            raise self._refusal()

    def _refusal(self) -> SourceLimitExceeded:
        if self.allowed == LAYER_BYTES.value():
            return LAYER_BYTES.refuse(self.source, f"inflates to more than {describe(self.allowed, 'bytes')}")
        return SourceLimitExceeded(
            f"{self.source} inflates to more than {describe(self.allowed, 'bytes')} from {self.compressed:,} compressed bytes",
            f"more than the inflate ratio limit of {LAYER_RATIO.value()}x (at least {describe(LAYER_FLOOR.value(), 'bytes')})",
            f"the source is broken or hostile (a compression bomb); if you trust it, raise {LAYER_RATIO.variable} "
            f"or {LAYER_FLOOR.variable}",
        )
