"""Case 5: `mirrorkit pack` run a second time with nothing changed, against the first run.

The source services hold the demo content (tests/services/demo_content.py: images, an operator
bundle image, four plugins) plus one extra image with a layer of --pack-image-mb random bytes, so
the first pack has real bytes to copy. The second pack into the same bundle directory should find
the image archives reusable and the plugins present, so its work is close to zero.

oc-mirror itself is not installed here: the test double in tests/ocmirror_double (which copies
images with skopeo as oc-mirror would) is put first on PATH, as scripts/demo.py does.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from scripts.bench.images import push_filler_image
from scripts.bench.measure import BenchFailure, Sample, run_measured
from scripts.bench.results import CaseResult, Contender
from tests.services.demo_content import fill_demo_sources, write_demo_profile
from tests.services.registry import start_registry
from tests.services.verdaccio import start_verdaccio

REPO_ROOT = Path(__file__).resolve().parents[2]
OC_MIRROR_DOUBLE = REPO_ROOT / "tests" / "ocmirror_double"


def _pack_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.pop("MIRRORKIT_OC_MIRROR", None)
    env["HOME"] = str(home)
    env["XDG_CACHE_HOME"] = str(home / ".cache")  # the bundle hash cache stays inside the run's folder
    env["PATH"] = os.pathsep.join([str(OC_MIRROR_DOUBLE), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _pack(profile: Path, bundle: Path, env: dict[str, str], report: Path) -> tuple[Sample, dict[str, object]]:
    sample = run_measured(
        [
            [
                sys.executable,
                "-m",
                "mirrorkit",
                "pack",
                "--profile",
                str(profile),
                "--output",
                str(bundle),
                "--no-tls-verify",
                "--unsigned",
                "--quiet",
                "--json",
            ]
        ],
        env=env,
        stdout=report,
    )
    return sample, json.loads(report.read_text())


def pack_case(workdir: Path, *, image_mb: int, runs: int, say: Callable[[str], None]) -> CaseResult:
    say(f"pack: starting source services, pushing the demo content and a {image_mb} MiB image")
    workdir.mkdir(parents=True, exist_ok=True)
    registry = start_registry(workdir / "registry")
    npm = start_verdaccio(workdir / "verdaccio")
    try:
        content = fill_demo_sources(registry.host, npm.url, npm.add_user("publisher", "demo-pass"), workdir / "npm-work")
        profile = write_demo_profile(content, workdir / "profile.yaml", name="bench")
        if image_mb:
            big = push_filler_image(registry.host, "bench/payload", "1.0", image_mb, workdir)
            doc = yaml.safe_load(profile.read_text())
            doc["mirror"]["additionalImages"].append({"name": big})
            profile.write_text(yaml.safe_dump(doc, sort_keys=False))
        load_before = os.getloadavg()[0]
        first, second = [], []
        bundle_bytes = 0
        for run in range(runs):
            say(f"pack: run {run + 1}/{runs}")
            run_dir = workdir / f"run{run}"
            run_dir.mkdir()
            env = _pack_env(run_dir)
            sample, report = _pack(profile, run_dir / "bundle", env, run_dir / "first.json")
            if report["archives_reused"]:
                raise BenchFailure("the first pack into an empty directory claims to reuse archives")
            first.append(sample)
            bundle_bytes = int(report["bytes"])  # type: ignore[call-overload]
            sample, report = _pack(profile, run_dir / "bundle", env, run_dir / "second.json")
            if not report["archives_reused"]:
                raise BenchFailure("the second pack with nothing changed did not reuse the image archives")
            second.append(sample)
    finally:
        registry.stop()
        npm.stop()
    return CaseResult(
        "pack_incremental",
        "Pack again, nothing changed",
        f"demo profile: {len(content.images) + (1 if image_mb else 0)} images, {len(content.npm_packages)} plugins, "
        f"bundle {bundle_bytes / 2**20:.1f} MiB",
        Contender("mirrorkit pack, second run", "mirrorkit pack --profile FILE --output SAME_DIR", tuple(second)),
        (Contender("mirrorkit pack, first run", "mirrorkit pack --profile FILE --output NEW_DIR", tuple(first)),),
        load_before,
        os.getloadavg()[0],
        (
            "images are copied by the oc-mirror test double (skopeo), not the real oc-mirror",
            "the second run still resolves every image and plugin at the sources; file hashes come from the hash cache (size, mtime, inode unchanged)",
        ),
    )
