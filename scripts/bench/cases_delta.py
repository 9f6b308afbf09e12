"""Case pack_delta: a delta bundle against the full bundle of the same release and the bytes that changed.

Two releases share most of their bytes, as an upgrade does: the demo content, an unchanged
--pack-image-mb image and an operator image whose new version keeps its --pack-image-mb base layer and
replaces its --delta-changed-mb top layer; the newer release also bumps one plugin. The newer release
is packed twice per run, each into a new folder with a new oc-mirror cache: in full, and as a delta on
the older release's bundle (`pack --base`). The figures are the delta's size against the full bundle's
and against the bytes that really changed (the new operator image's manifest, config and new layer,
and the new plugin tarball, read from the source services), and the two pack times.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import requests
import yaml

from scripts.bench.cases_pack import _pack_env
from scripts.bench.images import push_filler_image, push_layered_image, write_random_layer
from scripts.bench.measure import BenchFailure, Sample, run_measured
from scripts.bench.results import CaseResult, Contender
from tests.services.demo_content import fill_demo_sources, write_demo_profile
from tests.services.npmpkg import make_tarball, npm_publish
from tests.services.registry import start_registry
from tests.services.verdaccio import start_verdaccio

_ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def _pack(profile: Path, bundle: Path, env: dict[str, str], report: Path, *extra: str) -> tuple[Sample, dict[str, object]]:
    import sys

    cmd = [sys.executable, "-m", "mirrorkit", "pack", "--profile", str(profile), "--output", str(bundle)]
    sample = run_measured([[*cmd, "--no-tls-verify", "--unsigned", "--quiet", "--json", *extra]], env=env, stdout=report)
    return sample, json.loads(report.read_text())


def _image_bytes(host: str, ref: str) -> int:
    """The bytes a registry holds for a single-platform image: its manifest, config and layers."""
    repo, tag = ref.removeprefix(f"{host}/").rsplit(":", 1)
    raw = requests.get(f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": _ACCEPT}, timeout=30).content
    doc = json.loads(raw)
    return len(raw) + doc["config"]["size"] + sum(layer["size"] for layer in doc["layers"])


def _profile(base: Path, out: Path, images: list[str], plugin: tuple[str, str] | None = None) -> Path:
    doc = yaml.safe_load(base.read_text())
    doc["mirror"]["additionalImages"] += [{"name": ref} for ref in images]
    if plugin is not None:
        doc["npm"]["packages"] = [
            f"{plugin[0]}@{plugin[1]}" if s.startswith(plugin[0] + "@") else s for s in doc["npm"]["packages"]
        ]
    out.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out


def delta_case(workdir: Path, *, image_mb: int, changed_mb: int, runs: int, say: Callable[[str], None]) -> CaseResult:
    say(f"pack_delta: source services, the demo content, a {image_mb} MiB image and a {changed_mb} MiB one bumped")
    workdir.mkdir(parents=True, exist_ok=True)
    registry, npm = start_registry(workdir / "registry"), start_verdaccio(workdir / "verdaccio")
    try:
        token = npm.add_user("publisher", "demo-pass")
        content = fill_demo_sources(registry.host, npm.url, token, workdir / "npm-work")
        demo = write_demo_profile(content, workdir / "demo.yaml", name="bench")
        big = push_filler_image(registry.host, "bench/payload", "1.0", image_mb, workdir)
        shared = write_random_layer(workdir / "operator-base.tar.gz", image_mb, name="usr/lib/operator-base.bin")
        old = push_layered_image(registry.host, "bench/operator", "1.0", shared, changed_mb, workdir)
        new = push_layered_image(registry.host, "bench/operator", "1.1", shared, changed_mb, workdir)
        shared.path.unlink()
        plugin = content.npm_packages[0]
        bumped = make_tarball(plugin.name, "1.8.1", payload_size=64 * 1024)
        npm_publish(npm.url, token, bumped, workdir / "npm-work")
        v1 = _profile(demo, workdir / "v1.yaml", [big, old])
        v2 = _profile(demo, workdir / "v2.yaml", [big, new], (plugin.name, "1.8.1"))
        changed = _image_bytes(registry.host, new) - shared.size + len(bumped.data)  # the shared layer did not change
        env = _pack_env(workdir / "base-home")
        _, base = _pack(v1, workdir / "base", env, workdir / "base.json")
        load_before = os.getloadavg()[0]
        full, delta = [], []
        full_bytes = delta_bytes = 0
        for run in range(runs):
            say(f"pack_delta: run {run + 1}/{runs}")
            run_dir = workdir / f"run{run}"
            run_dir.mkdir()
            sample, report = _pack(v2, run_dir / "full", _pack_env(run_dir / "h1"), run_dir / "full.json")
            full.append(sample)
            full_bytes = int(report["bytes"])  # type: ignore[call-overload]
            sample, report = _pack(
                v2, run_dir / "delta", _pack_env(run_dir / "h2"), run_dir / "delta.json", "--base", str(workdir / "base")
            )
            if "base" not in report:
                raise BenchFailure("pack --base did not write a delta bundle")
            delta.append(sample)
            delta_bytes = int(report["bytes"])  # type: ignore[call-overload]
    finally:
        registry.stop()
        npm.stop()
    mib = 2**20
    return CaseResult(
        "pack_delta",
        "Delta bundle of an upgrade",
        f"demo profile + {image_mb} MiB image + an operator image ({image_mb} MiB base layer, {changed_mb} MiB top layer); "
        f"the upgrade bumps the operator (new top layer, same base) and one plugin: "
        f"full {full_bytes / mib:.2f} MiB, delta {delta_bytes / mib:.2f} MiB ({delta_bytes / full_bytes:.1%} of full), "
        f"changed bytes {changed / mib:.2f} MiB (delta = {delta_bytes / changed:.3f} x changed)",
        Contender("mirrorkit pack --base (delta)", "mirrorkit pack --profile V2 --base V1_BUNDLE --output NEW_DIR", tuple(delta)),
        (Contender("mirrorkit pack (full)", "mirrorkit pack --profile V2 --output NEW_DIR", tuple(full)),),
        load_before,
        os.getloadavg()[0],
        (
            f"sizes: full {full_bytes} B, delta {delta_bytes} B, changed {changed} B, base {base['bytes']} B",
            "the delta still carries the manifest, SBOM, ImageSetConfiguration, npm index and oc-mirror's archive metadata",
            "images are copied by the oc-mirror test double (skopeo), not the real oc-mirror; each pack starts with an empty cache",
        ),
    )
