"""The reference tools' way to get at an image's files: `skopeo copy` to a directory, `tar -xzf` of every layer."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.bench.measure import Sample, run_measured


def skopeo_unpack(ref: str, run_dir: Path) -> tuple[Sample, Path]:
    """Copy *ref* (plain-http registry) to run_dir/image and unpack its layers in order into run_dir/root.

    Returns the two measured steps as one sample, and the root the layers were unpacked into.
    """
    image_dir, root = run_dir / "image", run_dir / "root"
    root.mkdir(parents=True)
    copy = run_measured([["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"dir:{image_dir}"]])
    layers = [layer["digest"].partition(":")[2] for layer in json.loads((image_dir / "manifest.json").read_text())["layers"]]
    extract = run_measured([["tar", "-xzf", str(image_dir / digest), "-C", str(root)] for digest in layers])
    return copy.then(extract), root
