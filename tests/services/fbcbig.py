"""A synthetic operator index the size of Red Hat's (about 150 packages, 8,000 bundles, 400 MB of FBC JSON).

Bundles carry what makes the real index big: an `olm.bundle.object` property (a base64 CSV, as opm
writes) and an `olm.csv.metadata` property (description, annotations), with text drawn from a
vocabulary so the layer compresses like real FBC, not like zeros. The catalog layer is written to a
file as it is generated (tar + gzip, streaming) and pushed from the file, so building a 2x catalog
needs no more memory than one package.

    cat = build_big_catalog(host, workdir, bundles=8000, fbc_mb=400)
    cat.ref, cat.selected   # the catalog reference and two package names to plan for
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.services.images import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, make_layer

CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"
_WORDS = [
    "operator",
    "controller",
    "reconcile",
    "deployment",
    "service",
    "route",
    "secret",
    "configmap",
    "cluster",
    "namespace",
    "install",
    "upgrade",
    "channel",
    "bundle",
    "catalog",
    "image",
    "registry",
    "mirror",
    "openshift",
    "kubernetes",
    "custom",
    "resource",
    "definition",
    "schema",
    "spec",
    "status",
    "condition",
    "replicas",
    "selector",
    "template",
    "container",
    "volume",
    "mount",
    "port",
    "probe",
    "readiness",
    "liveness",
    "backup",
    "restore",
    "storage",
    "database",
    "cache",
    "queue",
    "stream",
    "event",
    "metric",
    "alert",
    "dashboard",
    "tenant",
    "policy",
    "role",
    "binding",
    "account",
    "token",
    "certificate",
    "issuer",
    "webhook",
    "validation",
    "mutation",
    "conversion",
    "version",
    "served",
    "stored",
]


@dataclass(frozen=True)
class BigCatalog:
    ref: str
    selected: tuple[str, ...]
    packages: int
    bundles: int
    fbc_bytes: int
    layer_bytes: int


def _text(rng: random.Random, size: int) -> str:
    words, total = [], 0
    while total < size:
        word = rng.choice(_WORDS) if rng.random() < 0.85 else f"{rng.getrandbits(32):08x}"
        words.append(word)
        total += len(word) + 1
    return " ".join(words)[:size]


def _bundle(rng: random.Random, pkg: str, version: str, replaces: str | None, host: str, payload: int) -> dict:
    name = f"{pkg}.v{version}"
    csv = {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {"name": name, "annotations": {"description": _text(rng, payload // 8)}},
        "spec": {
            "version": version,
            "replaces": replaces,
            "description": _text(rng, payload // 3),
            "customresourcedefinitions": {
                "owned": [{"name": f"things{i}.{pkg}.example.com", "description": _text(rng, 200)} for i in range(8)]
            },
        },
    }
    encoded = base64.b64encode(json.dumps(csv).encode()).decode()
    image = f"{host}/big/{pkg}-bundle@sha256:{hashlib.sha256(name.encode()).hexdigest()}"
    operator = f"{host}/big/{pkg}-operator@sha256:{hashlib.sha256((name + 'op').encode()).hexdigest()}"
    return {
        "schema": "olm.bundle",
        "name": name,
        "package": pkg,
        "image": image,
        "properties": [
            {"type": "olm.package", "value": {"packageName": pkg, "version": version}},
            {"type": "olm.gvk", "value": {"group": f"{pkg}.example.com", "kind": "Thing", "version": "v1"}},
            {"type": "olm.bundle.object", "value": {"data": encoded}},
            {
                "type": "olm.csv.metadata",
                "value": {"description": _text(rng, payload // 4), "annotations": {"alm-examples": _text(rng, 400)}},
            },
        ],
        "relatedImages": [{"name": "", "image": image}, {"name": "operator", "image": operator}],
    }


def package_json(rng: random.Random, pkg: str, count: int, host: str, payload: int) -> bytes:
    versions = [f"1.{i // 10}.{i % 10}" for i in range(count)]
    stable = [{"name": f"{pkg}.v{v}", **({"replaces": f"{pkg}.v{versions[i - 1]}"} if i else {})} for i, v in enumerate(versions)]
    out = io.StringIO()
    for obj in (
        {"schema": "olm.package", "name": pkg, "defaultChannel": "stable", "description": _text(rng, 2000)},
        {"schema": "olm.channel", "name": "stable", "package": pkg, "entries": stable},
    ):
        out.write(json.dumps(obj, indent=4) + "\n")
    for i, version in enumerate(versions):
        out.write(
            json.dumps(_bundle(rng, pkg, version, f"{pkg}.v{versions[i - 1]}" if i else None, host, payload), indent=4) + "\n"
        )
    return out.getvalue().encode()


def _push_file(session: requests.Session, host: str, repo: str, path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    ref = "sha256:" + digest.hexdigest()
    start = session.post(f"http://{host}/v2/{repo}/blobs/uploads/", timeout=30)
    start.raise_for_status()
    location = start.headers["Location"]
    location = f"http://{host}{location}" if location.startswith("/") else location
    with path.open("rb") as handle:
        done = session.put(
            f"{location}{'&' if '?' in location else '?'}digest={ref}",
            data=handle,
            timeout=600,
            headers={"Content-Type": "application/octet-stream"},
        )
    done.raise_for_status()
    return ref, path.stat().st_size


def _push_bytes(session: requests.Session, host: str, repo: str, data: bytes, workdir: Path) -> tuple[str, int]:
    path = workdir / "blob.tmp"
    path.write_bytes(data)
    try:
        return _push_file(session, host, repo, path)
    finally:
        path.unlink()


def _plan(rng: random.Random, bundles: int, fbc_mb: float, packages: int) -> tuple[list[str], list[int], int]:
    """(package names, bundle count of each, payload bytes per bundle): counts follow a Pareto
    law, so a few packages have hundreds of bundles, as in the real index."""
    weights = [rng.paretovariate(1.2) for _ in range(packages)]
    counts = [max(1, round(bundles * w / sum(weights))) for w in weights]
    counts[0] += bundles - sum(counts)
    if counts[0] < 1:
        counts[0] = 1
    payload = max(200, int(fbc_mb * 1e6 / max(1, sum(counts)) * 1.03))  # JSON framing adds the rest
    return [f"operator-{i:03d}" for i in range(packages)], counts, payload


def big_fbc_files(
    host: str, *, bundles: int = 8000, fbc_mb: float = 400, packages: int = 150, seed: int = 13
) -> Iterator[tuple[str, bytes]]:
    """(path under /configs, JSON stream) of each package, one at a time: what build_big_catalog
    writes into the catalog layer, produced without a registry so opm can validate it."""
    rng = random.Random(seed)
    names, counts, payload = _plan(rng, bundles, fbc_mb, packages)
    for name, count in zip(names, counts, strict=True):
        yield f"{name}/catalog.json", package_json(rng, name, count, host, payload)


def build_big_catalog(
    host: str,
    workdir: Path,
    *,
    bundles: int = 8000,
    fbc_mb: float = 400,
    packages: int = 150,
    repo: str = "big/redhat-operator-index",
    tag: str = "v4.19",
    seed: int = 13,
) -> BigCatalog:
    """Generate and push the catalog; bundle counts per package vary (a few packages have hundreds)."""
    workdir.mkdir(parents=True, exist_ok=True)
    names, counts, _ = _plan(random.Random(seed), bundles, fbc_mb, packages)
    layer_path = workdir / "configs.tar.gz"
    fbc_bytes = 0
    with tarfile.open(layer_path, "w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tar:
        for path, data in big_fbc_files(host, bundles=bundles, fbc_mb=fbc_mb, packages=packages, seed=seed):
            fbc_bytes += len(data)
            info = tarfile.TarInfo(f"configs/{path}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    session = requests.Session()
    base = make_layer({"bin/opm": os.urandom(4 << 20)})
    layers = [_push_bytes(session, host, repo, base, workdir), _push_file(session, host, repo, layer_path)]
    layer_path.unlink()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Labels": {CONFIGS_LABEL: "/configs"}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    ).encode()
    config_desc = _push_bytes(session, host, repo, config, workdir)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_desc[0], "size": config_desc[1]},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": d, "size": s} for d, s in layers],
        }
    ).encode()
    resp = session.put(
        f"http://{host}/v2/{repo}/manifests/{tag}", data=manifest, headers={"Content-Type": OCI_MANIFEST}, timeout=60
    )
    resp.raise_for_status()
    # two packages to plan for: the largest (the worst case for "load the package") and a small one
    largest = names[max(range(packages), key=lambda i: counts[i])]
    small = names[min(range(packages), key=lambda i: counts[i])]
    return BigCatalog(f"{host}/{repo}:{tag}", (largest, small), packages, sum(counts), fbc_bytes, layers[1][1])
