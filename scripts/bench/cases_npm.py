"""Cases 1 and 2: NPM plugins, mirrorkit against the npm client the docs use.

1. pull: `mirrorkit npm pull` vs `npm pack SPEC` for each package one after another (the documented
   method, cold npm cache) and vs the same `npm pack` commands run 8 at a time;
2. publish: `mirrorkit npm publish` vs `npm publish FILE.tgz` for each tarball, each tool into a
   freshly started, empty Verdaccio.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from scripts.bench.measure import BenchFailure, Sample, rounds, run_measured
from scripts.bench.npm_source import BenchSource, npm_env
from scripts.bench.results import CaseResult, Contender
from tests.services.verdaccio import start_verdaccio

PARALLEL_PACKS = 8


def _mirrorkit_env(home: Path, token: str | None = None) -> dict[str, str]:
    """No stray ~/.npmrc or npm_config_* settings from the user running the benchmark."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env["HOME"] = str(home)
    env.pop("NPM_TOKEN", None)
    if token:
        env["NPM_TOKEN"] = token
    return env


def _mirrorkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "mirrorkit", *args]


def _pull_mirrorkit(source: BenchSource, run_dir: Path, jobs: int) -> Sample:
    out_dir, report = run_dir / "mirror", run_dir / "pull.json"
    sample = run_measured(
        [
            _mirrorkit(
                "npm",
                "pull",
                *source.specs,
                "-o",
                str(out_dir),
                "--source-npm",
                source.url,
                "--jobs",
                str(jobs),
                "--quiet",
                "--json",
            )
        ],
        env=_mirrorkit_env(run_dir),
        stdout=report,
    )
    statuses = {p["status"] for p in json.loads(report.read_text())["packages"]}
    if statuses != {"downloaded"}:
        raise BenchFailure(f"mirrorkit npm pull: expected every package downloaded, got {sorted(statuses)}")
    return sample


def _pack_commands(source: BenchSource, cache: Path) -> list[list[str]]:
    return [["npm", "pack", spec, "--registry", source.url + "/", "--cache", str(cache)] for spec in source.specs]


def _npm_pack(source: BenchSource, run_dir: Path, jobs: int) -> Sample:
    run_dir.mkdir(parents=True, exist_ok=True)
    sample = run_measured(_pack_commands(source, run_dir / "npm-cache"), jobs=jobs, env=npm_env(run_dir), cwd=run_dir)
    made = len(list(run_dir.glob("*.tgz")))
    if made != len(source.specs):
        raise BenchFailure(f"npm pack wrote {made} tarballs, expected {len(source.specs)}")
    return sample


def npm_pull_case(source: BenchSource, workdir: Path, *, runs: int, jobs: int, say: Callable[[str], None]) -> CaseResult:
    load_before = os.getloadavg()[0]
    mk, seq, par = rounds(
        "npm pull",
        runs,
        say,
        workdir,
        {
            "mirrorkit": lambda run_dir: _pull_mirrorkit(source, run_dir, jobs),
            "npm-pack-seq": lambda run_dir: _npm_pack(source, run_dir, 1),
            "npm-pack-par": lambda run_dir: _npm_pack(source, run_dir, PARALLEL_PACKS),
        },
    )
    n = len(source.specs)
    return CaseResult(
        "npm_pull",
        "NPM pull",
        f"{n} packages, {source.total_bytes / 1e6:.1f} MB from Verdaccio",
        Contender(f"mirrorkit npm pull (jobs={jobs})", f"mirrorkit npm pull SPEC... -o DIR --jobs {jobs}", mk),
        (
            Contender("npm pack, one after another", "npm pack SPEC (x N, cold cache)", seq),
            Contender(f"npm pack, {PARALLEL_PACKS} at a time", f"npm pack SPEC (x N, {PARALLEL_PACKS} concurrent)", par),
        ),
        load_before,
        os.getloadavg()[0],
        (
            f"npm pack x{PARALLEL_PACKS}: peak RSS is the sum of the {PARALLEL_PACKS} largest per-process peaks (upper bound)",
            "mirrorkit also verifies sha512 and sha1 of every tarball against the registry and writes index.json",
        ),
    )


def prepare_publish_input(source: BenchSource, workdir: Path) -> tuple[Path, list[Path]]:
    """A mirror directory (index.json + tarballs) pulled once, unmeasured; both tools publish these same bytes."""
    _pull_mirrorkit(source, workdir, jobs=8)
    mirror = workdir / "mirror"
    return mirror, sorted(mirror.rglob("*.tgz"))


def _publish_mirrorkit(mirror: Path, run_dir: Path, jobs: int) -> Sample:
    server = start_verdaccio(run_dir / "verdaccio")
    try:
        token = server.add_user("bench", "bench-pass")
        report = run_dir / "publish.json"
        sample = run_measured(
            [_mirrorkit("npm", "publish", str(mirror), "--target-npm", server.url, "--jobs", str(jobs), "--quiet", "--json")],
            env=_mirrorkit_env(run_dir, token),
            stdout=report,
        )
    finally:
        server.stop()
    statuses = {p["status"] for p in json.loads(report.read_text())["packages"]}
    if statuses != {"published"}:
        raise BenchFailure(f"mirrorkit npm publish: expected every package published, got {sorted(statuses)}")
    return sample


def _publish_npm(tarballs: list[Path], run_dir: Path) -> Sample:
    server = start_verdaccio(run_dir / "verdaccio")
    try:
        token = server.add_user("bench", "bench-pass")
        host = server.url.split("://", 1)[1]
        npmrc = run_dir / "publish.npmrc"
        npmrc.write_text(f"//{host}/:_authToken={token}\n")
        env = {**npm_env(run_dir), "npm_config_userconfig": str(npmrc)}
        cmds = [
            [
                "npm",
                "publish",
                str(t),
                "--registry",
                server.url + "/",
                "--access",
                "public",
                "--tag",
                "latest",
                "--cache",
                str(run_dir / "npm-cache"),
            ]
            for t in tarballs
        ]
        return run_measured(cmds, env=env, cwd=run_dir)
    finally:
        server.stop()


def npm_publish_case(source: BenchSource, workdir: Path, *, runs: int, jobs: int, say: Callable[[str], None]) -> CaseResult:
    mirror, tarballs = prepare_publish_input(source, workdir / "input")
    load_before = os.getloadavg()[0]
    mk, seq = rounds(
        "npm publish",
        runs,
        say,
        workdir,
        {
            "mirrorkit": lambda run_dir: _publish_mirrorkit(mirror, run_dir, jobs),
            "npm-publish": lambda run_dir: _publish_npm(tarballs, run_dir),
        },
    )
    return CaseResult(
        "npm_publish",
        "NPM publish",
        f"{len(tarballs)} tarballs, {sum(t.stat().st_size for t in tarballs) / 1e6:.1f} MB into an empty Verdaccio",
        Contender(f"mirrorkit npm publish (jobs={jobs})", f"mirrorkit npm publish DIR --target-npm URL --jobs {jobs}", mk),
        (Contender("npm publish, one after another", "npm publish FILE.tgz (x N)", seq),),
        load_before,
        os.getloadavg()[0],
        (
            "each tool publishes into its own freshly started Verdaccio (start-up not timed)",
            "mirrorkit also reads back every published version and compares its integrity",
        ),
    )
