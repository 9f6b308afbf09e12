"""Case 6: planning operator images from a catalog the size of Red Hat's operator index.

`mirrorkit plan` selecting two packages (catalog layers streamed once, only those packages' FBC
decoded, nothing written) vs what people do today: `skopeo copy` of the catalog image to a
directory, `tar -xzf` of every layer, then loading the package's FBC (`python -c json` over the
package folders). Run at 1x and 2x catalog size, to show time follows the catalog's compressed size.
Bundle-image discovery is off (`--no-discover`): the synthetic bundles are not pushed as images and
the reference pipeline does not inspect bundles either.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from scripts.bench.measure import BenchFailure, Sample, rounds, run_measured
from scripts.bench.results import CaseResult, Contender
from scripts.bench.unpack import skopeo_unpack
from tests.services.fbcbig import BigCatalog, build_big_catalog
from tests.services.registry import start_registry

_LOAD = r"""
import json, pathlib, sys
root = pathlib.Path(sys.argv[1])
count = 0
for pkg in sys.argv[2:]:
    for path in sorted((root / pkg).glob("*.json")):
        text, pos, dec = path.read_text(), 0, json.JSONDecoder()
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                break
            obj, pos = dec.raw_decode(text, pos)
            count += obj.get("schema") == "olm.bundle"
print(count)
"""


def _isc(path: Path, catalog: BigCatalog) -> Path:
    packages = "".join(f"    - name: {name}\n" for name in catalog.selected)
    path.write_text(
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n"
        f"  operators:\n  - catalog: {catalog.ref}\n    packages:\n{packages}"
    )
    return path


def _mirrorkit(catalog: BigCatalog, run_dir: Path) -> Sample:
    run_dir.mkdir(parents=True, exist_ok=True)
    out = run_dir / "plan.json"
    sample = run_measured(
        [
            [
                sys.executable,
                "-m",
                "mirrorkit",
                "plan",
                "--config",
                str(_isc(run_dir / "isc.yaml", catalog)),
                "--no-tls-verify",
                "--json",
                "--no-discover",
                "-q",
            ]
        ],
        env={**os.environ, "HOME": str(run_dir)},
        stdout=out,
    )
    roles = [i["role"] for i in json.loads(out.read_text())["images"]]
    if roles.count("bundle") != len(catalog.selected):  # head-only: one bundle per package (one channel each)
        raise BenchFailure(f"mirrorkit plan selected {roles.count('bundle')} bundles, expected {len(catalog.selected)}")
    return sample


def _reference(catalog: BigCatalog, run_dir: Path) -> Sample:
    unpacked, root = skopeo_unpack(catalog.ref, run_dir)
    out = run_dir / "count.txt"
    load = run_measured([[sys.executable, "-c", _LOAD, str(root / "configs"), *catalog.selected]], stdout=out)
    if int(out.read_text().strip() or 0) < len(catalog.selected):
        raise BenchFailure("the reference pipeline found no bundles of the selected packages")
    return unpacked.then(load)


def catalog_cases(
    workdir: Path, *, bundles: int, fbc_mb: float, scales: tuple[int, ...], runs: int, say: Callable[[str], None]
) -> list[CaseResult]:
    results: list[CaseResult] = []
    for scale in scales:
        where = workdir / f"x{scale}"
        server = start_registry(where / "registry")
        try:
            say(
                f"catalog: generating a {scale}x catalog ({bundles * scale} bundles, ~{fbc_mb * scale:.0f} MB FBC) and pushing it"
            )
            catalog = build_big_catalog(server.host, where / "gen", bundles=bundles * scale, fbc_mb=fbc_mb * scale)
            load_before = os.getloadavg()[0]
            mk, ref = rounds(
                f"catalog {scale}x",
                runs,
                say,
                where,
                {
                    "mirrorkit": partial(_mirrorkit, catalog),
                    "reference": partial(_reference, catalog),
                },
                keep=False,
            )
        finally:
            server.stop()
            shutil.rmtree(where, ignore_errors=True)
        results.append(
            CaseResult(
                "catalog_plan" if scale == 1 else f"catalog_plan_x{scale}",
                f"Catalog plan ({scale}x)",
                f"{catalog.packages} packages, {catalog.bundles} bundles, {catalog.fbc_bytes / 1e6:.0f} MB FBC JSON, "
                f"{catalog.layer_bytes / 1e6:.0f} MB gzip layer; 2 packages selected; local registry",
                Contender("mirrorkit plan", "mirrorkit plan --config ISC --no-tls-verify --json --no-discover", mk),
                (
                    Contender(
                        "skopeo copy + tar -xzf + json load",
                        "skopeo copy docker://CAT dir:X; tar -xzf X/LAYER (each); python json over configs/PKG",
                        ref,
                    ),
                ),
                load_before,
                os.getloadavg()[0],
                ("mirrorkit verifies every layer digest and decodes only the two packages' FBC; nothing is written to disk",),
            )
        )
    return results
