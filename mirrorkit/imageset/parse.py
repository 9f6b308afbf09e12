"""Read plain YAML data into the frozen model, the way oc-mirror decodes it, collecting every problem.

oc-mirror decodes with Go's encoding/json, which matches keys case-insensitively (so the Red Hat docs'
``additionalimages`` works) and refuses unknown keys. We do the same, and also refuse a key written
twice with different case (Go would silently keep the last one) and values of the wrong kind (an
unquoted ``1.36`` is a number, not the string oc-mirror wants).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from typing import Any, TypeVar

import yaml

from mirrorkit.imageset.issues import InvalidConfiguration, Issue, join, sort_issues

T = TypeVar("T")


def _kind_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {value!r}".replace("True", "true").replace("False", "false")
    if isinstance(value, (int, float)):
        return f"number {value!r}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _describe_kind(kind: Any) -> str:
    if kind is str:
        return "a string"
    if kind is bool:
        return "true or false"
    if kind is int:
        return "an integer"
    if isinstance(kind, list):
        return "a list"
    return "a mapping"


def parse_value(kind: Any, value: Any, path: str, issues: list[Issue]) -> Any:
    """Convert *value* to *kind*; on a mismatch record an issue and return None."""
    if isinstance(kind, list):
        if not isinstance(value, list):
            issues.append(Issue(path, f"must be a list, got {_kind_name(value)}"))
            return None
        items = []
        for index, item in enumerate(value):
            parsed = parse_value(kind[0], item, join(path, index), issues)
            if parsed is not None:
                items.append(parsed)
        return tuple(items)
    if kind is str:
        if isinstance(value, str):
            return value
        hint = "; quote it" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        issues.append(Issue(path, f"must be a string, got {_kind_name(value)}{hint}"))
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        issues.append(Issue(path, f"must be true or false, got {_kind_name(value)}"))
        return None
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        issues.append(Issue(path, f"must be an integer, got {_kind_name(value)}"))
        return None
    return parse_object(kind, value, path, issues)


def parse_object(cls: type[T], value: Any, path: str, issues: list[Issue]) -> T | None:
    """Build dataclass *cls* from mapping *value*: keys case-insensitive, unknown keys refused."""
    if not isinstance(value, dict):
        issues.append(Issue(path, f"must be a mapping, got {_kind_name(value)}"))
        return None
    fields = {f.metadata["key"].lower(): f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    seen: dict[str, str] = {}
    empty: set[str] = set()
    kwargs: dict[str, Any] = {}
    for raw_key, raw_value in value.items():
        if not isinstance(raw_key, str):
            issues.append(Issue(join(path, str(raw_key)), f"key must be a string, got {_kind_name(raw_key)}"))
            continue
        spec = fields.get(raw_key.lower())
        refusal = getattr(cls, "REFUSED_KEYS", {}).get(raw_key.lower())
        if spec is None and refusal is not None:
            issues.append(Issue(join(path, raw_key), refusal))
            continue
        if spec is None:
            known = [f.metadata["key"] for f in fields.values()]
            close = difflib.get_close_matches(raw_key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys here: {', '.join(known)}"
            issues.append(Issue(join(path, raw_key), f"unknown key{hint}"))
            continue
        canonical = spec.metadata["key"]
        if canonical in seen:
            issues.append(Issue(join(path, canonical), f"written twice ({seen[canonical]!r} and {raw_key!r}); keep one"))
            continue
        seen[canonical] = raw_key
        if raw_value is None:  # `key:` with nothing after it: oc-mirror treats it as omitted
            empty.add(canonical)
            continue
        parsed = parse_value(spec.metadata["kind"], raw_value, join(path, canonical), issues)
        if parsed is not None:
            kwargs[spec.name] = parsed
    for spec in fields.values():
        key = spec.metadata["key"]
        if spec.metadata["required"] and spec.name not in kwargs:
            if key not in seen:
                issues.append(Issue(join(path, key), "is required"))
            elif key in empty:
                issues.append(Issue(join(path, key), "is required and must not be empty"))
    return cls(**kwargs)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a mapping key written twice (PyYAML keeps the last silently)."""

    duplicate_keys: list[tuple[str, int]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hashable_key = key in keys
            except TypeError:
                continue
            if hashable_key:
                self.duplicate_keys.append((str(key), key_node.start_mark.line + 1))
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str, issues: list[Issue]) -> Any:
    """Parse YAML *text* safely; syntax errors and duplicate keys become issues (path = line)."""
    loader = _UniqueKeyLoader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        issues.append(Issue(where, f"not valid YAML: {problem}"))
        return None
    finally:
        loader.dispose()
    for key, line in loader.duplicate_keys:
        issues.append(Issue(f"line {line}", f"key {key!r} is written twice in the same mapping; keep one"))
    return data


def load_document(cls: type[T], text: str, *, source: str, what: str, expected: str, check: Callable[[T], list[Issue]]) -> T:
    """YAML *text* -> *cls*, then *check*; raise one :class:`InvalidConfiguration` listing every problem.

    The skeleton both the ImageSetConfiguration and the profile loaders share: syntax and duplicate-key
    problems do not stop the key-by-key reading, and *check* (the semantic rules) runs whenever a
    document could be built, so a user sees every problem of the file in one run.
    """
    issues: list[Issue] = []
    data = load_yaml(text, issues)
    doc = None
    if data is None and not issues:
        issues.append(Issue("", f"is empty; expected {expected}"))
    elif data is not None:  # after a duplicate-key report the rest is still checked
        doc = parse_object(cls, data, "", issues)
    if doc is not None:
        issues.extend(check(doc))
    if issues or doc is None:
        raise InvalidConfiguration(source, sort_issues(issues), what=what)
    return doc
