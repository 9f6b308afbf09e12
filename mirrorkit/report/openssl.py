"""Check a bundle's key fingerprint and signature with openssl alone, without mirrorkit.

The signature format is :mod:`mirrorkit.bundle.signing`'s; the commands live here because every
report shows them (and ``mirrorkit keygen`` prints the first), and the report layer imports nothing
of the bundle package, which builds reports.
"""

from __future__ import annotations

#: Recompute a key's fingerprint without mirrorkit (NAME.pub stands for the public key file).
FINGERPRINT_RECIPE = (
    "printf 'SHA256:%s\\n' \"$(openssl pkey -pubin -in NAME.pub -outform DER | tail -c 32"
    " | openssl dgst -sha256 -binary | base64 | tr -d '=')\""
)

#: Check a bundle's signature without mirrorkit (run inside the bundle directory).
OPENSSL_VERIFY = "openssl pkeyutl -verify -pubin -inkey NAME.pub -rawin -in manifest.json -sigfile manifest.json.sig"
