"""Name the step a long command is in, so Ctrl-C can say where it stopped and how to resume.

``pack`` and ``push`` run for minutes to hours through several steps (oc-mirror, npm, hashing,
splitting). A bare "interrupted" leaves the user guessing whether the bundle or the registry is now
half-written; the message built here names the step and says what a re-run does with it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from mirrorkit.errors import Interrupted


class Steps:
    """Context manager: ``steps("pulling npm packages")`` marks a step (and reports it through *say*);
    a KeyboardInterrupt (or an :class:`Interrupted` from a child process runner) inside the block
    leaves as one :class:`Interrupted` naming that step, with *resume_hint*."""

    def __init__(self, command: str, resume_hint: str, say: Callable[[str], None] = lambda _m: None) -> None:
        self.command = command
        self.resume_hint = resume_hint
        self.say = say
        self.current = "starting"

    def __call__(self, step: str, message: str | None = None) -> None:
        self.current = step
        if message is not None:
            self.say(message)

    def __enter__(self) -> Steps:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            return
        if issubclass(kind, KeyboardInterrupt):
            raise Interrupted(f"{self.command} interrupted while {self.current}", hint=self.resume_hint) from None
        if isinstance(exc, Interrupted) and not exc.what.startswith(self.command):
            raise Interrupted(f"{self.command} interrupted while {self.current}", exc.what, self.resume_hint) from None


__all__ = ["Steps"]
