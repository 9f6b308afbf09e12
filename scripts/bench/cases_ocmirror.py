"""Case 7: what mirrorkit adds around oc-mirror, as a share of the whole.

`mirrorkit pack --config ISC` is timed against bare `oc-mirror -c ISC file://DIR --v2` (mirror to
disk), and `mirrorkit push BUNDLE` against bare `oc-mirror -c ISC --from file://DIR docker://HOST/mirror
--v2` (disk to mirror), for the same ImageSetConfiguration (additionalImages only) on the same local
source registry. oc-mirror is the test double in tests/ocmirror_double (the real one cannot be built
here): both sides run that same script, so the difference is mirrorkit's own work (plan dry run, digest
and size lookups, hashing, manifest, signature, SBOM, bundle verification, target checks, reports).

Two releases: a small one (a handful of images) and a synthetic one (about 50 images of random,
incompressible single layers, about 1 GiB in all). Every measurement starts from a new output folder,
a new oc-mirror cache and, for the pushes, a new empty target registry (started before the clock).

Where mirrorkit's time goes: mirrorkit is given a small wrapper as `--oc-mirror` that records the wall
clock at the start and end of every oc-mirror call; the calls (version, dry run, mirror to disk, disk
to mirror) are reported by kind and the gaps between them are mirrorkit's own phases.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from mirrorkit.bundle import generate_keypair
from scripts.bench.images import push_filler_image
from scripts.bench.measure import BenchFailure, Sample, run_measured
from scripts.bench.results import CaseResult, Contender
from tests.services.process import free_port
from tests.services.registry import start_registry
from tests.services.verdaccio import start_verdaccio

REPO_ROOT = Path(__file__).resolve().parents[2]
OC_MIRROR = REPO_ROOT / "tests" / "ocmirror_double" / "oc-mirror"
PREFIX = "mirror"

#: what mirrorkit does in each gap between its oc-mirror calls (mirrorkit/pack.py and push.py, in order)
GAPS = {
    "pack": "pack's own phases: before `oc-mirror version`: Python start-up, imports, settling the ISC; after the "
    "dry run, before mirror-to-disk: resolving image digests and sizes at the source, the free-space check; after "
    "mirror-to-disk: moving the archives into the bundle, hashing them, manifest, SBOM, signature",
    "push": "push's own phases: before `oc-mirror version`: Python start-up, imports, verifying the bundle (every "
    "file hashed, signature), the pre-flight of the targets, linking the archives for oc-mirror; after disk-to-mirror: "
    "checking every image in the target registry, install files, reports (JSON, Markdown, HTML)",
}

_WRAPPER = """#!/bin/sh
# bench: time each oc-mirror call mirrorkit makes (start, end, exit status, arguments)
s=$(date +%s.%N)
"{binary}" "$@"
rc=$?
e=$(date +%s.%N)
printf '%s %s %s %s\\n' "$s" "$e" "$rc" "$*" >> "{log}"
exit $rc
"""


@dataclass(frozen=True)
class Release:
    label: str
    images: tuple[str, ...]
    image_mb: int

    @property
    def total_mb(self) -> int:
        return len(self.images) * self.image_mb


@dataclass(frozen=True)
class Timed:
    """One mirrorkit run: its sample and its phases (label, seconds) in order."""

    sample: Sample
    phases: tuple[tuple[str, float], ...]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.pop("MIRRORKIT_OC_MIRROR", None)
    env["HOME"] = str(home)
    env["XDG_CACHE_HOME"] = str(home / ".cache")  # no hash cache carried from one run to the next
    env["PATH"] = os.pathsep.join([str(OC_MIRROR.parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _kind(args: str) -> str:
    words = args.split()
    if "version" in words and "-c" not in words and "--config" not in words:
        return "version"
    if "--dry-run" in args:
        return "dry run"
    if "--from" in args:
        return "disk-to-mirror"
    if "file://" in args:
        return "mirror-to-disk"
    return "other"


def _wrapper(run_dir: Path) -> tuple[Path, Path]:
    log = run_dir / "oc-mirror-calls.log"
    wrapper = run_dir / "oc-mirror-timed"
    wrapper.write_text(_WRAPPER.format(binary=OC_MIRROR, log=log))
    wrapper.chmod(0o755)
    return wrapper, log


def _phases(log: Path, started: float, ended: float) -> tuple[tuple[str, float], ...]:
    """mirrorkit's wall time cut at each oc-mirror call: the calls, and mirrorkit's own time around them."""
    calls: list[tuple[float, float, str]] = []
    for line in log.read_text().splitlines() if log.exists() else []:
        begin, finish, _rc, args = line.split(" ", 3)
        calls.append((float(begin), float(finish), _kind(args)))
    calls.sort()
    phases: list[tuple[str, float]] = []
    cursor, previous = started, "start"
    for start, end, kind in calls:
        phases.append((f"mirrorkit: {previous} -> oc-mirror {kind}", max(0.0, start - cursor)))
        phases.append((f"oc-mirror {kind}", end - start))
        cursor, previous = end, f"after oc-mirror {kind}"
    phases.append((f"mirrorkit: {previous} -> exit", max(0.0, ended - cursor)))
    return tuple(phases)


def _isc(path: Path, images: tuple[str, ...]) -> Path:
    lines = ["apiVersion: mirror.openshift.io/v2alpha1", "kind: ImageSetConfiguration", "mirror:", "  additionalImages:"]
    lines += [f"    - name: {ref}" for ref in images]
    path.write_text("\n".join(lines) + "\n")
    return path


def _repositories(host: str) -> list[str]:
    resp = requests.get(f"http://{host}/v2/_catalog?n=1000", timeout=30)
    resp.raise_for_status()
    return list(resp.json().get("repositories") or [])


def _check_target(host: str, release: Release, who: str) -> None:
    repos = [r for r in _repositories(host) if r.startswith(f"{PREFIX}/")]
    if len(repos) != len(release.images):
        raise BenchFailure(f"{who} left {len(repos)} repositories under {PREFIX}/ in the target, expected {len(release.images)}")


def push_release(host: str, label: str, count: int, image_mb: int, workdir: Path) -> Release:
    """*count* images of one random *image_mb* MiB layer each, two pushed at a time."""
    repos = [f"bench/{label}/img-{n:03d}" for n in range(count)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        refs = list(
            pool.map(lambda repo: push_filler_image(host, repo, "1.0", image_mb, workdir / repo.replace("/", "-")), repos)
        )
    return Release(label, tuple(refs), image_mb)


def _mk_pack(isc: Path, key: Path, run_dir: Path) -> tuple[Timed, Path]:
    wrapper, log = _wrapper(run_dir)
    bundle = run_dir / "bundle"
    out = run_dir / "pack.json"
    cmd = [sys.executable, "-m", "mirrorkit", "pack", "--config", str(isc), "--output", str(bundle)]
    cmd += ["--sign-key", str(key), "--no-tls-verify", "--oc-mirror", str(wrapper), "--quiet", "--json"]
    started = time.time()
    sample = run_measured([cmd], env=_env(run_dir), stdout=out)
    ended = time.time()
    json.loads(out.read_text())  # the run printed its result
    return Timed(sample, _phases(log, started, ended)), bundle


def _mk_push(bundle: Path, pub: Path, host: str, npm_url: str, npm_token: str, run_dir: Path) -> Timed:
    wrapper, log = _wrapper(run_dir)
    out = run_dir / "push.json"
    cmd = [sys.executable, "-m", "mirrorkit", "push", str(bundle), "--target-registry", f"{host}/{PREFIX}"]
    cmd += ["--target-npm", npm_url, "--verify-key", str(pub), "--output", str(run_dir / "install")]
    cmd += ["--no-tls-verify", "--oc-mirror", str(wrapper), "--quiet", "--json"]
    env = {**_env(run_dir), "NPM_TOKEN": npm_token}
    started = time.time()
    sample = run_measured([cmd], env=env, stdout=out)
    ended = time.time()
    json.loads(out.read_text())
    return Timed(sample, _phases(log, started, ended))


def _bare_m2d(isc: Path, run_dir: Path) -> tuple[Sample, Path]:
    archive = run_dir / "archive"
    cmd = [str(OC_MIRROR), "-c", str(isc), f"file://{archive}", "--v2", "--src-tls-verify=false"]
    cmd += ["--cache-dir", str(run_dir / "cache"), "--port", str(free_port())]
    sample = run_measured([cmd], env=_env(run_dir), stdout=run_dir / "m2d.log")
    if not list(archive.glob("mirror_*.tar")):
        raise BenchFailure(f"bare oc-mirror mirror-to-disk wrote no mirror_*.tar in {archive}")
    return sample, archive


def _bare_d2m(isc: Path, archive: Path, host: str, run_dir: Path) -> Sample:
    cmd = [str(OC_MIRROR), "-c", str(isc), "--from", f"file://{archive}", f"docker://{host}/{PREFIX}", "--v2"]
    cmd += ["--dest-tls-verify=false", "--cache-dir", str(run_dir / "cache"), "--port", str(free_port())]
    return run_measured([cmd], env=_env(run_dir), stdout=run_dir / "d2m.log")


def _startup(run_dir: Path) -> Sample:
    """What any mirrorkit command costs before it does anything: the interpreter and the CLI's imports."""
    return run_measured([[sys.executable, "-m", "mirrorkit", "--help"]], env=_env(run_dir), stdout=run_dir / "help.txt")


def _split(timed: list[Timed], total: float, startup: float) -> str:
    """Median seconds of each phase over the runs, with its share of mirrorkit's median."""
    labels: list[str] = []
    for t in timed:
        labels += [label for label, _ in t.phases if label not in labels]
    parts = []
    for label in labels:
        values = [sum(s for name, s in t.phases if name == label) for t in timed]
        seconds = statistics.median(values)
        parts.append(f"{label} {seconds:.2f} s ({100 * seconds / total:.0f}%)")
    parts.append(f"[the first gap includes Python start-up and imports: `mirrorkit --help` takes {startup:.2f} s]")
    return "; ".join(parts)


def _own_share(timed: list[Timed]) -> str:
    """mirrorkit's time outside its oc-mirror transfer call, against that call, in the same run (less
    exposed to load changes between runs than mirrorkit vs bare, which are separate processes)."""
    transfer = ("oc-mirror mirror-to-disk", "oc-mirror disk-to-mirror")
    ratios, rests = [], []
    for t in timed:
        moved = sum(s for label, s in t.phases if label in transfer)
        rest = sum(s for label, s in t.phases if label not in transfer)
        rests.append(rest)
        ratios.append(rest / moved if moved else float("nan"))
    return (
        f"in-run overhead {100 * statistics.median(ratios):+.0f}% (median over runs of mirrorkit's time outside its "
        f"oc-mirror transfer call, {statistics.median(rests):.2f} s, divided by that call)"
    )


def _overhead(mk: Contender, bare: Contender) -> str:
    return (
        f"overhead {100 * (mk.seconds / bare.seconds - 1):+.0f}% (mirrorkit {mk.seconds:.2f} s / bare {bare.seconds:.2f} s - 1)"
    )


def _measure_release(
    release: Release, where: Path, *, runs: int, say: Callable[[str], None], npm_url: str, npm_token: str
) -> list[CaseResult]:
    where.mkdir(parents=True, exist_ok=True)
    isc = _isc(where / "isc.yaml", release.images)
    key, pub, _ = generate_keypair(where / "bench-key", force=True)
    packs: list[Timed] = []
    pushes: list[Timed] = []
    m2ds: list[Sample] = []
    d2ms: list[Sample] = []
    startups: list[float] = []
    load_before = os.getloadavg()[0]
    loads = [load_before]
    for run in range(runs):
        say(f"ocmirror {release.label}: run {run + 1}/{runs} (load {os.getloadavg()[0]:.2f})")
        run_dir = where / f"run{run}"
        run_dir.mkdir(parents=True)
        try:
            startups.append(_startup(run_dir).seconds)

            def mirrorkit_side(run_dir: Path = run_dir) -> None:
                (run_dir / "mk-pack").mkdir()
                timed, bundle = _mk_pack(isc, key, run_dir / "mk-pack")
                packs.append(timed)
                (run_dir / "mk-push").mkdir()
                target = start_registry(run_dir / "mk-push" / "target")
                try:
                    pushes.append(_mk_push(bundle, pub, target.host, npm_url, npm_token, run_dir / "mk-push"))
                    _check_target(target.host, release, "mirrorkit push")
                finally:
                    target.stop()

            def bare_side(run_dir: Path = run_dir) -> None:
                (run_dir / "bare-m2d").mkdir()
                sample, archive = _bare_m2d(isc, run_dir / "bare-m2d")
                m2ds.append(sample)
                (run_dir / "bare-d2m").mkdir()
                target = start_registry(run_dir / "bare-d2m" / "target")
                try:
                    d2ms.append(_bare_d2m(isc, archive, target.host, run_dir / "bare-d2m"))
                    _check_target(target.host, release, "bare oc-mirror disk-to-mirror")
                finally:
                    target.stop()

            # take turns at going first, so a change in load or a warmer page cache favours neither side
            for turn in (mirrorkit_side, bare_side) if run % 2 == 0 else (bare_side, mirrorkit_side):
                turn()
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        loads.append(os.getloadavg()[0])
    load_after = os.getloadavg()[0]
    workload = f"{release.label} release: {len(release.images)} additionalImages x {release.image_mb} MiB random layer ({release.total_mb} MiB)"
    load_note = "1-minute load average at each run's start and at the end: " + ", ".join(f"{x:.2f}" for x in loads)
    results = []
    for side, mk_timed, bare, bare_name, bare_cmd, mk_cmd in (
        (
            "pack",
            packs,
            m2ds,
            "bare oc-mirror mirror-to-disk",
            "oc-mirror -c ISC file://DIR --v2 --src-tls-verify=false --cache-dir NEW --port FREE",
            "mirrorkit pack --config ISC --output NEW --sign-key K --no-tls-verify --json",
        ),
        (
            "push",
            pushes,
            d2ms,
            "bare oc-mirror disk-to-mirror",
            f"oc-mirror -c ISC --from file://DIR docker://NEW_REGISTRY/{PREFIX} --v2 --dest-tls-verify=false --cache-dir NEW --port FREE",
            "mirrorkit push BUNDLE --target-registry NEW_REGISTRY/mirror --target-npm URL --verify-key K.pub --no-tls-verify --json",
        ),
    ):
        mk = Contender(f"mirrorkit {side}", mk_cmd, tuple(t.sample for t in mk_timed))
        ref = Contender(bare_name, bare_cmd, tuple(bare))
        results.append(
            CaseResult(
                f"ocmirror_overhead_{side}_{release.label}",
                f"oc-mirror overhead: {side} ({release.label})",
                workload,
                mk,
                (ref,),
                load_before,
                load_after,
                (
                    f"{side} {release.label}: {_overhead(mk, ref)}; {_own_share(mk_timed)}",
                    f"{side} {release.label}: where mirrorkit's time goes (medians): {_split(mk_timed, mk.seconds, statistics.median(startups))}",
                    f"{side} {release.label}: {load_note}",
                    GAPS[side],
                ),
            )
        )
    return results


def ocmirror_cases(
    workdir: Path,
    *,
    small_images: int,
    small_mb: int,
    images: int,
    total_mb: int,
    runs: int,
    say: Callable[[str], None],
) -> list[CaseResult]:
    """pack vs bare mirror-to-disk and push vs bare disk-to-mirror, for the small and the synthetic release."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = start_registry(workdir / "source")
    npm = start_verdaccio(workdir / "verdaccio")
    results: list[CaseResult] = []
    try:
        token = npm.add_user("bastion", "bench-pass")
        sizes = [("small", small_images, max(1, small_mb // max(1, small_images)))]
        sizes.append(("synthetic", images, max(1, total_mb // max(1, images))))
        for label, count, image_mb in sizes:
            if count < 1:
                continue
            say(f"ocmirror {label}: pushing {count} images of {image_mb} MiB random bytes to the source registry")
            release = push_release(source.host, label, count, image_mb, workdir / "gen")
            results += _measure_release(release, workdir / label, runs=runs, say=say, npm_url=npm.url, npm_token=token)
    finally:
        source.stop()
        npm.stop()
    return results
