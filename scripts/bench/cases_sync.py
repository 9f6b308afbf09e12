"""Case sync: the partially disconnected flow in one command against the two it replaces.

The source services hold the demo content plus a --pack-image-mb image. Each run writes into a new
pair of empty targets (registry and Verdaccio) twice: `mirrorkit sync` (oc-mirror mirror to mirror,
no bundle), and `mirrorkit pack` followed by `mirrorkit push` of that bundle, as a site without a
bastion that reaches both sides does. Both end with the same images, plugins and install files
(tests/test_sync_e2e.py checks that); the figures are the wall times and peak memory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from scripts.bench.cases_pack import _pack_env
from scripts.bench.images import push_filler_image
from scripts.bench.measure import Sample, run_measured
from scripts.bench.results import CaseResult, Contender
from tests.services.demo_content import fill_demo_sources, write_demo_profile
from tests.services.registry import start_registry
from tests.services.verdaccio import start_verdaccio


def _mirrorkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "mirrorkit", *args, "--no-tls-verify", "--quiet"]


def _targets(workdir: Path) -> tuple[str, str, str, Callable[[], None]]:
    """A new empty registry and npm server: (registry host, npm URL, token, stop)."""
    registry, npm = start_registry(workdir / "registry"), start_verdaccio(workdir / "verdaccio")

    def stop() -> None:
        registry.stop()
        npm.stop()

    return registry.host, npm.url, npm.add_user("bastion", "demo-pass"), stop


def sync_case(workdir: Path, *, image_mb: int, runs: int, say: Callable[[str], None]) -> CaseResult:
    say(f"sync: source services, the demo content and a {image_mb} MiB image")
    workdir.mkdir(parents=True, exist_ok=True)
    registry, npm = start_registry(workdir / "registry"), start_verdaccio(workdir / "verdaccio")
    try:
        content = fill_demo_sources(registry.host, npm.url, npm.add_user("publisher", "demo-pass"), workdir / "npm-work")
        profile = write_demo_profile(content, workdir / "profile.yaml", name="bench")
        big = push_filler_image(registry.host, "bench/payload", "1.0", image_mb, workdir)
        doc = yaml.safe_load(profile.read_text())
        doc["mirror"]["additionalImages"].append({"name": big})
        profile.write_text(yaml.safe_dump(doc, sort_keys=False))
        load_before = os.getloadavg()[0]
        synced: list[Sample] = []
        packed_pushed: list[Sample] = []
        for run in range(runs):
            say(f"sync: run {run + 1}/{runs}")
            run_dir = workdir / f"run{run}"
            host, url, token, stop = _targets(run_dir / "sync-targets")
            try:
                env = _pack_env(run_dir / "h1") | {"NPM_TOKEN": token}
                synced.append(
                    run_measured(
                        [
                            _mirrorkit(
                                "sync",
                                "--profile",
                                str(profile),
                                "--target-registry",
                                host,
                                "--target-npm",
                                url,
                                "-o",
                                str(run_dir / "sync"),
                            )
                        ],
                        env=env,
                    )
                )
            finally:
                stop()
            host, url, token, stop = _targets(run_dir / "push-targets")
            try:
                env = _pack_env(run_dir / "h2") | {"NPM_TOKEN": token}
                bundle = str(run_dir / "bundle")
                pack = _mirrorkit("pack", "--profile", str(profile), "-o", bundle, "--unsigned")
                push = _mirrorkit(
                    "push",
                    bundle,
                    "--target-registry",
                    host,
                    "--target-npm",
                    url,
                    "--allow-unsigned",
                    "-o",
                    str(run_dir / "push"),
                )
                packed_pushed.append(run_measured([pack, push], env=env))
            finally:
                stop()
    finally:
        registry.stop()
        npm.stop()
    return CaseResult(
        "sync",
        "Partially disconnected flow",
        f"demo profile + {image_mb} MiB image into empty targets: one sync against pack then push",
        Contender("mirrorkit sync", "mirrorkit sync --profile P --target-registry R --target-npm N -o OUT", tuple(synced)),
        (
            Contender(
                "mirrorkit pack + push",
                "mirrorkit pack --profile P -o B --unsigned; mirrorkit push B --target-registry R --target-npm N --allow-unsigned -o OUT",
                tuple(packed_pushed),
            ),
        ),
        load_before,
        os.getloadavg()[0],
        (
            "images are copied by the oc-mirror test double (skopeo), not the real oc-mirror; each run starts from new targets and caches",
            "pack + push is measured as one sequence (pack's peak RSS and push's, the larger reported)",
        ),
    )
