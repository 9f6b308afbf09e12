"""One exception hierarchy for everything mirrorkit can refuse or fail at.

Every error carries three parts a user needs: *what* failed, *why*, and *what to do next*.
The CLI prints them as one line and maps the class to an exit code:

* :class:`InputError` and subclasses -> exit 2 (the user gave something we cannot use);
* everything else (:class:`CheckFailed`, :class:`RegistryError`, :class:`MirrorError`, ...) -> exit 1
  (the input was fine, but a check, a transfer or a remote service failed).

Messages never contain secrets: :func:`mirrorkit.redact.redact` is applied when the message is
rendered, so a token that slipped into a URL or an upstream error body is masked anyway.
"""

from __future__ import annotations

from mirrorkit.redact import redact


class MirrorkitError(Exception):
    """Base class: a failure mirrorkit understands and can explain in one line."""

    exit_code: int = 1

    def __init__(self, what: str, why: str | None = None, hint: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.why = why
        self.hint = hint

    def __str__(self) -> str:
        parts = [self.what]
        if self.why:
            parts.append(self.why)
        text = ": ".join(parts)
        if self.hint:
            hint = self.hint[:1].upper() + self.hint[1:]  # a new sentence: "... refused. Check the auth file"
            text = f"{text}. {hint}" if not text.endswith(".") else f"{text} {hint}"
        return redact(text)


class InputError(MirrorkitError):
    """Bad usage or input: a missing file, an unparseable config, an invalid reference (exit 2)."""

    exit_code = 2


class ConfigError(InputError):
    """A configuration file (ImageSetConfiguration, profile, .npmrc, values file) is invalid."""


class InvalidReference(InputError):
    """An image reference or package spec does not parse."""


class CheckFailed(MirrorkitError):
    """A verification ran and found a difference between what was expected and what is there."""


class RegistryError(MirrorkitError):
    """An OCI registry refused, timed out, or returned something that does not verify."""


class AuthError(RegistryError):
    """A registry or npm server refused our credentials (401/403)."""


class NpmError(MirrorkitError):
    """An npm registry refused, timed out, or served bytes that do not match their integrity."""


class MirrorError(MirrorkitError):
    """oc-mirror failed, was interrupted, or reported images it could not mirror."""


class ToolNotFound(MirrorkitError):
    """An external program mirrorkit drives (oc-mirror, skopeo) is not installed."""

    exit_code = 2


class BundleError(MirrorkitError):
    """A transfer bundle cannot be written or read (layout, space, unsafe paths)."""


class Interrupted(MirrorkitError):
    """The user pressed Ctrl-C; the message says how to resume."""

    exit_code = 130


class SourceLimitExceeded(MirrorkitError):
    """A remote source (catalog, bundle image, npm registry) sent more than a ceiling allows (exit 1):
    the input named a source that misbehaves, so it is the source's failure, not bad usage."""


def no_space(folder: object, needed: int | None = None, what: str = "writing") -> BundleError:
    """ENOSPC as one line naming the folder and, when known, the space needed."""
    need = f" ({needed:,} bytes needed)" if needed else ""
    return BundleError(
        f"no space left on the device of {folder} while {what}{need}",
        None,
        "free space there (or choose a folder on a larger disk) and run the same command again",
    )
