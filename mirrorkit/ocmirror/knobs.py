"""oc-mirror's tuning flags as users give them to pack, push and mirror: one place that reads them.

Why a module of its own: sites with large or constrained registries need oc-mirror's knobs
(parallelism, retries, timeouts, nested-path limits, mirrors of the sources), and each of pack, push
and the ``mirror`` commands must spell, check and pass them the same way. :func:`problems` checks the
raw text before anything runs (one line per problem, the command reports them all at once);
:meth:`Knobs.apply` lays the given ones over a workflow's options, leaving the rest as they were
(push keeps its own retry defaults unless the user sets them).

Checked against oc-mirror's source (cli/executor.go NewMirrorCmd, Complete): ``--parallel-images``
and ``--parallel-layers`` 1..10, ``--retry-times`` and ``--max-nested-paths`` integers,
``--retry-delay`` and ``--image-timeout`` Go durations, ``--since`` yyyy-MM-dd (mirror to disk
only), ``--registries.d DIR``; a registries.conf has no flag: oc-mirror reads
``$CONTAINERS_REGISTRIES_CONF`` (Complete), so mirrorkit sets that for its child only.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mirrorkit.errors import InputError

#: The environment variable containers/image (and so oc-mirror and skopeo) reads registries.conf from.
REGISTRIES_CONF_ENV = "CONTAINERS_REGISTRIES_CONF"

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")

OptionsT = TypeVar("OptionsT")


def parse_duration(text: str, option: str) -> float:
    """Seconds from a Go duration (``90s``, ``1m30s``, ``500ms``) or a plain number of seconds.

    Go's ``time.ParseDuration`` is what oc-mirror applies; a bare number is accepted too because
    mirror's ``--retry-delay`` took SECONDS before, and scripts pass it that way."""
    value = text.strip()
    hint = f"write {option} as a duration such as 30s, 2m or 1m30s"
    try:
        seconds = float(value)
    except ValueError:
        pos, seconds = 0, 0.0
        for match in _DURATION_RE.finditer(value):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(value) or not value:
            raise InputError(f"{option} {text!r} is not a duration", hint=hint) from None
    if seconds < 0 or seconds != seconds:
        raise InputError(f"{option} {text!r} is negative", hint=hint)
    return seconds


def go_duration(seconds: float) -> str:
    """*seconds* as oc-mirror's duration flags read it (``90s``, ``1500ms``)."""
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{round(seconds * 1000)}ms"


def check_registries_conf(path: Path) -> None:
    """A registries.conf that exists and parses as TOML (containers/image refuses it otherwise, but
    only once oc-mirror is deep in its run)."""
    hint = "pass a containers-registries.conf(5) file, e.g. one with [[registry]] and [[registry.mirror]] entries"
    if not path.is_file():
        raise InputError(f"--registries-conf {path} does not exist or is not a file", hint=hint)
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"--registries-conf {path} is not valid TOML", str(exc), hint) from None


def check_registries_d(path: Path) -> None:
    """A registries.d folder that exists (oc-mirror copies its YAML files into its working-dir)."""
    if not path.is_dir():
        raise InputError(
            f"--registries-d {path} is not a folder",
            hint="pass a containers-registries.d(5) folder of YAML files (sigstore/lookaside settings per registry)",
        )


def _int_in(text: str, option: str, low: int, high: int | None) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InputError(f"{option} {text!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        span = f"{low}..{high}" if high is not None else f"{low} or more"
        raise InputError(f"{option} {value} is out of range", f"oc-mirror accepts {span}")
    return value


def check_since(text: str) -> str:
    try:
        _dt.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise InputError(f"--since {text!r} is not a date", hint="oc-mirror expects yyyy-MM-dd, e.g. 2025-06-30") from None
    return text


@dataclass(frozen=True, kw_only=True)
class Knobs:
    """The knobs a user set; ``None`` leaves the workflow's own value (oc-mirror's or push's default)."""

    max_nested_paths: int | None = None
    parallel_images: int | None = None
    parallel_layers: int | None = None
    retry_times: int | None = None
    retry_delay_s: float | None = None
    image_timeout_s: float | None = None
    since: str | None = None
    registries_d: Path | None = None
    registries_conf: Path | None = None

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Knobs:
        """Read the command's raw values (strings, ``None`` when not given); raises the first problem."""

        def given(name: str) -> str | None:
            value = raw.get(name)
            return None if value is None or value == "" else str(value)

        def as_int(name: str, low: int, high: int | None) -> int | None:
            text = given(name)
            return None if text is None else _int_in(text, _flag(name), low, high)

        def as_seconds(name: str) -> float | None:
            text = given(name)
            return None if text is None else parse_duration(text, _flag(name))

        conf, regd, since = given("registries_conf"), given("registries_d"), given("since")
        knobs = cls(
            max_nested_paths=as_int("max_nested_paths", 0, None),
            parallel_images=as_int("parallel_images", 1, 10),
            parallel_layers=as_int("parallel_layers", 1, 10),
            retry_times=as_int("retry_times", 0, None),
            retry_delay_s=as_seconds("retry_delay"),
            image_timeout_s=as_seconds("image_timeout"),
            since=check_since(since) if since else None,
            registries_d=Path(regd) if regd else None,
            registries_conf=Path(conf) if conf else None,
        )
        if knobs.image_timeout_s == 0:
            raise InputError("--image-timeout 0 would stop every copy at once", hint="give a duration such as 10m (the default)")
        if knobs.registries_conf is not None:
            check_registries_conf(knobs.registries_conf)
        if knobs.registries_d is not None:
            check_registries_d(knobs.registries_d)
        return knobs

    def apply(self, options: OptionsT) -> OptionsT:
        """*options* (any workflow's) with every knob that was set laid over it; ``since`` only
        where the workflow has it (mirror to disk)."""
        fields = {f.name for f in dataclasses.fields(options)}  # type: ignore[arg-type]
        changes = {k: v for k, v in dataclasses.asdict(self).items() if v is not None and k in fields}
        return dataclasses.replace(options, **changes)  # type: ignore[type-var]


def _flag(name: str) -> str:
    return "--" + name.removesuffix("_s").replace("_", "-")


#: The knobs' keys in a raw option mapping (the click parameter names), in the order they are checked.
KNOB_NAMES = (
    "max_nested_paths",
    "parallel_images",
    "parallel_layers",
    "retry_times",
    "retry_delay",
    "image_timeout",
    "since",
    "registries_d",
    "registries_conf",
)


def problems(raw: Mapping[str, Any]) -> Iterator[str]:
    """Every problem with the knobs in *raw*, one line each (a :data:`mirrorkit.commands._args.Check`)."""
    for name in KNOB_NAMES:
        if raw.get(name) in (None, ""):
            continue
        try:
            Knobs.from_raw({name: raw[name]})
        except InputError as exc:
            yield str(exc).rstrip(".")


__all__ = ["KNOB_NAMES", "REGISTRIES_CONF_ENV", "Knobs", "check_since", "go_duration", "parse_duration", "problems"]
