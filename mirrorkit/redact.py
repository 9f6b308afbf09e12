"""Mask secrets before any text reaches a terminal, a log, a report or a bundle.

Redaction is a last line of defence: code should not put secrets into messages in the first place,
but upstream servers echo request headers and URLs carry `user:password@`, so every rendered error
passes through here.
"""

from __future__ import annotations

import re

MASK = "***"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> scheme://user:***@host
    (re.compile(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(?P<post>@)"), rf"\g<pre>{MASK}\g<post>"),
    # Authorization: Bearer xyz / Basic xyz
    (re.compile(r"(?i)(?P<pre>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}"), rf"\g<pre>{MASK}"),
    # .npmrc style _authToken=..., _auth=..., _password=...
    (re.compile(r"(?i)(?P<pre>_(?:authToken|auth|password)\s*=\s*)\S+"), rf"\g<pre>{MASK}"),
    # JSON/YAML style "auth": "...", "password": "...", "token": "..."
    (
        re.compile(r'(?i)(?P<pre>"(?:auth|password|token|identitytoken|access_token|registrytoken)"\s*:\s*")[^"]*(?P<post>")'),
        rf"\g<pre>{MASK}\g<post>",
    ),
    # query strings ?token=...&password=...
    (re.compile(r"(?i)(?P<pre>[?&](?:token|access_token|password)=)[^&\s]+"), rf"\g<pre>{MASK}"),
)


def redact(text: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """Return *text* with known secret shapes and the given literal *secrets* masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text
