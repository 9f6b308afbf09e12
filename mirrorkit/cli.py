"""The `mirrorkit` command line: a thin click layer.

Each command lives in :mod:`mirrorkit.commands` and turns options into one call into the library.
This module only wires the commands together and turns every failure into one line on stderr and
an exit code (0 ok, 1 a check or mirror failed, 2 bad usage or input, 130 interrupted); the
traceback is shown only with ``--debug`` (or ``MIRRORKIT_DEBUG=1``).
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

import click

from mirrorkit import __version__
from mirrorkit.errors import MirrorkitError, no_space
from mirrorkit.redact import redact

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Every command, as "module:attribute". Modules load only when their command runs (or for --help),
#: so `mirrorkit npm pull` does not pay for importing oras, cryptography and the rest at start-up.
COMMANDS: dict[str, str] = {
    "bundle-images": "mirrorkit.commands.bundle_images:bundle_images",
    "imageset": "mirrorkit.commands.imageset:imageset",
    "keygen": "mirrorkit.commands.keygen:keygen",
    "mirror": "mirrorkit.commands.mirror:mirror",
    "npm": "mirrorkit.commands.npm:npm",
    "pack": "mirrorkit.commands.pack:pack",
    "plan": "mirrorkit.commands.plan:plan",
    "profiles": "mirrorkit.commands.imageset:profiles",
    "push": "mirrorkit.commands.push:push",
    "sbom": "mirrorkit.commands.sbom:sbom",
    "sync": "mirrorkit.commands.sync:sync",
    "values": "mirrorkit.commands.values:values",
    "verify": "mirrorkit.commands.verify:verify",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "-V", "--version", prog_name="mirrorkit", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging on failure.")
def cli(debug: bool) -> None:
    """Mirror Red Hat Developer Hub with the Orchestrator into disconnected OpenShift clusters.

    \b
    Connected host:  mirrorkit pack --profile rhdh-orchestrator-1.8 --output DIR --sign-key KEY
    Bastion host:    mirrorkit push DIR --target-registry HOST --target-npm URL --verify-key PUB --output OUT
    Anywhere:        mirrorkit verify DIR [--target-registry HOST] [--target-npm URL]
    Both at once:    mirrorkit sync --profile rhdh-orchestrator-1.8 --target-registry HOST --target-npm URL --output OUT
    """
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("MIRRORKIT_DEBUG", "") not in ("", "0")


#: Longest error line printed; a longer one is cut and its full text goes to ERROR_LOG in the
#: command's output folder (push --output, verify --report) when there is one, else --debug prints it.
MAX_ERROR_CHARS = 400
ERROR_LOG = "mirrorkit-error.log"
#: Commands whose folder option is theirs to write into (never a bundle): command -> option names.
_LOG_FOLDERS = {"push": ("-o", "--output"), "verify": ("--report",)}


def _log_folder(argv: Sequence[str]) -> str | None:
    """The existing output folder the failed command was given, where the full error can be kept."""
    names = _LOG_FOLDERS.get(next((a for a in argv if not a.startswith("-")), ""), ())
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                value = argv[i + 1]
            elif name.startswith("--") and arg.startswith(name + "="):
                value = arg[len(name) + 1 :]
            else:
                continue
            return value if os.path.isdir(value) else None
    return None


def _fail(message: str, code: int, argv: Sequence[str] = (), debug: bool = False) -> int:
    """One line on stderr, cut at MAX_ERROR_CHARS unless --debug; the full text is kept in the
    output folder's ERROR_LOG when the command has one."""
    text = " ".join(redact(message).split())
    if len(text) > MAX_ERROR_CHARS and not debug:
        folder = _log_folder(argv)
        where = None
        if folder is not None:
            where = os.path.join(folder, ERROR_LOG)
            try:
                with open(where, "a", encoding="utf-8") as log:
                    log.write(f"mirrorkit {' '.join(redact(a) for a in argv[:1])}: error: {text}\n")
            except OSError:
                where = None
        tail = f" ... (full text in {where})" if where else " ... (--debug for all)"
        text = text[: max(80, MAX_ERROR_CHARS - len(tail))].rstrip() + tail
    click.echo(f"mirrorkit: error: {text}", err=True)
    return code


def _disk_full(exc: BaseException) -> MirrorkitError | None:
    """ENOSPC anywhere in *exc*'s chain as one line naming the folder: the net under every command
    (the places that know how much they were writing say so themselves)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            name = current.filename or current.filename2
            folder = os.path.dirname(os.path.abspath(os.fsdecode(name))) if name else "the output folder"
            return no_space(folder)
        current = current.__cause__ or current.__context__
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code instead of exiting (tests call this)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        rv = cli.main(args=args, prog_name="mirrorkit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return 0
    except click.exceptions.UsageError as exc:
        where = f"mirrorkit {exc.ctx.command_path.partition(' ')[2]}".strip() if exc.ctx else "mirrorkit"
        return _fail(f"{exc.format_message().rstrip('.')} (see '{where} --help')", 2, args, debug)
    except click.exceptions.FileError as exc:
        return _fail(exc.format_message(), 2)
    except click.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        return _fail("interrupted; run the same command again to resume", 130)
    except MirrorkitError as exc:
        if debug:
            traceback.print_exc()
        return _fail(str(exc), exc.exit_code, args, debug)
    except Exception as exc:  # a bug: say so, keep it to one line unless --debug
        if debug:
            traceback.print_exc()
        full = _disk_full(exc)
        if full is not None:  # not a bug: the disk is full; say where, as every command should
            return _fail(str(full), full.exit_code, args, debug)
        return _fail(f"internal error ({type(exc).__name__}: {exc}); re-run with --debug and report it", 1, args, debug)
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
