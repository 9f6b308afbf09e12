"""Read YAML the way Go's parser reads it, where the Kubernetes tools' YAML and PyYAML's differ.

Charts, CRDs and bundle manifests are written for Go (sigs.k8s.io/yaml over go-yaml), and Go accepts
tabs as separation whitespace where PyYAML refuses them: after a key's colon (``description:\\tText``),
between the words of a plain scalar, before a comment and at the end of a line. Published charts and
operator bundles contain exactly that (a tab in a CRD description), so a PyYAML refusal there would
silently lose the images of a whole chart or bundle. Tabs used as indentation, a tab straight after a
block entry's ``-`` and lines holding only tabs stay errors, as they are for Go. (Facts checked against
sigs.k8s.io/yaml v1.6.0.)

Values are read as sigs.k8s.io/yaml reads them on the way to JSON: timestamps stay strings.
:func:`load_all` tries the fast C loader first and falls back to the tolerant one only for text with a
tab that the C loader refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

_BREAKS = "\0\r\n\x85\u2028\u2029"

try:  # pragma: no branch - the C loader ships with PyYAML's wheels
    _FastBase: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _FastBase = yaml.SafeLoader


def _without_timestamps(loader: type[yaml.SafeLoader]) -> None:
    """Drop the implicit timestamp type: Go's YAML-to-JSON keeps ``2025-01-01`` a string."""
    loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in loader.yaml_implicit_resolvers.items()
    }


class _FastLoader(_FastBase):  # type: ignore[misc, valid-type]
    """The C loader without timestamps."""


class GoLoader(yaml.SafeLoader):
    """PyYAML's safe loader taught Go's rules for tabs (see the module docstring)."""

    def _tab_separates(self) -> bool:
        """A tab here is whitespace between tokens, not indentation: something precedes it on its line
        (other than a bare block-entry or complex-key indicator), or we are inside ``[...]``/``{...}``."""
        if self.flow_level:
            return True
        line = self.buffer[self.pointer - self.column : self.pointer]
        before = line.rstrip(" \t")
        return bool(before) and before not in ("-", "?") and not before.endswith((" -", " ?"))

    def scan_to_next_token(self) -> None:
        while True:
            super().scan_to_next_token()
            if self.peek() != "\t" or not self._tab_separates():
                return
            while self.peek() in " \t":
                self.forward()

    def scan_plain_spaces(self, indent: int, start_mark: Any) -> Any:
        length = 0
        while self.peek(length) in " \t":
            length += 1
        run = self.prefix(length)
        if "\t" not in run:
            return super().scan_plain_spaces(indent, start_mark)
        self.forward(length)
        if self.peek() in _BREAKS or self.peek() == "#":
            # trailing tabs: what follows (a line break to fold, a comment, the end) is PyYAML's business
            return super().scan_plain_spaces(indent, start_mark)
        return [run]


_without_timestamps(_FastLoader)
_without_timestamps(GoLoader)


def load_all(text: str) -> Iterator[Any]:
    """Every document of *text*, read as Go reads it. Raises :class:`yaml.YAMLError` where Go would too."""
    try:
        docs = list(yaml.load_all(text, Loader=_FastLoader))
    except yaml.YAMLError:
        if "\t" not in text:
            raise
        docs = list(yaml.load_all(text, Loader=GoLoader))
    yield from docs


def load(text: str) -> Any:
    """One document, read as Go reads it (see :func:`load_all`)."""
    try:
        return yaml.load(text, Loader=_FastLoader)
    except yaml.YAMLError:
        if "\t" not in text:
            raise
        return yaml.load(text, Loader=GoLoader)


def too_deep(exc: yaml.YAMLError) -> bool:
    """True when *exc* is libyaml's nesting limit (1000 levels): hostile input to refuse by name,
    not a document to skip with a warning."""
    return "exceeded maximum nesting depth" in str(exc)
