"""The oc-mirror knobs as command-line options, spelled once for pack, push and mirror.

Why here: the README's vocabulary promises one spelling per meaning; pack, push and the three
``mirror`` commands take these options from this decorator, and their :class:`CheckedCommand` runs
:func:`mirrorkit.ocmirror.knobs.problems` on the raw text, so a bad value is named with every other
usage problem before anything runs (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import click

from mirrorkit.commands._args import Raw
from mirrorkit.commands._shared import stack_options
from mirrorkit.ocmirror.knobs import KNOB_NAMES, Knobs, problems

F = TypeVar("F", bound=Callable[..., Any])


def knob_options(*, since: bool) -> Callable[[F], F]:
    """The knobs' options; ``--since`` only where the command runs mirror to disk (*since*)."""

    def apply(func: F) -> F:
        options = [
            click.option(
                "--max-nested-paths",
                metavar="N",
                help="Flatten repository paths deeper than N for registries that limit nesting (oc-mirror's default 0: off).",
            ),
            click.option("--parallel-images", metavar="1..10", help="Images oc-mirror copies at once (its default 4)."),
            click.option("--parallel-layers", metavar="1..10", help="Layers oc-mirror copies at once (its default 5)."),
            click.option("--retry-times", metavar="N", help="Retries per image (oc-mirror's default 5; push's 2)."),
            click.option(
                "--retry-delay",
                metavar="DURATION",
                help="Constant delay between retries, e.g. 10s (oc-mirror's default: exponential back-off).",
            ),
            click.option(
                "--image-timeout", metavar="DURATION", help="Give up one image's copy after this, e.g. 30m (default 10m)."
            ),
            click.option(
                "--registries-conf",
                metavar="FILE",
                help="containers-registries.conf(5) for oc-mirror, e.g. mirrors of the source registries "
                "(set as $CONTAINERS_REGISTRIES_CONF for oc-mirror only).",
            ),
            click.option(
                "--registries-d",
                "--registries.d",
                "registries_d",
                metavar="DIR",
                help="containers-registries.d(5) folder passed to oc-mirror's --registries.d (signature storage per registry).",
            ),
        ]
        if since:
            options.append(
                click.option(
                    "--since",
                    metavar="YYYY-MM-DD",
                    help="oc-mirror's --since: leave out of the archive what its history archived before this date.",
                )
            )
        return stack_options(func, options)

    return apply


def knob_check(raw: Raw) -> Iterable[str]:
    """Every problem with the knobs, for a command's ``checks``."""
    return problems(raw)


def pop_knobs(kwargs: dict[str, Any]) -> Knobs:
    """Take the knobs out of a command's *kwargs* and read them (already checked, so this does not fail)."""
    raw: Mapping[str, Any] = {name: kwargs.pop(name, None) for name in KNOB_NAMES}  # the parameters knob_options adds
    return Knobs.from_raw(raw)


__all__ = ["knob_check", "knob_options", "pop_knobs"]
