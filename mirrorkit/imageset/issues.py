"""Problems found in a configuration file, collected so that one run reports all of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mirrorkit.errors import ConfigError


@dataclass(frozen=True, order=True)
class Issue:
    """One problem: where (the key path, e.g. ``mirror.operators[0].catalog``) and what is wrong."""

    path: str
    message: str

    def describe(self, source: str) -> str:
        where = f"{source}: {self.path}" if self.path else source
        return f"{where}: {self.message}"


def join(path: str, key: str | int) -> str:
    """The key path of *key* below *path*: ``a.b`` for names, ``a[0]`` for list positions."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def sort_issues(issues: Iterable[Issue]) -> list[Issue]:
    """Issues in a stable order for output: as found (file order), duplicates removed."""
    seen: set[Issue] = set()
    ordered = []
    for issue in issues:
        if issue not in seen:
            seen.add(issue)
            ordered.append(issue)
    return ordered


class InvalidConfiguration(ConfigError):
    """A configuration file has one or more problems; ``issues`` lists every one of them.

    ``str()`` stays one line (the CLI's error contract); commands that want one line per problem
    read :attr:`issues` and :attr:`source` instead.
    """

    def __init__(self, source: str, issues: Sequence[Issue], *, what: str = "configuration", hint: str | None = None) -> None:
        self.source = source
        self.issues: tuple[Issue, ...] = tuple(issues)
        count = len(self.issues)
        details = "; ".join(issue.describe(source) for issue in self.issues)
        super().__init__(
            f"{source} is not a valid {what} ({count} problem{'s' if count != 1 else ''})",
            details,
            hint or "Fix every listed key and run the command again",
        )

    def lines(self) -> list[str]:
        """One line per problem, each naming the file, the key path and what is wrong."""
        return [issue.describe(self.source) for issue in self.issues]
