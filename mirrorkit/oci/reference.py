"""Image references: `registry[:port]/path[:tag][@sha256:<64 hex>]`, parsed the way container tools do.

The first path component is a registry only when it looks like a host (has a `.` or `:`, or is
`localhost`); otherwise the reference is on Docker Hub (`docker.io`, with `library/` for one-part
names). A reference names a tag, a digest, both, or neither (then `latest` is implied when pulling).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mirrorkit.errors import InvalidReference

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_HOST_RE = re.compile(
    r"^(?:localhost|(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?))*"
    r"|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$"
)


@dataclass(frozen=True, order=True)
class ImageReference:
    """A parsed image reference. `str()` gives the canonical, fully qualified form."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, text: str, *, require_registry: bool = False) -> ImageReference:
        """Parse *text*; with *require_registry*, refuse names that would silently mean Docker Hub."""
        original = text
        if not isinstance(text, str) or not text or text != text.strip():
            raise InvalidReference(f"invalid image reference {original!r}", "it is empty or has spaces")
        if text.startswith("docker://"):
            text = text[len("docker://") :]
        digest = None
        if "@" in text:
            text, digest = text.split("@", 1)
            if not _DIGEST_RE.match(digest):
                raise InvalidReference(
                    f"invalid image reference {original!r}",
                    f"digest {digest!r} is not sha256: followed by 64 lowercase hex digits",
                )
        tag = None
        slash = text.rfind("/")
        colon = text.rfind(":")
        if colon > slash:
            text, tag = text[:colon], text[colon + 1 :]
            if not _TAG_RE.match(tag):
                raise InvalidReference(f"invalid image reference {original!r}", f"tag {tag!r} is not a valid tag")
        first, sep, rest = text.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
            if not _HOST_RE.match(first):
                raise InvalidReference(f"invalid image reference {original!r}", f"registry {first!r} is not a host[:port]")
            registry, path = first, rest
        else:
            if require_registry:
                raise InvalidReference(
                    f"invalid image reference {original!r}",
                    "it has no registry host",
                    "write it fully qualified, e.g. registry.redhat.io/namespace/name:tag",
                )
            registry, path = DOCKER_HUB, text
            if "/" not in path:
                path = f"library/{path}"
        if not path or not _PATH_RE.match(path):
            raise InvalidReference(
                f"invalid image reference {original!r}",
                f"repository path {path!r} must be lowercase components separated by '/'",
            )
        return cls(registry=registry, repository=path, tag=tag, digest=digest)

    @property
    def api_host(self) -> str:
        """The host that serves the distribution API (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What goes after `/manifests/`: the digest when known, else the tag (default `latest`)."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        """`registry/repository` without tag or digest."""
        return f"{self.registry}/{self.repository}"

    def with_digest(self, digest: str) -> ImageReference:
        return ImageReference(self.registry, self.repository, self.tag, digest)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def last_path_element(ref: str) -> str:
    """The repository's last path element of *ref* (a reference or a bare repository path), without
    tag or digest: ``redhat-operator-index`` from ``registry.redhat.io/redhat/redhat-operator-index:v4.19``
    (oc-mirror names catalog folders and CatalogSources after it). A registry port is not a tag."""
    return ref.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def is_repository_path(text: str) -> bool:
    """True when *text* is a repository path as the distribution spec allows it (lowercase components
    joined by ``/``, each ``.``, ``_``, ``__`` or ``-`` separated), without registry, tag or digest."""
    return bool(_PATH_RE.match(text))


def is_image_reference(text: str) -> bool:
    """True when *text* is a fully qualified image reference with a tag or digest.

    This is the test the RHDH docs' yq expression approximates (`^.+/.+:.+$`): a host, a path and a
    tag or digest. Bare words and URLs are not image references.
    """
    if not isinstance(text, str) or "/" not in text or "://" in text:
        return False
    try:
        ref = ImageReference.parse(text, require_registry=True)
    except InvalidReference:
        return False
    return ref.tag is not None or ref.digest is not None
