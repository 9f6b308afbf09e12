"""Cases 3 and 4: reading bundles, mirrorkit against the coreutils/openssl and podman-style ways.

3. verify: `mirrorkit verify` of a signed multi-file bundle vs `sha256sum -c` and sequential
   `openssl dgst -sha256` over the same files (page cache warm for everyone);
4. inspect: `mirrorkit bundle-images` of an operator bundle image in a local registry vs
   `skopeo copy docker://IMG dir:X`, `tar -xzf` of every layer and `grep` over manifests/ and
   metadata/ (the docs use podman create + podman cp + yq; this is the closest that runs here).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from scripts.bench.measure import BenchFailure, Sample, run_measured
from scripts.bench.results import CaseResult, Contender
from scripts.bench_bundle_inspect import push_bundle
from scripts.bench_verify import Timing, make_bundle, run_openssl, run_sha256sum, run_verify, warm
from tests.services.registry import start_registry


def _sample(timing: Timing) -> Sample:
    if not timing.ok:
        raise BenchFailure(f"{timing.name} failed")
    return Sample(timing.seconds, round(timing.max_rss_mib * 1024))


def verify_case(workdir: Path, *, size: int, files: int, runs: int, say: Callable[[str], None]) -> CaseResult:
    say(f"verify: writing and sealing a {size / 2**30:.2f} GiB bundle of {files} files")
    bundle, public, paths = make_bundle(workdir, size, files)
    warm(paths)
    load_before = os.getloadavg()[0]
    mk, sums, ssl = [], [], []
    for run in range(runs):
        say(f"verify: run {run + 1}/{runs}")
        mk.append(_sample(run_verify(bundle, public)))
        sums.append(_sample(run_sha256sum(bundle, paths, workdir / "SHA256SUMS")))
        ssl.append(_sample(run_openssl(paths)))
    total = sum(p.stat().st_size for p in paths)
    result = CaseResult(
        "verify", "Bundle verify", f"{files} files, {total / 2**30:.2f} GiB, warm page cache",
        Contender(f"mirrorkit verify (jobs={os.cpu_count()})", "mirrorkit verify DIR --verify-key PUB", tuple(mk)),
        (Contender("sha256sum -c", "sha256sum --quiet -c SHA256SUMS", tuple(sums)),
         Contender("openssl dgst -sha256, one file after another", "openssl dgst -sha256 FILE (x files)", tuple(ssl))),
        load_before, os.getloadavg()[0],
        ("mirrorkit also checks the Ed25519 signature of the manifest and the file list",),
    )
    shutil.rmtree(bundle, ignore_errors=True)  # gigabytes; not needed any more
    return result


def _inspect_mirrorkit(ref: str, run_dir: Path) -> Sample:
    run_dir.mkdir(parents=True, exist_ok=True)
    report = run_dir / "images.json"
    sample = run_measured([[sys.executable, "-m", "mirrorkit", "bundle-images", ref, "--no-tls-verify", "--format", "json"]],
                          env={**os.environ, "HOME": str(run_dir)}, stdout=report)
    if not json.loads(report.read_text())["images"]:
        raise BenchFailure("mirrorkit bundle-images found no images in the benchmark bundle")
    return sample


def _inspect_skopeo(ref: str, run_dir: Path) -> Sample:
    image_dir, root, found = run_dir / "image", run_dir / "root", run_dir / "grep.txt"
    run_dir.mkdir(parents=True, exist_ok=True)
    root.mkdir()
    copy = run_measured([["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"dir:{image_dir}"]])
    layers = [layer["digest"].partition(":")[2] for layer in json.loads((image_dir / "manifest.json").read_text())["layers"]]
    extract = run_measured([["tar", "-xzf", str(image_dir / digest), "-C", str(root)] for digest in layers])
    grep = run_measured([["grep", "-rhE", r"image:|Image(Tag)?:|containerImage", str(root / "manifests"), str(root / "metadata")]],
                        stdout=found)
    if not found.read_text().strip():
        raise BenchFailure("grep found no image references in the extracted bundle")
    return copy.then(extract).then(grep)


def inspect_case(workdir: Path, *, filler_mb: int, runs: int, say: Callable[[str], None]) -> CaseResult:
    say(f"inspect: starting a registry and pushing a bundle image with a {filler_mb} MiB filler layer")
    workdir.mkdir(parents=True, exist_ok=True)
    server = start_registry(workdir / "registry")
    try:
        ref = push_bundle(server.host, filler_mb, workdir)
        load_before = os.getloadavg()[0]
        mk, ref_samples = [], []
        for run in range(runs):
            say(f"inspect: run {run + 1}/{runs}")
            mk.append(_inspect_mirrorkit(ref, workdir / f"run{run}" / "mirrorkit"))
            ref_samples.append(_inspect_skopeo(ref, workdir / f"run{run}" / "skopeo"))
            shutil.rmtree(workdir / f"run{run}", ignore_errors=True)
    finally:
        server.stop()
    return CaseResult(
        "bundle_inspect", "Operator bundle inspection",
        f"bundle image: {filler_mb} MiB filler layer + manifests layer, local registry",
        Contender("mirrorkit bundle-images", "mirrorkit bundle-images IMG --no-tls-verify --format json", tuple(mk)),
        (Contender("skopeo copy + tar -xzf layers + grep", "skopeo copy docker://IMG dir:X; tar -xzf X/LAYER (each); grep -r manifests/",
                   tuple(ref_samples)),),
        load_before, os.getloadavg()[0],
        ("the reference only greps lines; mirrorkit parses the CSV, deployments and controllers ConfigMap into image references",),
    )
