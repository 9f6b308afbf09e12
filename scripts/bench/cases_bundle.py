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

from mirrorkit.bundle.manifest import Manifest
from scripts.bench.images import push_bundle
from scripts.bench.measure import BenchFailure, Sample, rounds, run_measured
from scripts.bench.results import CaseResult, Contender
from scripts.bench.signed_bundle import make_bundle, warm
from scripts.bench.unpack import skopeo_unpack
from tests.services.registry import start_registry


def _verify_mirrorkit(bundle: Path, public: Path, jobs: int | None) -> Sample:
    argv = [sys.executable, "-m", "mirrorkit", "verify", str(bundle), "--verify-key", str(public), "--json"]
    return run_measured([argv + (["--jobs", str(jobs)] if jobs else [])])


def _push_copy(bundle: Path, dest: Path) -> Sample:
    """What push adds before oc-mirror reads the archives: each one copied into push's work folder
    while the copy is hashed and compared with the verified manifest (issue 22)."""
    code = (
        "import sys; from pathlib import Path; from mirrorkit.bundle.manifest import Manifest; "
        "from mirrorkit.bundle.snapshot import snapshot_archives, remove_archives; "
        "b = Path(sys.argv[1]); d = Path(sys.argv[2]); "
        "snapshot_archives(b, Manifest.from_bytes((b / 'manifest.json').read_bytes()), d); remove_archives(d)"
    )
    return run_measured([[sys.executable, "-c", code, str(bundle), str(dest)]])


def _write_sums(bundle: Path, sums: Path) -> Path:
    """A sha256sum check file of the bundle's payload, from its (sealed) manifest."""
    manifest = Manifest.from_bytes((bundle / "manifest.json").read_bytes())
    sums.write_text("".join(f"{f.sha256}  {bundle / f.path}\n" for f in manifest.files))
    return sums


def verify_case(
    workdir: Path, *, size: int, files: int, runs: int, say: Callable[[str], None], jobs: int | None = None
) -> CaseResult:
    """*jobs*: mirrorkit verify --jobs (None: its default, one hashing thread per CPU)."""
    say(f"verify: writing and sealing a {size / 2**30:.2f} GiB bundle of {files} files")
    bundle, public, paths = make_bundle(workdir, size, files)
    sums_file = _write_sums(bundle, workdir / "SHA256SUMS")
    warm(paths)
    load_before = os.getloadavg()[0]
    mk, sums, ssl, copy = rounds(
        "verify",
        runs,
        say,
        workdir,
        {
            "mirrorkit": lambda _: _verify_mirrorkit(bundle, public, jobs),
            "sha256sum": lambda _: run_measured([["sha256sum", "--quiet", "-c", str(sums_file)]]),
            "openssl": lambda _: run_measured([["openssl", "dgst", "-sha256", str(p)] for p in paths]),
            "push-copy": lambda _: _push_copy(bundle, workdir / "push-copy"),
        },
    )
    total = sum(p.stat().st_size for p in paths)
    jobs_flag = f" --jobs {jobs}" if jobs else ""
    result = CaseResult(
        "verify",
        "Bundle verify",
        f"{files} files, {total / 2**30:.2f} GiB, warm page cache",
        Contender(f"mirrorkit verify (jobs={jobs or os.cpu_count()})", f"mirrorkit verify DIR --verify-key PUB{jobs_flag}", mk),
        (
            Contender("sha256sum -c", "sha256sum --quiet -c SHA256SUMS", sums),
            Contender("openssl dgst -sha256, one file after another", "openssl dgst -sha256 FILE (x files)", ssl),
            Contender(
                "push: copy the archives while hashing them (not an alternative: push's cost before oc-mirror reads)",
                "mirrorkit.bundle.snapshot.snapshot_archives",
                copy,
            ),
        ),
        load_before,
        os.getloadavg()[0],
        ("mirrorkit also checks the Ed25519 signature of the manifest and the file list",),
    )
    shutil.rmtree(bundle, ignore_errors=True)  # gigabytes; not needed any more
    return result


def _inspect_mirrorkit(ref: str, run_dir: Path) -> Sample:
    run_dir.mkdir(parents=True, exist_ok=True)
    report = run_dir / "images.json"
    sample = run_measured(
        [[sys.executable, "-m", "mirrorkit", "bundle-images", ref, "--no-tls-verify", "--format", "json"]],
        env={**os.environ, "HOME": str(run_dir)},
        stdout=report,
    )
    if not json.loads(report.read_text())["images"]:
        raise BenchFailure("mirrorkit bundle-images found no images in the benchmark bundle")
    return sample


def _inspect_skopeo(ref: str, run_dir: Path) -> Sample:
    unpacked, root = skopeo_unpack(ref, run_dir)
    found = run_dir / "grep.txt"
    grep = run_measured(
        [["grep", "-rhE", r"image:|Image(Tag)?:|containerImage", str(root / "manifests"), str(root / "metadata")]], stdout=found
    )
    if not found.read_text().strip():
        raise BenchFailure("grep found no image references in the extracted bundle")
    return unpacked.then(grep)


def inspect_case(workdir: Path, *, filler_mb: int, runs: int, say: Callable[[str], None]) -> CaseResult:
    say(f"inspect: starting a registry and pushing a bundle image with a {filler_mb} MiB filler layer")
    workdir.mkdir(parents=True, exist_ok=True)
    server = start_registry(workdir / "registry")
    try:
        ref = push_bundle(server.host, filler_mb, workdir)
        load_before = os.getloadavg()[0]
        mk, ref_samples = rounds(
            "inspect",
            runs,
            say,
            workdir,
            {
                "mirrorkit": lambda run_dir: _inspect_mirrorkit(ref, run_dir),
                "skopeo": lambda run_dir: _inspect_skopeo(ref, run_dir),
            },
            keep=False,
        )
    finally:
        server.stop()
    return CaseResult(
        "bundle_inspect",
        "Operator bundle inspection",
        f"bundle image: {filler_mb} MiB filler layer + manifests layer, local registry",
        Contender("mirrorkit bundle-images", "mirrorkit bundle-images IMG --no-tls-verify --format json", mk),
        (
            Contender(
                "skopeo copy + tar -xzf layers + grep",
                "skopeo copy docker://IMG dir:X; tar -xzf X/LAYER (each); grep -r manifests/",
                ref_samples,
            ),
        ),
        load_before,
        os.getloadavg()[0],
        (
            "the reference only greps lines; mirrorkit parses the CSV, deployments and controllers ConfigMap into image references",
        ),
    )
