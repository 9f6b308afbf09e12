#!/usr/bin/env python3
"""Peak memory of operator bundle inspection when the bundle image carries a large filler layer.

Pushes a bundle image (layer 1: FILLER_MB of incompressible data, gzip-compressed, streamed from a
temporary file; layer 2: the manifests/ and metadata/ of a Serverless-Logic-like bundle) to a local
registry, then inspects it in a fresh Python process and reports that process's peak RSS
(resource.getrusage) and the peak of Python allocations during the inspection (tracemalloc).

    .cache/venv/bin/python scripts/bench_bundle_inspect.py [--filler-mb 200] [--registry HOST:PORT]

Without --registry a throwaway docker-registry is started on 127.0.0.1 (as the tests do).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_filler_layer(path: Path, megabytes: int) -> tuple[str, int, str]:
    """A gzip tar with one file of random bytes, written in 1 MiB pieces; returns (digest, size, diff_id)."""
    raw_hash = hashlib.sha256()

    class HashingGzip:
        def __init__(self, target):
            self.target = target

        def write(self, data: bytes) -> int:
            raw_hash.update(data)
            return self.target.write(data)

    class RandomReader:
        def __init__(self, total: int):
            self.left = total

        def read(self, n: int = -1) -> bytes:
            n = self.left if n < 0 else min(n, self.left)
            self.left -= n
            return os.urandom(n)

    size = megabytes * 1024 * 1024
    with open(path, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
        with tarfile.open(fileobj=HashingGzip(gz), mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[arg-type]
            info = tarfile.TarInfo("usr/share/filler.bin")
            info.size = size
            tar.addfile(info, RandomReader(size))  # type: ignore[arg-type]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest(), path.stat().st_size, "sha256:" + raw_hash.hexdigest()


def push_file_blob(host: str, repo: str, path: Path, digest: str) -> None:
    import requests

    start = requests.post(f"http://{host}/v2/{repo}/blobs/uploads/", timeout=30)
    start.raise_for_status()
    location = start.headers["Location"]
    if location.startswith("/"):
        location = f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    with open(path, "rb") as fh:  # requests streams a file object
        done = requests.put(f"{location}{sep}digest={digest}", data=fh, timeout=600,
                            headers={"Content-Type": "application/octet-stream", "Content-Length": str(path.stat().st_size)})
    done.raise_for_status()


def push_bundle(host: str, filler_mb: int, workdir: Path) -> str:
    from tests.services.images import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, make_layer, push_blob, push_manifest
    from tests.test_operator_bundle import bundle_files

    repo = "bench/logic-operator-bundle"
    filler_path = workdir / "filler.tar.gz"
    t0 = time.monotonic()
    filler_digest, filler_size, filler_diff = write_filler_layer(filler_path, filler_mb)
    push_file_blob(host, repo, filler_path, filler_digest)
    filler_path.unlink()
    bundle_layer = make_layer(bundle_files())
    bundle_digest = push_blob(host, repo, bundle_layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [filler_diff]}}).encode()
    config_digest = push_blob(host, repo, config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [
            {"mediaType": OCI_LAYER_GZIP, "digest": filler_digest, "size": filler_size},
            {"mediaType": OCI_LAYER_GZIP, "digest": bundle_digest, "size": len(bundle_layer)},
        ],
    }).encode()
    push_manifest(host, repo, "bench", manifest, OCI_MANIFEST)
    print(f"pushed {host}/{repo}:bench: filler layer {filler_size / 1e6:.1f} MB compressed "
          f"({filler_mb} MiB uncompressed) in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    return f"{host}/{repo}:bench"


def measure(ref: str) -> dict[str, object]:
    """Run in a fresh process: RSS before/after, tracemalloc peak, wall time."""
    import tracemalloc

    from mirrorkit.oci.client import OciClient
    from mirrorkit.operator_bundle import inspect_bundle

    client = OciClient(tls_verify=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.monotonic()
    result = inspect_bundle(client, ref)
    elapsed = time.monotonic() - t0
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "ref": ref,
        "images_found": len(result.images),
        "seconds": round(elapsed, 2),
        "rss_peak_before_kib": before,
        "rss_peak_after_kib": after,
        "rss_growth_mib": round((after - before) / 1024, 1),
        "tracemalloc_peak_mib": round(traced_peak / (1024 * 1024), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filler-mb", type=int, default=200)
    parser.add_argument("--registry", help="an existing plain-http registry (HOST:PORT); default: start one")
    parser.add_argument("--measure", metavar="REF", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    with tempfile.TemporaryDirectory(prefix="mirrorkit-bench-") as tmp:
        workdir = Path(tmp)
        server = None
        host = args.registry
        if not host:
            from tests.services.registry import start_registry

            server = start_registry(workdir / "registry")
            host = server.host
        try:
            ref = push_bundle(host, args.filler_mb, workdir)
            proc = subprocess.run([sys.executable, __file__, "--measure", ref], capture_output=True, text=True, cwd=ROOT)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            report = json.loads(proc.stdout)
            report["filler_mib"] = args.filler_mb
            print(json.dumps(report, indent=2))
        finally:
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
