"""The signed transfer bundle: layout, manifest, hashing, signing, parts and verification.

Public entry points (see each module for the why):

* :func:`seal_bundle` (pack's last step), :func:`check_free_space`, :func:`scan`;
* :func:`verify_bundle` -> :class:`mirrorkit.report.Report`, :func:`reassemble`;
* :func:`generate_keypair`, :func:`sign`, :func:`verify_signature`, :func:`fingerprint`;
* :class:`Manifest`, :class:`FileEntry`, :class:`NpmPackage`, :class:`ImageEntry`;
* :func:`parse_size`.
"""

from __future__ import annotations

from mirrorkit.bundle.build import check_free_space, scan, seal_bundle, write_manifest
from mirrorkit.bundle.manifest import FileEntry, ImageEntry, Manifest, NpmPackage
from mirrorkit.bundle.parts import parse_size
from mirrorkit.bundle.signing import fingerprint, generate_keypair, sign, verify_signature
from mirrorkit.bundle.verify import Checker, reassemble, verify_bundle

__all__ = [
    "Checker",
    "FileEntry",
    "ImageEntry",
    "Manifest",
    "NpmPackage",
    "check_free_space",
    "fingerprint",
    "generate_keypair",
    "parse_size",
    "reassemble",
    "scan",
    "seal_bundle",
    "sign",
    "verify_bundle",
    "verify_signature",
    "write_manifest",
]
