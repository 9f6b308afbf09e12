#!/usr/bin/env python3
"""Benchmarks that put mirrorkit beside the tools users would otherwise use, on local services.

Cases (each run --runs times; median time and largest peak RSS reported):
  npm_pull          mirrorkit npm pull   vs npm pack of each package, one after another and 8 at a time
  npm_publish       mirrorkit npm publish vs npm publish of each tarball (each into an empty Verdaccio)
  verify            mirrorkit verify     vs sha256sum -c and openssl dgst -sha256 over the same files
  bundle_inspect    mirrorkit bundle-images vs skopeo copy + tar -xzf each layer + grep
  pack_incremental  a second mirrorkit pack with nothing changed vs the first
  pack_delta        mirrorkit pack --base (a delta of an upgrade bumping an operator image, same base layer, and a plugin) vs the full
                    pack of the same release; sizes against the full bundle and the bytes that changed
  sync              mirrorkit sync (mirror to mirror, no bundle) vs mirrorkit pack then push, into empty targets
  catalog_plan      mirrorkit plan of 2 packages vs skopeo copy + tar -xzf + json load (1x and 2x catalog)
  ocmirror_overhead mirrorkit pack vs bare oc-mirror mirror-to-disk, and mirrorkit push vs bare oc-mirror
                    disk-to-mirror, same ImageSetConfiguration (additionalImages) and the same oc-mirror (the
                    test double), for a small release (--ocm-small-images) and a synthetic one of
                    --ocm-images random single-layer images totalling --ocm-mb MiB; each run starts from a
                    new output folder, oc-mirror cache and target registry. Reports the overhead %
                    (mirrorkit/bare - 1) and where mirrorkit's time goes: every oc-mirror call it makes is
                    timed through a wrapper given as --oc-mirror, the gaps between them are its own work

It starts its own docker-registry and Verdaccio instances (tests/services; run scripts/setup.sh first)
and works in a temporary directory that it removes at the end (unless --keep). The cases, their
fixtures and the measuring launcher live in the scripts/bench package; this is its one entry point.

  .cache/venv/bin/python scripts/bench.py                 # defaults: under 10 minutes on 2 cores
  .cache/venv/bin/python scripts/bench.py --quick --runs 1 --json
  .cache/venv/bin/python scripts/bench.py --cases verify --verify-size 16GiB
  .cache/venv/bin/python scripts/bench.py --cases verify --verify-jobs 1     # one hashing thread
  .cache/venv/bin/python scripts/bench.py --cases bundle_inspect --inspect-filler-mb 200
  .cache/venv/bin/python scripts/bench.py --cases ocmirror_overhead --runs 3        # 50 images, ~1 GiB
  .cache/venv/bin/python scripts/bench.py --cases ocmirror_overhead --runs 1 --quick  # 50 images, ~100 MiB
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from mirrorkit.bundle import parse_size  # noqa: E402
from scripts.bench.measure import BenchFailure, launcher_floor_kib  # noqa: E402
from scripts.bench.report import json_document, markdown  # noqa: E402
from scripts.bench.results import CaseResult  # noqa: E402
from tests.services.process import ServiceUnavailable  # noqa: E402

CASES = (
    "npm_pull",
    "npm_publish",
    "verify",
    "bundle_inspect",
    "pack_incremental",
    "catalog_plan",
    "ocmirror_overhead",
    "pack_delta",
    "sync",
)

#: programs each case runs besides mirrorkit (the local services are checked when they start)
TOOLS = {
    "npm_pull": ("node", "npm"),
    "npm_publish": ("node", "npm"),
    "verify": ("sha256sum", "openssl"),
    "bundle_inspect": ("skopeo", "tar", "grep"),
    "pack_incremental": ("skopeo", "node"),
    "catalog_plan": ("skopeo", "tar"),
    "ocmirror_overhead": ("skopeo", "node"),
    "pack_delta": ("skopeo", "node"),
    "sync": ("skopeo", "node"),
}

#: option -> (default, --quick value)
SIZES: dict[str, tuple[object, object]] = {
    "npm_count": (20, 4),
    "npm_size": (1_000_000, 100_000),
    "verify_size": ("4GiB", "64MiB"),
    "verify_files": (8, 4),
    "inspect_filler_mb": (100, 4),
    "pack_image_mb": (256, 2),
    "catalog_bundles": (8000, 40),
    "catalog_mb": (400.0, 2.0),
    "catalog_scales": ("1,2", "1"),
    "ocm_small_images": (5, 5),
    "ocm_small_mb": (10, 5),
    "ocm_images": (50, 50),
    "ocm_mb": (1024, 100),
    "delta_changed_mb": (8, 1),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per case; the median is reported [3]")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run (explicit size options still win)")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of the Markdown table")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of: {', '.join(CASES)}")
    parser.add_argument("--npm-count", type=int, help="packages to pull and publish [20; quick 4]")
    parser.add_argument("--npm-size", type=int, help="incompressible payload bytes per package [1000000; quick 100000]")
    parser.add_argument("--npm-jobs", type=int, default=8, help="mirrorkit npm pull --jobs [8, its default]")
    parser.add_argument("--publish-jobs", type=int, default=4, help="mirrorkit npm publish --jobs [4, its default]")
    parser.add_argument("--verify-size", help="total size of the bundle to verify [4GiB; quick 64MiB]")
    parser.add_argument("--verify-files", type=int, help="files in that bundle [8; quick 4]")
    parser.add_argument("--verify-jobs", type=int, help="mirrorkit verify --jobs [its default: one per CPU]")
    parser.add_argument("--inspect-filler-mb", type=int, help="MiB of filler layer in the bundle image [100; quick 4]")
    parser.add_argument("--pack-image-mb", type=int, help="MiB of the extra image in the pack profile [256; quick 2]")
    parser.add_argument("--catalog-bundles", type=int, help="bundles in the 1x synthetic catalog [8000; quick 40]")
    parser.add_argument("--catalog-mb", type=float, help="MB of FBC JSON in the 1x catalog [400; quick 2]")
    parser.add_argument("--catalog-scales", help="catalog sizes to run, multiples of the 1x one [1,2; quick 1]")
    parser.add_argument("--ocm-small-images", type=int, help="images in the small release of ocmirror_overhead [5; quick 5]")
    parser.add_argument("--ocm-small-mb", type=int, help="MiB of random layers in that small release [10; quick 5]")
    parser.add_argument(
        "--ocm-images", type=int, help="images in the synthetic release of ocmirror_overhead (0: skip it) [50; quick 50]"
    )
    parser.add_argument("--ocm-mb", type=int, help="MiB of random layers in the synthetic release [1024; quick 100]")
    parser.add_argument("--delta-changed-mb", type=int, help="MiB of the image pack_delta's upgrade bumps [8; quick 1]")
    parser.add_argument("--workdir", type=Path, help="where data and services live (default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    return parser


def _resolve(args: argparse.Namespace) -> dict[str, object]:
    options = {
        name: getattr(args, name) if getattr(args, name) is not None else pair[int(args.quick)] for name, pair in SIZES.items()
    }
    options["verify_size"] = parse_size(str(options["verify_size"]))
    options.update(npm_jobs=args.npm_jobs, publish_jobs=args.publish_jobs, verify_jobs=args.verify_jobs)
    return options


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_cases(
    selected: list[str], options: dict[str, object], runs: int, workdir: Path, say: Callable[[str], None] = _say
) -> list[CaseResult]:
    """Run the *selected* cases in order; each sets up (and stops) its own services under *workdir*."""
    from scripts.bench.cases_bundle import inspect_case, verify_case
    from scripts.bench.cases_npm import npm_publish_case, npm_pull_case
    from scripts.bench.cases_pack import pack_case
    from scripts.bench.npm_source import setup_source

    results: list[CaseResult] = []
    if {"npm_pull", "npm_publish"} & set(selected):
        say(f"npm: starting Verdaccio and publishing {options['npm_count']} packages of {options['npm_size']} bytes")
        source = setup_source(workdir / "npm", count=int(options["npm_count"]), size=int(options["npm_size"]))  # type: ignore[call-overload]
        try:
            if "npm_pull" in selected:
                results.append(npm_pull_case(source, workdir / "npm-pull", runs=runs, jobs=int(options["npm_jobs"]), say=say))  # type: ignore[call-overload]
            if "npm_publish" in selected:
                results.append(
                    npm_publish_case(source, workdir / "npm-publish", runs=runs, jobs=int(options["publish_jobs"]), say=say)
                )  # type: ignore[call-overload]
        finally:
            source.stop()
    if "verify" in selected:
        results.append(
            verify_case(
                workdir / "verify",
                size=int(options["verify_size"]),  # type: ignore[call-overload]
                files=int(options["verify_files"]),
                runs=runs,
                say=say,  # type: ignore[call-overload]
                jobs=options["verify_jobs"],
            )
        )  # type: ignore[arg-type]
    if "bundle_inspect" in selected:
        results.append(inspect_case(workdir / "inspect", filler_mb=int(options["inspect_filler_mb"]), runs=runs, say=say))  # type: ignore[call-overload]
    if "pack_incremental" in selected:
        results.append(pack_case(workdir / "pack", image_mb=int(options["pack_image_mb"]), runs=runs, say=say))  # type: ignore[call-overload]
    if "catalog_plan" in selected:
        from scripts.bench.cases_catalog import catalog_cases

        scales = tuple(int(s) for s in str(options["catalog_scales"]).split(",") if s.strip())
        results.extend(
            catalog_cases(
                workdir / "catalog",
                bundles=int(options["catalog_bundles"]),  # type: ignore[call-overload]
                fbc_mb=float(options["catalog_mb"]),
                scales=scales,
                runs=runs,
                say=say,
            )
        )  # type: ignore[arg-type]
    if "ocmirror_overhead" in selected:
        from scripts.bench.cases_ocmirror import ocmirror_cases

        results.extend(
            ocmirror_cases(
                workdir / "ocmirror",
                small_images=int(options["ocm_small_images"]),  # type: ignore[call-overload]
                small_mb=int(options["ocm_small_mb"]),  # type: ignore[call-overload]
                images=int(options["ocm_images"]),  # type: ignore[call-overload]
                total_mb=int(options["ocm_mb"]),  # type: ignore[call-overload]
                runs=runs,
                say=say,
            )
        )
    if "pack_delta" in selected:
        from scripts.bench.cases_delta import delta_case

        results.append(
            delta_case(
                workdir / "delta",
                image_mb=int(options["pack_image_mb"]),  # type: ignore[call-overload]
                changed_mb=int(options["delta_changed_mb"]),  # type: ignore[call-overload]
                runs=runs,
                say=say,
            )
        )
    if "sync" in selected:
        from scripts.bench.cases_sync import sync_case

        results.append(sync_case(workdir / "sync", image_mb=int(options["pack_image_mb"]), runs=runs, say=say))  # type: ignore[call-overload]
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    selected = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(selected) - set(CASES))
    if unknown or args.runs < 1:
        _parser().error(
            f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}" if unknown else "--runs must be at least 1"
        )
    if args.verify_jobs is not None and args.verify_jobs < 1:
        _parser().error("--verify-jobs must be at least 1")
    missing = sorted({tool for case in selected for tool in TOOLS[case] if shutil.which(tool) is None})
    if missing:
        print(
            f"bench: {', '.join(missing)} not found on PATH; run scripts/setup.sh (openssl, tar and grep come from "
            "the Debian packages of the same names), or leave the cases that need them out with --cases",
            file=sys.stderr,
        )
        return 2
    options = _resolve(args)
    workdir = args.workdir.absolute() if args.workdir else Path(tempfile.mkdtemp(prefix="mirrorkit-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    _say(f"working in {workdir}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    try:
        floor_mib = launcher_floor_kib() / 1024
        cases = run_cases(selected, options, args.runs, workdir)
    except BenchFailure as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except ServiceUnavailable as exc:
        print(f"bench: a local service could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - started
    _say(f"done in {total:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    if args.json:
        print(
            json.dumps(json_document(cases, runs=args.runs, floor_mib=floor_mib, options=options, total_seconds=total), indent=2)
        )
    else:
        command = " ".join([".cache/venv/bin/python", "scripts/bench.py", *argv])
        print(markdown(cases, runs=args.runs, floor_mib=floor_mib, command=command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
