"""`mirrorkit keygen` and the signing primitives."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import subprocess
from pathlib import Path

import pytest

from mirrorkit.bundle.signing import (
    PASSPHRASE_ENV,
    fingerprint,
    generate_keypair,
    load_private_key,
    load_public_key,
    sign,
    verify_signature,
)
from mirrorkit.errors import InputError


def test_keygen_writes_pair_and_prints_fingerprint(cli_run, tmp_path: Path):
    code, out, err = cli_run("keygen", "-o", tmp_path / "k")
    assert code == 0, err
    pem, pub = tmp_path / "k.pem", tmp_path / "k.pub"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert pem.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    fp = fingerprint(load_public_key(pub))
    assert f"fingerprint: {fp}" in out


def test_fingerprint_matches_documented_openssl_recipe(tmp_path: Path):
    _, pub, fp = generate_keypair(tmp_path / "k")
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(pub), "-outform", "DER"], capture_output=True, check=True
    ).stdout
    expected = "SHA256:" + base64.b64encode(hashlib.sha256(der[-32:]).digest()).decode().rstrip("=")
    assert fp == expected


def test_keygen_refuses_overwrite_unless_forced(cli_run, tmp_path: Path):
    assert cli_run("keygen", "-o", tmp_path / "k")[0] == 0
    before = (tmp_path / "k.pem").read_bytes()
    code, _, err = cli_run("keygen", "-o", tmp_path / "k")
    assert code == 2 and "refusing to overwrite" in err and "--force" in err
    assert (tmp_path / "k.pem").read_bytes() == before
    code, out, _ = cli_run("keygen", "-o", tmp_path / "k", "--force", "--json")
    assert code == 0 and json.loads(out)["encrypted"] is False
    assert (tmp_path / "k.pem").read_bytes() != before


def test_passphrase_file_encrypts_and_is_required(cli_run, tmp_path: Path, monkeypatch):
    pw = tmp_path / "pw"
    pw.write_text("correct horse\n")
    code, out, err = cli_run("keygen", "-o", tmp_path / "k", "--passphrase-file", pw)
    assert code == 0, err
    assert "correct horse" not in out + err
    pem = tmp_path / "k.pem"
    assert pem.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(InputError, match="passphrase-protected"):
        load_private_key(pem)
    with pytest.raises(InputError, match="wrong passphrase"):
        load_private_key(pem, b"wrong")
    sig, _fp = sign(b"data", pem, b"correct horse")
    assert verify_signature(b"data", sig, load_public_key(tmp_path / "k.pub"))
    assert not verify_signature(b"datA", sig, load_public_key(tmp_path / "k.pub"))
    monkeypatch.setenv(PASSPHRASE_ENV, "from env")
    code, _, _ = cli_run("keygen", "-o", tmp_path / "e")
    assert code == 0
    load_private_key(tmp_path / "e.pem", b"from env")


def test_private_key_given_as_verify_key_is_explained(tmp_path: Path):
    private, _, _ = generate_keypair(tmp_path / "k")
    with pytest.raises(InputError, match="not the private key"):
        load_public_key(private)


def test_prompt_without_a_terminal_refuses_instead_of_writing_an_unprotected_key(cli_run, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MIRRORKIT_KEY_PASSPHRASE", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    code, _out, err = cli_run("keygen", "-o", tmp_path / "k", "--prompt")
    assert code == 2 and "--prompt needs a terminal" in err
    assert not (tmp_path / "k.pem").exists() and not (tmp_path / "k.pub").exists()
