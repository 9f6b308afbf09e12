"""Canonical YAML for the model: camelCase keys in oc-mirror's field order, block style, no timestamps.

The output depends only on the model, so two runs over the same input are byte-identical and a diff
between two builds shows only real change. Strings that YAML would read back as another type (``"1.8"``,
``"true"``) are quoted by the dumper, so a rendered file re-loads to the same model.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key (the style of the oc-mirror and Red Hat docs examples)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def to_data(value: Any) -> Any:
    """Plain YAML data for a model value; fields left as None are not written."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data: dict[str, Any] = {}
        for spec in dataclasses.fields(value):
            item = getattr(value, spec.name)
            if item is not None:
                data[spec.metadata["key"]] = to_data(item)
        return data
    if isinstance(value, tuple):
        return [to_data(item) for item in value]
    return value


def render_yaml(data: Any) -> str:
    """Dump plain data deterministically (insertion order kept, unicode kept, wide lines)."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
        indent=2,
    )
