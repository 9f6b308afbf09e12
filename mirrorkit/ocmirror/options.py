"""Typed options for the three oc-mirror v2 workflows and the argument lists they become.

Options are validated when they are built (a wrong target or an out-of-range flag is an
:class:`~mirrorkit.errors.InputError` before oc-mirror starts), and :func:`build_args` is the only
place that knows oc-mirror's flag spelling, so the command line is always an argument list.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from mirrorkit.errors import InputError
from mirrorkit.ocmirror.knobs import REGISTRIES_CONF_ENV, go_duration

LOG_LEVELS = ("info", "debug", "trace", "error")
WORKING_DIR = "working-dir"

_HOST_RE = re.compile(
    r"^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:]+\])$"
)
_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


@dataclass(frozen=True)
class Target:
    """A destination registry ``docker://host[:port][/prefix]`` (the prefix is a repository path)."""

    host: str
    port: int | None = None
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse a target; a bare ``host[:port][/prefix]`` gets the ``docker://`` scheme added."""
        hint = "write the target as docker://HOST[:PORT][/PREFIX], e.g. docker://mirror.example.com:5000/rhdh"
        original = text.strip()
        if "://" in original:
            scheme, _, rest = original.partition("://")
            if scheme != "docker":
                raise InputError(f"invalid mirror target {original!r}", f"scheme {scheme}:// is not docker://", hint)
        else:
            rest = original
        hostport, _, prefix = rest.partition("/")
        prefix = prefix.strip("/")
        host, port = hostport, None
        if hostport.count(":") == 1 or (hostport.startswith("[") and "]:" in hostport):
            host, _, port_text = hostport.rpartition(":")
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise InputError(f"invalid mirror target {original!r}", f"port {port_text!r} is not 1..65535", hint)
            port = int(port_text)
        if not host or not _HOST_RE.match(host):
            raise InputError(f"invalid mirror target {original!r}", f"{host!r} is not a registry host name", hint)
        for component in prefix.split("/") if prefix else ():
            if not _COMPONENT_RE.match(component):
                raise InputError(
                    f"invalid mirror target {original!r}",
                    f"prefix component {component!r} must be lowercase letters, digits and . _ -",
                    hint,
                )
        return cls(host=host, port=port, prefix=prefix)

    @property
    def registry(self) -> str:
        """``host[:port]`` as image references spell it."""
        return f"{self.host}:{self.port}" if self.port else self.host

    def __str__(self) -> str:
        return f"docker://{self.registry}" + (f"/{self.prefix}" if self.prefix else "")


def _as_target(value: Target | str) -> Target:
    return value if isinstance(value, Target) else Target.parse(value)


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """Flags every workflow shares; ``None`` means "leave oc-mirror's default"."""

    config: Path
    authfile: Path | None = None
    cache_dir: Path | None = None
    parallel_images: int | None = None
    parallel_layers: int | None = None
    retry_times: int | None = None
    retry_delay_s: float | None = None
    src_tls_verify: bool = True
    dest_tls_verify: bool = True
    dry_run: bool = False
    max_nested_paths: int | None = None
    #: ``--image-timeout`` (oc-mirror's default 10m): one image's copy is abandoned after this.
    image_timeout_s: float | None = None
    #: ``--registries.d``: containers-registries.d(5) files oc-mirror merges into its own.
    registries_d: Path | None = None
    #: a registries.conf (mirrors of the sources): no flag, oc-mirror reads $CONTAINERS_REGISTRIES_CONF.
    registries_conf: Path | None = None
    log_level: str = "info"
    #: oc-mirror's local cache registry port (``--port``, oc-mirror's default 55000); ``run`` picks a
    #: free one when unset, so two runs on one host do not fail with "55000 is already bound".
    port: int | None = None
    extra_args: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", Path(self.config))
        for name in ("authfile", "cache_dir", "registries_d", "registries_conf"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        for name in ("parallel_images", "parallel_layers"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 10:
                raise InputError(f"--{name.replace('_', '-')} {value} is out of range", "oc-mirror accepts 1..10")
        for name in ("retry_times", "max_nested_paths"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InputError(f"--{name.replace('_', '-')} {value} is negative", "use 0 or more")
        if self.retry_delay_s is not None and self.retry_delay_s < 0:
            raise InputError(f"--retry-delay {self.retry_delay_s} is negative", "use 0 or more seconds")
        if self.image_timeout_s is not None and self.image_timeout_s <= 0:
            raise InputError(f"--image-timeout {self.image_timeout_s} is not positive", "give a duration such as 10m")
        if self.port is not None and not 0 < self.port < 65536:
            raise InputError(f"--port {self.port} is out of range", "use 1..65535")
        if self.log_level not in LOG_LEVELS:
            raise InputError(f"--log-level {self.log_level!r} is not supported", f"use one of {', '.join(LOG_LEVELS)}")

    @property
    def workflow(self) -> str:
        raise NotImplementedError

    @property
    def folder(self) -> Path:
        """The directory oc-mirror keeps its ``working-dir/`` in for this workflow."""
        raise NotImplementedError

    @property
    def working_dir(self) -> Path:
        return self.folder / WORKING_DIR


@dataclass(frozen=True, kw_only=True)
class MirrorToDiskOptions(RunOptions):
    """Mirror to disk: images -> ``mirror_*.tar`` archives in *archive_dir*."""

    archive_dir: Path
    since: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "archive_dir", Path(self.archive_dir))
        if self.since is not None:
            try:
                _dt.datetime.strptime(self.since, "%Y-%m-%d")
            except ValueError:
                raise InputError(
                    f"--since {self.since!r} is not a date", "oc-mirror expects yyyy-MM-dd, e.g. 2025-06-30"
                ) from None

    @property
    def workflow(self) -> str:
        return "mirrorToDisk"

    @property
    def folder(self) -> Path:
        return self.archive_dir


@dataclass(frozen=True, kw_only=True)
class DiskToMirrorOptions(RunOptions):
    """Disk to mirror: archives in *archive_dir* -> the *target* registry."""

    archive_dir: Path
    target: Target

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "archive_dir", Path(self.archive_dir))
        object.__setattr__(self, "target", _as_target(self.target))

    @property
    def workflow(self) -> str:
        return "diskToMirror"

    @property
    def folder(self) -> Path:
        return self.archive_dir


@dataclass(frozen=True, kw_only=True)
class MirrorToMirrorOptions(RunOptions):
    """Mirror to mirror: images -> the *target* registry directly, state kept in *workspace*."""

    workspace: Path
    target: Target

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "workspace", Path(self.workspace))
        object.__setattr__(self, "target", _as_target(self.target))

    @property
    def workflow(self) -> str:
        return "mirrorToMirror"

    @property
    def folder(self) -> Path:
        return self.workspace


AnyOptions = MirrorToDiskOptions | DiskToMirrorOptions | MirrorToMirrorOptions


def _file_url(path: Path) -> str:
    return f"file://{path.resolve()}"


def _bool_flag(name: str, value: bool) -> str:
    # Go boolean flags need the '=' form to be set to false.
    return f"--{name}={'true' if value else 'false'}"


def build_args(options: AnyOptions) -> list[str]:
    """The oc-mirror argument list (without the program) for *options*."""
    args = ["--v2", "-c", str(options.config.resolve())]
    if isinstance(options, MirrorToDiskOptions):
        positional = _file_url(options.archive_dir)
        if options.since:
            args += ["--since", options.since]
    elif isinstance(options, DiskToMirrorOptions):
        args += ["--from", _file_url(options.archive_dir)]
        positional = str(options.target)
    elif isinstance(options, MirrorToMirrorOptions):
        args += ["--workspace", _file_url(options.workspace)]
        positional = str(options.target)
    else:  # pragma: no cover - guarded by the type
        raise TypeError(f"unknown options type {type(options).__name__}")
    if options.authfile is not None:
        args += ["--authfile", str(options.authfile)]
    if options.cache_dir is not None:
        args += ["--cache-dir", str(options.cache_dir.resolve())]
    if options.parallel_images is not None:
        args += ["--parallel-images", str(options.parallel_images)]
    if options.parallel_layers is not None:
        args += ["--parallel-layers", str(options.parallel_layers)]
    if options.retry_times is not None:
        args += ["--retry-times", str(options.retry_times)]
    if options.retry_delay_s is not None:
        args += ["--retry-delay", go_duration(options.retry_delay_s)]
    if options.image_timeout_s is not None:
        args += ["--image-timeout", go_duration(options.image_timeout_s)]
    if options.registries_d is not None:
        args += ["--registries.d", str(options.registries_d.resolve())]
    args.append(_bool_flag("src-tls-verify", options.src_tls_verify))
    args.append(_bool_flag("dest-tls-verify", options.dest_tls_verify))
    if options.dry_run:
        args.append("--dry-run")
    if options.max_nested_paths is not None:
        args += ["--max-nested-paths", str(options.max_nested_paths)]
    args += ["--log-level", options.log_level]
    if options.port is not None:
        args += ["--port", str(options.port)]
    args += list(options.extra_args)
    args.append(positional)
    return args


def build_env(options: AnyOptions) -> dict[str, str]:
    """Environment oc-mirror needs on top of mirrorkit's: the registries.conf, which oc-mirror takes
    only from ``$CONTAINERS_REGISTRIES_CONF`` (cli/executor.go Complete), for this child alone."""
    if options.registries_conf is None:
        return {}
    return {REGISTRIES_CONF_ENV: str(options.registries_conf.resolve())}
