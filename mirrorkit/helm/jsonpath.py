"""The part of Kubernetes JSONPath that oc-mirror's image paths use: ``{.a.b[*].c}``, ``[N]``, ``['key']``.

oc-mirror reads chart images at four fixed paths plus the ``imagePaths`` a user adds to a chart in the
ImageSetConfiguration, with client-go's JSONPath and missing keys allowed. mirrorkit evaluates the same
expressions itself; anything outside this subset (filters, recursive descent, ranges, several
expressions) is refused by name instead of being evaluated differently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mirrorkit.errors import ConfigError

_STEP = re.compile(r"""\.(?P<field>[A-Za-z0-9_-]+)|\[(?:(?P<star>\*)|(?P<index>-?\d+)|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)")\]""")

#: Where oc-mirror always looks for images in a rendered chart (pod templates and pods).
DEFAULT_PATHS = (
    "{.spec.template.spec.initContainers[*].image}",
    "{.spec.template.spec.containers[*].image}",
    "{.spec.initContainers[*].image}",
    "{.spec.containers[*].image}",
)


@dataclass(frozen=True)
class Step:
    """One step of a path: a map key (``key``), every list item (``star``) or one item (``index``)."""

    key: str | None = None
    star: bool = False
    index: int | None = None


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Step, ...]

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        body = text.strip()
        if not (body.startswith("{") and body.endswith("}")):
            raise _refused(text, "it must be one expression in braces, e.g. {.spec.containers[*].image}")
        body = body[1:-1].strip()
        if body.startswith("$"):
            body = body[1:]
        steps: list[Step] = []
        pos = 0
        while pos < len(body):
            match = _STEP.match(body, pos)
            if not match:
                raise _refused(text, f"{body[pos:]!r} is not a .field, [*], [N] or ['key'] step")
            if match["field"] is not None:
                steps.append(Step(key=match["field"]))
            elif match["star"]:
                steps.append(Step(star=True))
            elif match["index"] is not None:
                steps.append(Step(index=int(match["index"])))
            else:
                steps.append(Step(key=match["sq"] if match["sq"] is not None else match["dq"]))
            pos = match.end()
        if not steps:
            raise _refused(text, "it selects nothing")
        return cls(text, tuple(steps))

    def strings(self, document: Any) -> Iterator[str]:
        """The string values at this path (missing keys and other types give nothing, as oc-mirror allows)."""
        nodes = [document]
        for step in self.steps:
            nodes = [child for node in nodes for child in _children(node, step)]
        for node in nodes:
            if isinstance(node, str):
                yield node


def _children(node: Any, step: Step) -> list[Any]:
    if step.key is not None:
        return [node[step.key]] if isinstance(node, dict) and step.key in node else []
    if not isinstance(node, list):
        return []
    if step.star:
        return list(node)
    assert step.index is not None
    return [node[step.index]] if -len(node) <= step.index < len(node) else []


def _refused(text: str, why: str) -> ConfigError:
    return ConfigError(
        f"imagePaths entry {text!r} is not supported",
        why,
        "write paths like oc-mirror's defaults: {.spec.template.spec.containers[*].image}",
    )
