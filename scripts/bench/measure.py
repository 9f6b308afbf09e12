"""Run commands as measured child processes: wall time and peak resident memory (RSS).

Linux keeps a process's RSS high-water mark across fork and exec, so a command started straight
from the benchmark process would inherit the benchmark's own peak. Each measurement therefore goes
through a tiny launcher (`python -S`, about 10 MiB) that forks the commands itself and reads each
child's peak from `wait4`; that peak covers the child and every descendant it waited for. The
launcher's own size is a floor under every number (see `launcher_floor_kib`).

With `jobs > 1` commands run concurrently; the reported peak is then the sum of the `jobs` largest
per-process peaks, an upper bound of what was resident at once.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_LAUNCHER = r"""
import json, os, sys, time
spec = json.loads(sys.argv[1])
def start(argv):
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(os.open(spec["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644), 2)
            os.dup2(os.open(spec["stdout"] or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644), 1)
            if spec["cwd"]:
                os.chdir(spec["cwd"])
            os.execvp(argv[0], argv)
        except BaseException as exc:
            os.write(2, ("launcher: cannot run %s: %s\n" % (argv[0], exc)).encode())
        finally:
            os._exit(127)
    return pid
pending = list(enumerate(spec["cmds"]))
running = {}
done = []
t0 = time.perf_counter()
while pending or running:
    while pending and len(running) < spec["jobs"]:
        index, argv = pending.pop(0)
        running[start(argv)] = index
    pid, status, usage = os.wait4(-1, 0)
    if pid in running:
        done.append([running.pop(pid), os.waitstatus_to_exitcode(status), usage.ru_maxrss])
print(json.dumps({"seconds": time.perf_counter() - t0, "done": done}))
"""


class BenchFailure(RuntimeError):
    """A measured command failed or produced the wrong result; the benchmark numbers would be meaningless."""


@dataclass(frozen=True)
class Sample:
    """One measured run of one contender."""

    seconds: float
    peak_rss_kib: int
    processes: int = 1

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_kib / 1024

    def then(self, other: Sample) -> Sample:
        """Two steps run one after the other: times add up, the peak is the larger one."""
        return Sample(self.seconds + other.seconds, max(self.peak_rss_kib, other.peak_rss_kib), self.processes + other.processes)


def run_measured(
    cmds: list[list[str]],
    *,
    jobs: int = 1,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdout: Path | None = None,
    timeout: float = 1800,
) -> Sample:
    """Run *cmds* (one after another, or *jobs* at a time); raise BenchFailure if any exits non-zero.

    *stdout*, when given, receives every command's standard output (appended); standard error is
    kept in a temporary file and its tail is shown if a command fails.
    """
    with tempfile.NamedTemporaryFile(prefix="bench-stderr-", suffix=".log", delete=False) as err_file:
        err_path = Path(err_file.name)
    if stdout is not None:
        stdout.parent.mkdir(parents=True, exist_ok=True)
    spec = {
        "cmds": cmds,
        "jobs": jobs,
        "cwd": str(cwd) if cwd else None,
        "stdout": str(stdout) if stdout else None,
        "stderr": str(err_path),
    }
    try:
        proc = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, json.dumps(spec)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise BenchFailure(f"launcher failed: {proc.stderr.strip()[-800:]}")
        report = json.loads(proc.stdout)
        bad = [(cmds[index], code) for index, code, _ in report["done"] if code != 0]
        if bad:
            tail = err_path.read_text(errors="replace").strip()[-1500:]
            raise BenchFailure(f"'{' '.join(bad[0][0][:5])} ...' exited {bad[0][1]} ({len(bad)} of {len(cmds)} failed): {tail}")
        peaks = sorted((peak for _, _, peak in report["done"]), reverse=True)
        return Sample(report["seconds"], sum(peaks[:jobs]), len(cmds))
    finally:
        err_path.unlink(missing_ok=True)


def rounds(
    label: str,
    runs: int,
    say: Callable[[str], None],
    workdir: Path,
    contenders: dict[str, Callable[[Path], Sample]],
    *,
    keep: bool = True,
) -> list[tuple[Sample, ...]]:
    """Run every contender once per round, in turn, for *runs* rounds; their samples, in *contenders* order.

    Taking turns spreads a change in machine load over all contenders alike. Each contender gets its
    own directory, workdir/runN/NAME; with keep=False a round's directory is removed after it.
    """
    samples: dict[str, list[Sample]] = {name: [] for name in contenders}
    for run in range(runs):
        say(f"{label}: run {run + 1}/{runs}")
        run_dir = workdir / f"run{run}"
        for name, contender in contenders.items():
            samples[name].append(contender(run_dir / name))
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return [tuple(s) for s in samples.values()]


def launcher_floor_kib() -> int:
    """Peak RSS reported for `true`: what the launcher's fork contributes to every measurement."""
    return run_measured([["true"]]).peak_rss_kib


def median_seconds(samples: list[Sample] | tuple[Sample, ...]) -> float:
    return statistics.median(s.seconds for s in samples)


def max_peak_kib(samples: list[Sample] | tuple[Sample, ...]) -> int:
    return max(s.peak_rss_kib for s in samples)
