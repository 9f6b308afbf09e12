#!/usr/bin/env python3
"""Benchmark `mirrorkit verify` against sequential `openssl dgst -sha256` and `sha256sum -c`.

Usage: .cache/venv/bin/python scripts/bench_verify.py [--size 4GiB] [--files 8] [--dir DIR] [--keep] [--json]

It writes a signed bundle of --files files totalling --size (random 8 MiB blocks, varied per file),
warms the page cache, then times (wall clock, best of --repeat):
  * `mirrorkit verify BUNDLE --verify-key K --json` as a subprocess (peak RSS from wait4's rusage);
  * `openssl dgst -sha256 FILE` for each file, one after another;
  * `sha256sum -c SUMS` over the same files.
The functions (make_bundle, run_verify, run_openssl, run_sha256sum, warm) are importable by the
benchmark suite. Note: on a shared machine other processes compete for the cores; say so with numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mirrorkit.bundle import generate_keypair, parse_size, seal_bundle  # noqa: E402
from scripts.bench.measure import BenchFailure, run_measured  # noqa: E402

BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: float
    max_rss_mib: float
    ok: bool


def make_bundle(directory: Path, total: int, files: int) -> tuple[Path, Path, list[Path]]:
    """A signed bundle with *files* payload files totalling about *total* bytes; returns (bundle, pub, files)."""
    bundle = directory / "bundle"
    (bundle / "images").mkdir(parents=True, exist_ok=True)
    base = bytearray(os.urandom(BLOCK))
    per_file = total // files
    paths = []
    for n in range(files):
        path = bundle / "images" / f"mirror_{n + 1:06d}.tar"
        with open(path, "wb") as handle:
            written = 0
            i = 0
            while written < per_file:
                base[0:16] = n.to_bytes(8, "big") + i.to_bytes(8, "big")  # no two blocks alike
                chunk = base[: min(BLOCK, per_file - written)]
                handle.write(chunk)
                written += len(chunk)
                i += 1
        paths.append(path)
    private, public, _ = generate_keypair(directory / "bench-key", force=True)
    seal_bundle(bundle, profile="bench", sign_key=private, cache_file=False, progress=False)
    return bundle, public, paths


def warm(paths: list[Path]) -> None:
    """Read every file once so all contenders run on a warm page cache."""
    for path in paths:
        with open(path, "rb") as handle:
            while handle.read(BLOCK):
                pass


def _timed(name: str, argv_list: list[list[str]]) -> Timing:
    """Wall time of running the commands one after another; peak RSS of the largest one.

    Measured by the benchmark suite's launcher (scripts/bench/measure.py), so these figures share
    one method (and one launcher floor) with every other case of scripts/bench.py.
    """
    start = time.perf_counter()
    try:
        sample = run_measured(argv_list)
    except BenchFailure:
        return Timing(name, time.perf_counter() - start, 0.0, False)
    return Timing(name, sample.seconds, sample.peak_rss_mib, True)


def run_verify(bundle: Path, public: Path, jobs: int | None = None) -> Timing:
    argv = [sys.executable, "-m", "mirrorkit", "verify", str(bundle), "--verify-key", str(public), "--json"]
    if jobs:
        argv += ["--jobs", str(jobs)]
    return _timed(f"mirrorkit verify (jobs={jobs or os.cpu_count()})", [argv])


def run_openssl(paths: list[Path]) -> Timing:
    return _timed("openssl dgst -sha256, sequential", [["openssl", "dgst", "-sha256", str(p)] for p in paths])


def run_sha256sum(bundle: Path, paths: list[Path], sums: Path) -> Timing:
    from mirrorkit.bundle.manifest import Manifest

    manifest = Manifest.from_bytes((bundle / "manifest.json").read_bytes())
    sums.write_text("".join(f"{f.sha256}  {bundle / f.path}\n" for f in manifest.files))
    del paths
    return _timed("sha256sum -c", [["sha256sum", "--quiet", "-c", str(sums)]])


def best(fn, repeat: int) -> Timing:
    results = [fn() for _ in range(repeat)]
    return min(results, key=lambda t: t.seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="4GiB")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    work = args.dir or Path(tempfile.mkdtemp(prefix="mirrorkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        bundle, public, paths = make_bundle(work, parse_size(args.size), args.files)
        build = time.perf_counter() - t0
        warm(paths)
        results = {
            "verify": best(lambda: run_verify(bundle, public), args.repeat),
            "verify_1job": best(lambda: run_verify(bundle, public, 1), 1),
            "openssl": best(lambda: run_openssl(paths), args.repeat),
            "sha256sum": best(lambda: run_sha256sum(bundle, paths, work / "SUMS"), args.repeat),
        }
        summary = {
            "size_bytes": sum(p.stat().st_size for p in paths),
            "files": len(paths),
            "cpus": os.cpu_count(),
            "loadavg_1m": os.getloadavg()[0],
            "generate_and_seal_seconds": round(build, 2),
            "results": {k: asdict(v) for k, v in results.items()},
            "speedup_vs_openssl": round(results["openssl"].seconds / results["verify"].seconds, 2),
            "speedup_vs_sha256sum": round(results["sha256sum"].seconds / results["verify"].seconds, 2),
        }
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(f"{summary['files']} files, {summary['size_bytes'] / 2**30:.2f} GiB, {summary['cpus']} CPUs, "
                  f"load {summary['loadavg_1m']:.2f}")
            for t in results.values():
                print(f"  {t.name:40s} {t.seconds:7.2f} s  "
                      f"{summary['size_bytes'] / 2**20 / t.seconds:7.0f} MiB/s  peak RSS {t.max_rss_mib:6.1f} MiB"
                      f"  {'ok' if t.ok else 'FAILED'}")
            print(f"  speedup vs openssl sequential: {summary['speedup_vs_openssl']}x, vs sha256sum -c: "
                  f"{summary['speedup_vs_sha256sum']}x")
        return 0 if all(t.ok for t in results.values()) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
