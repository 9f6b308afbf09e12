"""Ed25519 keys and detached manifest signatures.

Why Ed25519: small keys, deterministic signatures (no RNG on the packing host at signing time),
one well-reviewed implementation in ``cryptography``; no algorithm choices for a user to get wrong.

Files:
* private key: PKCS#8 PEM, mode 0600, encrypted with the best available scheme when a passphrase is
  given (``-----BEGIN ENCRYPTED PRIVATE KEY-----``);
* public key: SubjectPublicKeyInfo PEM (``openssl pkey -pubin -in NAME.pub -text`` reads it);
* signature: ``manifest.json.sig``, the raw 64-byte Ed25519 signature over the exact bytes of
  ``manifest.json`` (nothing else: no encoding, no newline), so a security team can check a bundle
  without mirrorkit (:data:`mirrorkit.report.openssl.OPENSSL_VERIFY`). Bundles signed by older
  mirrorkit versions carry one line of base64 instead; :func:`decode_signature` still reads those
  (the two cannot be confused: base64 of 64 bytes is 88 characters).

Fingerprint: ``SHA256:`` + unpadded base64 of sha256 over the raw 32-byte public key. It looks like an
OpenSSH fingerprint on purpose (people know how to compare those) but hashes the raw key rather than
the SSH wire blob, so it is defined without any SSH encoding and can be recomputed with openssl alone
(:data:`mirrorkit.report.openssl.FINGERPRINT_RECIPE`: the DER SubjectPublicKeyInfo of an Ed25519 key
ends with the raw key).

Passphrases never come from a command-line literal (they would land in shell history and ``ps``):
``--passphrase-file`` or the ``MIRRORKIT_KEY_PASSPHRASE`` environment variable (or a tty prompt in the
CLI layer).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mirrorkit.errors import BundleError, InputError
from mirrorkit.fsutil import atomic_write_bytes

PASSPHRASE_ENV = "MIRRORKIT_KEY_PASSPHRASE"

_SIGNATURE_BYTES = 64


def passphrase_from(passphrase_file: Path | None = None, env: Mapping[str, str] | None = None) -> bytes | None:
    """The passphrase from a file (first line, trailing newline stripped) or the environment."""
    if passphrase_file is not None:
        try:
            text = Path(passphrase_file).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read passphrase file {passphrase_file}", exc.strerror or str(exc)) from None
        line = text.splitlines()[0] if text.strip() else b""
        if not line:
            raise InputError(f"passphrase file {passphrase_file} is empty", hint="write the passphrase on its first line")
        return line
    value = (os.environ if env is None else env).get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


def fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode("ascii").rstrip("=")


def generate_keypair(out_prefix: Path, passphrase: bytes | None = None, *, force: bool = False) -> tuple[Path, Path, str]:
    """Write ``<prefix>.pem`` (private, 0600) and ``<prefix>.pub``; return (private, public, fingerprint)."""
    prefix = Path(out_prefix)
    private_path = prefix.with_name(prefix.name + ".pem")
    public_path = prefix.with_name(prefix.name + ".pub")
    if not force:
        existing = [str(p) for p in (private_path, public_path) if p.exists() or p.is_symlink()]
        if existing:
            raise InputError(
                f"refusing to overwrite {', '.join(existing)}",
                hint="choose another -o NAME, or pass --force to replace the key pair (bundles signed with the old key will no longer verify with the new one)",
            )
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    atomic_write_bytes(private_path, private_pem, mode=0o600)
    atomic_write_bytes(public_path, public_pem, mode=0o644)
    return private_path, public_path, fingerprint(key.public_key())


def load_private_key(path: Path, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read signing key {path}", exc.strerror or str(exc)) from None
    encrypted = b"ENCRYPTED" in data.split(b"\n", 1)[0]
    if encrypted and not passphrase:
        raise InputError(
            f"signing key {path} is passphrase-protected",
            hint=f"give the passphrase with --passphrase-file FILE or the {PASSPHRASE_ENV} environment variable",
        )
    try:
        key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
    except (ValueError, TypeError) as exc:
        why = "wrong passphrase" if encrypted else f"not a PEM private key ({exc})"
        raise InputError(f"cannot load signing key {path}", why, "check the key file and passphrase") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"signing key {path} is not an Ed25519 key", hint="create one with 'mirrorkit keygen -o NAME'")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read verify key {path}", exc.strerror or str(exc)) from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        hint = (
            "give the .pub file, not the private key"
            if b"PRIVATE KEY" in data
            else "give the NAME.pub written by 'mirrorkit keygen'"
        )
        raise InputError(f"verify key {path} is not a PEM public key", hint=hint) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(
            f"verify key {path} is not an Ed25519 public key", hint="give the NAME.pub written by 'mirrorkit keygen'"
        )
    return key


def sign(manifest_bytes: bytes, private_key_path: Path, passphrase: bytes | None = None) -> tuple[bytes, str]:
    """Return (signature file content: the raw 64 bytes, signer fingerprint) for the exact *manifest_bytes*."""
    key = load_private_key(private_key_path, passphrase)
    return key.sign(manifest_bytes), fingerprint(key.public_key())


def write_signature(sig_path: Path, manifest_bytes: bytes, private_key_path: Path, passphrase: bytes | None = None) -> str:
    content, fp = sign(manifest_bytes, private_key_path, passphrase)
    atomic_write_bytes(sig_path, content)
    return fp


def decode_signature(content: bytes) -> bytes:
    """The raw signature from a .sig file: 64 raw bytes (this format) or one base64 line (older bundles)."""
    if len(content) == _SIGNATURE_BYTES:
        return content
    if len(content) > 128:  # never decode something far larger than either form
        raise BundleError(
            f"signature file is {len(content)} bytes, an Ed25519 signature is {_SIGNATURE_BYTES}",
            hint="the bundle is damaged; copy it again from the connected host",
        )
    try:
        raw = base64.b64decode(content.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BundleError(
            f"signature file is neither a raw {_SIGNATURE_BYTES}-byte signature nor base64",
            hint="the bundle is damaged; copy it again from the connected host",
        ) from None
    if len(raw) != _SIGNATURE_BYTES:
        raise BundleError(
            f"signature is {len(raw)} bytes, an Ed25519 signature is {_SIGNATURE_BYTES}",
            hint="the bundle is damaged; copy it again from the connected host",
        )
    return raw


def verify_signature(manifest_bytes: bytes, signature_content: bytes, public_key: Ed25519PublicKey) -> bool:
    """True when *signature_content* (the .sig file) is a valid signature of *manifest_bytes* by the key."""
    raw = decode_signature(signature_content)
    try:
        public_key.verify(raw, manifest_bytes)
    except InvalidSignature:
        return False
    return True
