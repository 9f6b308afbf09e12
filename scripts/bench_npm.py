#!/usr/bin/env python3
"""Benchmark: `mirrorkit npm pull` of N plugin tarballs vs `npm pack` of the same N one after another.

The documented air-gap procedure runs `npm pack "<spec>" --registry=...` once per plugin. This script
starts its own Verdaccio (tests/services), publishes N packages of about SIZE bytes with the real npm
client, then times:

1. `npm pack <spec> --registry URL` for each spec, sequentially, with a cold npm cache (the docs' way);
2. `mirrorkit npm pull SPEC... -o DIR` as a fresh process (includes interpreter start-up);
3. the same `mirrorkit npm pull` again with nothing to do (every tarball re-verified from disk).

Usage:  .cache/venv/bin/python scripts/bench_npm.py [--count 20] [--size 1000000] [--jobs 8] [--json]

The setup and measure functions are importable (`from scripts.bench_npm import setup_source, ...`)
so a benchmark suite can reuse them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.services.npmpkg import make_tarball, npm_publish  # noqa: E402
from tests.services.verdaccio import LocalVerdaccio, start_verdaccio  # noqa: E402


@dataclass
class BenchSource:
    """A running Verdaccio holding the benchmark packages; call `stop()` when done."""

    server: LocalVerdaccio
    specs: list[str]
    total_bytes: int

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()


def setup_source(workdir: Path, *, count: int = 20, size: int = 1_000_000, publishers: int = 4) -> BenchSource:
    """Start Verdaccio under *workdir* and publish *count* packages of about *size* bytes with real npm."""
    server = start_verdaccio(workdir / "verdaccio")
    token = server.add_user("bench", "bench-pass")
    tarballs = [make_tarball(f"@bench/plugin-{i:02d}", "1.0.0", payload_size=size) for i in range(count)]

    def publish(i: int) -> None:
        npm_publish(server.url, token, tarballs[i], workdir / "publish" / str(i))

    with ThreadPoolExecutor(max_workers=publishers) as pool:
        list(pool.map(publish, range(count)))
    return BenchSource(server, [f"{t.name}@{t.version}" for t in tarballs], sum(len(t.data) for t in tarballs))


def npm_env(workdir: Path) -> dict[str, str]:
    """Environment for the npm client: an empty user config under *workdir*, no notifier/fund/audit calls."""
    npmrc = workdir / "empty.npmrc"
    npmrc.write_text("")
    return {**os.environ, "npm_config_userconfig": str(npmrc), "npm_config_update_notifier": "false",
            "npm_config_fund": "false", "npm_config_audit": "false"}


def measure_npm_pack(source: BenchSource, workdir: Path) -> float:
    """Seconds for `npm pack` of every spec, one after another, cold cache (as the docs do it)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = npm_env(workdir)
    cache = workdir / "npm-cache"
    start = time.perf_counter()
    for spec in source.specs:
        subprocess.run(["npm", "pack", spec, "--registry", source.url + "/", "--cache", str(cache)],
                       cwd=workdir, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def mirrorkit_command(source: BenchSource, out_dir: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "mirrorkit", "npm", "pull", *source.specs, "-o", str(out_dir),
            "--registry", source.url, "--jobs", str(jobs), "--quiet", "--json"]


def measure_mirrorkit_pull(source: BenchSource, out_dir: Path, *, jobs: int = 8) -> tuple[float, dict[str, object]]:
    """Seconds for one `mirrorkit npm pull` process, and its JSON report (check the statuses)."""
    env = {**os.environ, "HOME": str(out_dir.parent)}  # no stray ~/.npmrc
    start = time.perf_counter()
    proc = subprocess.run(mirrorkit_command(source, out_dir, jobs), env=env, check=True, capture_output=True, text=True, timeout=300)
    return time.perf_counter() - start, json.loads(proc.stdout)


def run(count: int, size: int, jobs: int) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="mirrorkit-bench-npm-"))
    try:
        t0 = time.perf_counter()
        source = setup_source(workdir, count=count, size=size)
        setup_s = time.perf_counter() - t0
        try:
            npm_s = measure_npm_pack(source, workdir / "npm-pack")
            first_s, first = measure_mirrorkit_pull(source, workdir / "mirror", jobs=jobs)
            second_s, second = measure_mirrorkit_pull(source, workdir / "mirror", jobs=jobs)
        finally:
            source.stop()
        statuses_first = {p["status"] for p in first["packages"]}  # type: ignore[index]
        statuses_second = {p["status"] for p in second["packages"]}  # type: ignore[index]
        assert statuses_first == {"downloaded"} and statuses_second == {"present"}, (statuses_first, statuses_second)
        return {
            "packages": count, "bytes": source.total_bytes, "jobs": jobs, "setup_s": round(setup_s, 2),
            "npm_pack_sequential_s": round(npm_s, 3), "mirrorkit_pull_s": round(first_s, 3),
            "mirrorkit_pull_nothing_to_do_s": round(second_s, 3), "speedup": round(npm_s / first_s, 1),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--size", type=int, default=1_000_000, help="payload bytes per package (incompressible)")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.count, args.size, args.jobs)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
