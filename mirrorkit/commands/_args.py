"""Argument checks that run before any command does work, and the renamed spellings it still reads.

Why: a mistake in the arguments must cost the user one run of a second, not a verified bundle or a
catalog discovery first. :class:`CheckedCommand` reads the raw arguments before click converts them
and reports *every* problem at once (missing options, empty paths, paths that do not exist, a URL
without its scheme, a malformed registry, an output folder inside the bundle) as one usage error:
exit 2, before any network, disk or hash work. Old spellings of renamed options are rewritten to
the new ones, with a deprecation warning on stderr, so scripts written for 0.1 keep working.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from mirrorkit.errors import InputError

#: The raw values click's parser found: strings (lists for repeatable options), flags as booleans.
Raw = Mapping[str, Any]
#: A check of the raw values: yields one line per problem.
Check = Callable[[Raw], Iterable[str]]

REMOVED_IN = "0.3"


def _shown(param: click.Parameter) -> str:
    """How the user spells *param*: its long option, or its metavar for an argument."""
    if isinstance(param, click.Argument):
        return (param.metavar or param.name or "ARG").upper()
    longs = [o for o in param.opts if o.startswith("--")]
    return (longs or param.opts)[0]


def _metavar(param: click.Parameter, ctx: click.Context) -> str:
    if isinstance(param, click.Option) and param.is_flag:
        return ""
    return f" {param.make_metavar(ctx)}" if isinstance(param, click.Option) else ""


def _values(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [] if value is None or isinstance(value, bool) else [str(value)]


class CheckedCommand(click.Command):
    """A click command whose arguments are checked all at once before it runs (see the module docstring).

    *renamed* maps an old spelling to the tokens that replace it (``{"--registry": ("--target-registry",)}``,
    ``{"--no-helm": ("--install", "operator")}``); *checks* are the command's own checks of the raw values.
    """

    def __init__(
        self, *args: Any, renamed: Mapping[str, Sequence[str]] | None = None, checks: Sequence[Check] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.renamed = dict(renamed or {})
        self.checks = tuple(checks)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = self._rename(ctx, args)
        if not ctx.resilient_parsing and not any(a in ctx.help_option_names for a in args):
            raw, _, _ = self.make_parser(ctx).parse_args(args=list(args))
            problems = list(dict.fromkeys(self._problems(ctx, raw)))
            if problems:
                text = problems[0] if len(problems) == 1 else f"{len(problems)} problems: " + "; ".join(problems)
                raise click.UsageError(text, ctx)
        return super().parse_args(ctx, args)

    def _rename(self, ctx: click.Context, args: list[str]) -> list[str]:
        """*args* with old spellings replaced by new ones, each old one warned about once."""
        out: list[str] = []
        warned: set[str] = set()
        for arg in args:
            if arg == "--":
                out += args[len(out) :]
                break
            name, eq, value = arg.partition("=")
            new = self.renamed.get(name)
            if new is None:
                out.append(arg)
                continue
            if name not in warned:
                warned.add(name)
                click.echo(
                    f"mirrorkit: warning: {name} is deprecated in '{ctx.command_path}'; use {' '.join(new)} "
                    f"(the old spelling goes in {REMOVED_IN})",
                    err=True,
                )
            out += [*new[:-1], f"{new[-1]}={value}"] if eq else list(new)
        return out

    def _problems(self, ctx: click.Context, raw: Raw) -> Iterable[str]:
        for param in self.get_params(ctx):
            name = param.name or ""
            given = raw.get(name)
            if given is None or given == [] or given == ():
                if param.required and not (param.resolve_envvar_value(ctx) or (ctx.default_map or {}).get(name)):
                    yield f"missing {_shown(param)}{_metavar(param, ctx)}"
                continue
            if isinstance(param.type, click.Path):
                yield from _path_problems(param, param.type, _values(given))
        for check in self.checks:
            yield from check(raw)


class CheckedGroup(click.Group):
    """A group whose subcommands are :class:`CheckedCommand` s."""

    command_class = CheckedCommand


def _path_problems(param: click.Parameter, kind: click.Path, values: list[str]) -> Iterable[str]:
    for value in values:
        if value == "":
            yield f"{_shown(param)} is empty: give a {'folder' if not kind.file_okay else 'file'} path"
        elif kind.exists and not os.path.exists(value):
            yield f"{_shown(param)} {value} does not exist"


# -- checks shared by commands ------------------------------------------------------------------


def http_url(name: str, option: str) -> Check:
    """*option* (raw key *name*) is an http:// or https:// URL."""

    def check(raw: Raw) -> Iterable[str]:
        for value in _values(raw.get(name)):
            if value and not value.lower().startswith(("http://", "https://")):
                yield f"{option} {value!r} has no scheme: write http://{value} or https://{value}"

    return check


def registry_target(name: str, option: str) -> Check:
    """*option* names a registry as ``[docker://]HOST[:PORT][/PREFIX]``."""

    def check(raw: Raw) -> Iterable[str]:
        from mirrorkit.ocmirror import Target

        for value in _values(raw.get(name)):
            try:
                Target.parse(value)
            except InputError as exc:
                yield f"{option}: {exc.why or exc.what} (write HOST[:PORT][/PREFIX], e.g. mirror.example.com:5000/rhdh)"

    return check


def outside(name: str, option: str, of: str) -> Check:
    """*option* is not inside the folder given as raw key *of* (a bundle is never written to)."""

    def check(raw: Raw) -> Iterable[str]:
        from mirrorkit.bundle import layout

        base = raw.get(of)
        for value in _values(raw.get(name)):
            if value and base:
                try:
                    layout.check_outside(Path(value), Path(str(base)), option)
                except InputError as exc:
                    yield str(exc).rstrip(".")

    return check


def exactly_one(*pairs: tuple[str, str]) -> Check:
    """Exactly one of the options (raw key, spelling) is given."""

    def check(raw: Raw) -> Iterable[str]:
        given = [shown for name, shown in pairs if _values(raw.get(name))]
        if len(given) != 1:
            names = " or ".join(shown for _, shown in pairs)
            yield f"pass exactly one of {names}" + (f" (got {', '.join(given)})" if given else "")

    return check


__all__ = ["Check", "CheckedCommand", "CheckedGroup", "Raw", "exactly_one", "http_url", "outside", "registry_target"]
