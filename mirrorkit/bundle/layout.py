"""The transfer bundle's directory layout: what a user carries across the air gap.

::

    BUNDLE/
      manifest.json          canonical JSON: every payload file with size + sha256, npm packages with
                             integrity, the image list, the ImageSetConfiguration, versions, profile
      manifest.json.sig      detached Ed25519 signature over the exact bytes of manifest.json: the
                             raw 64 bytes, so ``openssl pkeyutl -verify -pubin -inkey NAME.pub -rawin
                             -in manifest.json -sigfile manifest.json.sig`` checks it without
                             mirrorkit (older bundles: one base64 line, still read); absent when not signed
      imageset-config.yaml   the ImageSetConfiguration oc-mirror ran with (also inside the manifest)
      sbom.cdx.json          CycloneDX 1.6 SBOM of the payload, a listed payload file (see bundle.sbom)
      images/                oc-mirror mirror-to-disk output: mirror_000001.tar, ... (+ working-dir/
                             bits that disk-to-mirror needs, if any)
      npm/                   plugin tarballs (<name>-<version>.tgz, scoped names flattened) and
                             index.json (name, version, integrity, file)
      charts/                Helm chart archives oc-mirror pulled (<name>-<version>.tgz): charts are
                             not pushed to a registry, the user installs them from the bastion
      parts/                 only with --split-size:
        parts.json           parts index: each part's name, size, sha256 and the whole stream's sha256
        bundle.part-0001     a tar stream of manifest.json, manifest.json.sig and every payload file,
        bundle.part-0002     cut at the split size (``cat parts/bundle.part-* | tar x`` also works)

Everything under the bundle except ``manifest.json``, ``manifest.json.sig`` and ``parts/`` is a
*payload* file and must be listed in the manifest; anything else found there is reported as unlisted.

What a user carries is either the *tree* (everything but ``parts/``) or the *parts* (``manifest.json``,
``manifest.json.sig`` and ``parts/``); the verifier recognises both and checks both when both are
present. The signature covers the manifest only; the manifest pins every payload byte by sha256,
so parts need no signature of their own: their index only helps to name the damaged part early.

Resume state (the hash cache) is never stored inside the bundle: it lives in the user's cache
directory (see :mod:`mirrorkit.bundle.hashcache`) so the bundle stays exactly what was signed.
"""

from __future__ import annotations

from pathlib import Path

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
ISC = "imageset-config.yaml"
SBOM = "sbom.cdx.json"
IMAGES_DIR = "images"
NPM_DIR = "npm"
NPM_INDEX = "npm/index.json"
CHARTS_DIR = "charts"
PARTS_DIR = "parts"
PARTS_INDEX = "parts/parts.json"
PART_PREFIX = "bundle.part-"

#: Top-level names that are the bundle's own bookkeeping, never payload.
RESERVED = frozenset({MANIFEST, SIGNATURE, PARTS_DIR})


def part_name(index: int) -> str:
    """Name of the *index*-th part (1-based): bundle.part-0001, ... (wider past 9999)."""
    return f"{PART_PREFIX}{index:04d}"


def check_outside(path: Path, bundle: Path, option: str) -> None:
    """Refuse a folder mirrorkit would write to (``--output``, ``--cache-dir``, ``--reassemble``) when
    it is the bundle or lies inside it: every file written there would be an unlisted file that makes
    the bundle fail verification (or, for pack, be pruned as stale on the next run)."""
    from mirrorkit.errors import InputError

    target, root = Path(path).resolve(), Path(bundle).resolve()
    if target == root or root in target.parents:
        raise InputError(
            f"{option} {path} is inside the bundle {bundle}",
            hint=f"choose a folder outside the bundle for {option}; the bundle must hold only what its manifest lists",
        )
