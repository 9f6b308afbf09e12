"""Run oc-mirror as a child process: argument list, output streamed to a log file, clean interrupts.

oc-mirror runs in its own session so a terminal Ctrl-C reaches mirrorkit only; mirrorkit then stops
oc-mirror and its helpers itself (SIGTERM, a grace period, then SIGKILL) and raises
:class:`~mirrorkit.errors.Interrupted` with how to resume, instead of leaving half-dead processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mirrorkit.errors import Interrupted, MirrorError
from mirrorkit.redact import redact
from mirrorkit.textutil import shorten_middle

STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class RunOutcome:
    """How the process ended: its exit status (negative = killed by that signal) and how long it took."""

    exit_code: int
    duration_s: float
    log_file: Path


#: Lines of oc-mirror's log shown when it fails: enough for "no space left on device",
#: "unauthorized" or "manifest unknown" with their context, short enough to read.
TAIL_LINES = 8
_TAIL_BYTES = 64 * 1024
_ERROR_MARKS = ("error", "fatal", "fail", "denied", "unauthorized", "no space", "unknown", "refused", "timeout")


def log_tail(log_file: Path, lines: int = TAIL_LINES) -> tuple[str, ...]:
    """The last error lines of an oc-mirror log (the last *lines* lines when none look like errors),
    redacted, without mirrorkit's own ``#`` notes. Reads only the end of the file: logs grow to GBs."""
    try:
        with open(log_file, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - _TAIL_BYTES))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ()
    raw = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("# mirrorkit")]
    if size > _TAIL_BYTES:
        raw = raw[1:]  # the first line may be cut in the middle
    errors = [line for line in raw if any(mark in line.lower() for mark in _ERROR_MARKS)]
    return tuple(redact(line)[:300] for line in (errors or raw)[-lines:])


#: Longest cause shown in oc-mirror's one-line failure: the line must keep the log's path readable.
MAX_CAUSE_CHARS = 220
_EXECUTOR = "[Executor]"


def failure_cause(errors: Sequence[str], log_file: Path) -> str:
    """Why oc-mirror failed, in its own words: the error it returned (its ``[Executor] <error>``
    line, which oc-mirror prints last), else its last ``[ERROR]`` line, else the error lines at the
    end of the log; shortened in the middle so the end of a wrapped Go error ("no such host") stays."""
    returned = [e for e in errors if e.strip().startswith(_EXECUTOR)]
    if returned:
        cause = returned[-1].strip()[len(_EXECUTOR) :].strip()
    elif errors:
        cause = errors[-1].strip()
    else:
        cause = " | ".join(log_tail(log_file, 3))
    return shorten_middle(redact(cause), MAX_CAUSE_CHARS) if cause else "no error line in its output"


def own_log(working_dir: Path) -> Path | None:
    """oc-mirror's own log (``working-dir/logs/oc-mirror-*.log``) of the latest run, when it wrote one."""
    try:
        logs = sorted((working_dir / "logs").glob("oc-mirror-*.log"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return None
    return logs[-1] if logs else None


def _stop(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM oc-mirror's process group, wait *grace_s*, then SIGKILL whatever is left."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def run_streaming(
    argv: Sequence[str],
    log_file: Path,
    on_line: Callable[[str], None],
    *,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    grace_s: float = STOP_GRACE_S,
) -> RunOutcome:
    """Run *argv*, append every output line to *log_file* and hand it to *on_line* as it arrives;
    *env* is added to this process's environment and the variables in *unset* are removed."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_file, "ab") as log:
        log.write(f"# mirrorkit ran: {redact(' '.join(argv))}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset},
                start_new_session=True,
            )
        except OSError as exc:
            raise MirrorError(f"cannot start {argv[0]}", str(exc), "check the --oc-mirror path") from exc
        try:
            assert proc.stdout is not None
            for raw in iter(proc.stdout.readline, b""):
                log.write(raw)
                log.flush()
                on_line(raw.decode("utf-8", errors="replace"))
            exit_code = proc.wait()
        except KeyboardInterrupt:
            _stop(proc, grace_s)
            log.write(b"# mirrorkit: interrupted by the user; oc-mirror was stopped\n")
            raise Interrupted(
                "interrupted: oc-mirror was stopped",
                hint=f"Run the same command again to resume; oc-mirror's cache makes it incremental (log: {log_file})",
            ) from None
        except BaseException:
            _stop(proc, grace_s)
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
    return RunOutcome(exit_code=exit_code, duration_s=time.monotonic() - started, log_file=log_file)
