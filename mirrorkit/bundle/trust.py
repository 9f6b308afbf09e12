"""Who must have signed a bundle before the bastion trusts it: the signed/unsigned policy.

Why a policy of its own: checksums alone prove nothing against an attacker, who recomputes them
(a forged bundle with every checksum fixed up and the signature removed verifies byte for byte).
Only the signature ties the manifest to the packing host's key, so on the bastion an
*unauthenticated* bundle is refused by default. A user who really has no key (a lab, a test)
says so with ``--allow-unsigned``; the report then keeps the "UNAUTHENTICATED" warning.

The verify key comes from ``--verify-key``, else the ``MIRRORKIT_VERIFY_KEY`` environment variable
(so a bastion configured once needs no flag on every run).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from mirrorkit.bundle import layout
from mirrorkit.errors import InputError
from mirrorkit.report.model import CheckItem, Report, Status
from mirrorkit.report.openssl import FINGERPRINT_RECIPE, OPENSSL_VERIFY

VERIFY_KEY_ENV = "MIRRORKIT_VERIFY_KEY"

#: The one-line reason a bundle without a verify key is refused, and what to do.
UNAUTHENTICATED_REFUSAL = (
    "no verify key: the bundle's origin cannot be checked (anyone can recompute checksums); "
    f"give --verify-key NAME.pub (or set {VERIFY_KEY_ENV}), or pass --allow-unsigned to accept an "
    "unauthenticated bundle"
)


def default_verify_key(given: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """*given*, else the key named by ``MIRRORKIT_VERIFY_KEY``; refuses a variable naming no file."""
    if given is not None:
        return Path(given)
    value = (os.environ if env is None else env).get(VERIFY_KEY_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise InputError(
            f"{VERIFY_KEY_ENV} names {path}, which is not a file",
            hint=f"point {VERIFY_KEY_ENV} at the NAME.pub of the packing key, or unset it",
        )
    return path


def enforce(report: Report, *, keyed: bool, allow_unsigned: bool) -> Report:
    """*report* with the signature policy applied: without a key and without *allow_unsigned* the
    "unauthenticated" warning becomes a failure (so verify exits 1 and push writes nothing)."""
    if keyed or allow_unsigned:
        return report
    items = tuple(
        dataclasses.replace(item, status=Status.FAILED, detail=UNAUTHENTICATED_REFUSAL)
        if item.category == "signature" and item.status is Status.WARNING
        else item
        for item in report.items
    )
    if not any(i.category == "signature" and i.failed for i in items):  # no signature item at all: add one
        items = (
            CheckItem(
                "signature",
                layout.MANIFEST,
                "signature checked with a verify key",
                "UNAUTHENTICATED: no verify key given",
                Status.FAILED,
                UNAUTHENTICATED_REFUSAL,
            ),
            *items,
        )
    return dataclasses.replace(report, items=items)


def how_to_check_independently(bundle: Path | str = "BUNDLE") -> tuple[str, str]:
    """(fingerprint recipe, signature check) a security team can run with openssl alone."""
    return FINGERPRINT_RECIPE, f"cd {bundle} && {OPENSSL_VERIFY}"


__all__ = ["UNAUTHENTICATED_REFUSAL", "VERIFY_KEY_ENV", "default_verify_key", "enforce", "how_to_check_independently"]
