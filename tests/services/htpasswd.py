"""An htpasswd file with bcrypt hashes, the only kind the distribution registry accepts.

Uses the C library's crypt(3) through Python's `crypt` module (bcrypt via libxcrypt, present on
Debian/Ubuntu); falls back to Apache's `htpasswd -Bbn` when the module is unavailable (Python 3.13+).
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

from tests.services.process import ServiceUnavailable


def bcrypt_hash(password: str) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        # cost 4 (the minimum): the registry checks the hash on every request, tests make many
        hashed = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))
        if hashed and hashed.startswith("$2"):
            return hashed
    except ImportError:
        pass
    tool = shutil.which("htpasswd")
    if not tool:
        raise ServiceUnavailable("no bcrypt available: install apache2-utils (htpasswd) for registry auth tests")
    out = subprocess.run([tool, "-Bbn", "-C", "4", "user", password], check=True, capture_output=True, text=True).stdout
    return out.strip().split(":", 1)[1]


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    """Write *users* ({name: password}) as an htpasswd file and return its path."""
    path.write_text("".join(f"{name}:{bcrypt_hash(password)}\n" for name, password in users.items()))
    return path
