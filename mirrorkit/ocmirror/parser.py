"""Read oc-mirror's log output line by line and turn the lines that matter into events.

oc-mirror writes colour codes even when its output is not a terminal, so every line is stripped of
ANSI escapes first. Only a handful of lines carry information mirrorkit needs (how many images,
each success and failure, the Results block); everything else is kept in the log file only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mirrorkit.ocmirror.result import CategoryCount, CopiedImage, FailedImage

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_PREFIX_RE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\s+\[(?P<level>[A-Za-z]+)\]\s*:\s?(?P<msg>.*)$")
_ARROW = r"(?:➡️|➡|->|=>)"
_TO_COPY_RE = re.compile(r"\bimages to copy\s*:?\s*(?P<n>\d+)", re.IGNORECASE)
# `Success copying ORIGIN ➡️ DEST` (DEST is `cache` or `host/namespace/`); 4.18 printed no arrow.
_SUCCESS_RE = re.compile(rf"Success copying\s+(?P<src>\S+)(?:\s*{_ARROW}\s*(?P<dest>\S+))?")
# `Failed to copy <type> <origin>`; the type is empty for kubevirt images (TypeKubeVirtContainer has
# no name in v2alpha1's imageTypeStrings), leaving two spaces.
_FAILED_RE = re.compile(r"Failed to copy\s+(?:(?P<kind>.+?)\s+)?(?P<ref>[^\s/@:]*[/@:]\S*?):?(?:\s+(?P<reason>.+))?$")
# oc-mirror 4.18 without a terminal: `Failed copying image REF` (no image type).
_FAILED_OLD_RE = re.compile(r"Failed copying image\s+(?P<ref>\S+?):?(?:\s+(?P<reason>.+))?$")
_WORKER_RE = re.compile(r"\[Worker\]\s+error mirroring image\s+(?P<ref>\S+?):?(?:\s+(?P<rest>.*))?$")
_RESULTS_RE = re.compile(r"^=+\s*Results\s*=+$")
_RESULT_LINE_RE = re.compile(
    r"^(?P<mark>[✓✔✅✗✘❌])\s*(?P<done>\d+)\s*/\s*(?P<total>\d+)\s+(?P<kind>.+?)\s+images?\s+mirrored"
    r"(?:\s+successfully)?\s*(?::\s*(?P<message>.*))?$"
)


def strip_ansi(text: str) -> str:
    """*text* without terminal escape sequences (colours, cursor moves) or a trailing CR/LF."""
    return _ANSI_RE.sub("", text).rstrip("\r\n")


@dataclass(frozen=True)
class ImagesToCopy:
    """oc-mirror computed how many images this run copies."""

    count: int


@dataclass(frozen=True)
class ResultsStarted:
    """The ``=== Results ===`` header."""


@dataclass(frozen=True)
class ErrorMessage:
    """Any other ``[ERROR]`` line: kept so a generic failure can say what oc-mirror complained about."""

    text: str


Event = ImagesToCopy | CopiedImage | FailedImage | ResultsStarted | CategoryCount | ErrorMessage


#: oc-mirror's image type names (`Failed to copy generic REF`) -> its exit-bit categories.
_TYPE_WORDS = {"generic": "additional", "cincinnatigraph": "release", "kubevirtcontainer": "release"}


def _kind_word(text: str) -> str:
    text = text.strip().lower()
    for word in ("release", "operator", "additional", "helm"):
        if word in text:
            return word
    for name, word in _TYPE_WORDS.items():
        if name in text:
            return word
    return text


def _split_reason(rest: str) -> str:
    """The text after ``error:`` in a worker error line (or the whole rest if there is none)."""
    rest = rest.strip()
    index = rest.find("error:")
    return rest[index + len("error:") :].strip() if index >= 0 else rest


def parse_line(raw: str) -> Event | None:
    """The event *raw* (one line of oc-mirror output) carries, or None for lines that carry none."""
    line = strip_ansi(raw).strip()
    if not line:
        return None
    level = ""
    message = line
    prefixed = _PREFIX_RE.match(line)
    if prefixed:
        level = prefixed.group("level").upper()
        message = prefixed.group("msg").strip()
    if _RESULTS_RE.match(message):
        return ResultsStarted()
    result = _RESULT_LINE_RE.match(message)
    if result:
        return CategoryCount(
            kind=_kind_word(result.group("kind")),
            mirrored=int(result.group("done")),
            total=int(result.group("total")),
            ok=result.group("mark") in "✓✔✅" and result.group("done") == result.group("total"),
            message=(result.group("message") or "").strip(),
        )
    success = _SUCCESS_RE.search(message)
    if success:
        return CopiedImage(source=success.group("src"), destination=success.group("dest") or "")
    worker = _WORKER_RE.search(message)
    if worker:
        return FailedImage(image=worker.group("ref"), reason=_split_reason(worker.group("rest") or ""))
    old_failed = _FAILED_OLD_RE.search(message)
    if old_failed:
        return FailedImage(image=old_failed.group("ref"), reason=_split_reason(old_failed.group("reason") or ""))
    failed = _FAILED_RE.search(message)
    if failed:
        # an unnamed type can only be a kubevirt container image, a release-category image (exit bit 2)
        kind = _kind_word(failed.group("kind")) if failed.group("kind") else "release"
        return FailedImage(image=failed.group("ref"), kind=kind, reason=_split_reason(failed.group("reason") or ""))
    to_copy = _TO_COPY_RE.search(message)
    if to_copy:
        return ImagesToCopy(count=int(to_copy.group("n")))
    if level in ("ERROR", "FATAL"):
        return ErrorMessage(text=message)
    return None


def parse_error_file_line(line: str) -> FailedImage | None:
    """One line of ``mirroring_errors_*.txt``: ``error mirroring image REF error: REASON`` or ``REF[ REASON]``."""
    text = strip_ansi(line).strip()
    if not text or text.startswith("#"):
        return None
    worker = re.search(r"error mirroring image\s+(?P<ref>\S+?):?(?:\s+(?P<rest>.*))?$", text)
    if worker:
        return FailedImage(image=worker.group("ref"), reason=_split_reason(worker.group("rest") or ""))
    ref, _, rest = text.partition(" ")
    return FailedImage(image=ref.rstrip(":"), reason=_split_reason(rest))
