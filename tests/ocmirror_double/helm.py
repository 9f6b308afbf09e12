"""Helm charts for the oc-mirror test double: pull charts, render a documented template subset, find images.

**Test code, not oc-mirror and not Helm.** This module is loaded by `tests/ocmirror_double/oc-mirror`
(standard library + pyyaml only; it never imports mirrorkit). It follows the contract in
`shared/reference/oc-mirror-v2.md`, "How oc-mirror mirrors Helm charts", and oc-mirror's
`internal/pkg/helm/local_stored_collector.go`:

- `repositories[]`, pull mode (mirror to disk, mirror to mirror): the repository index is downloaded,
  each requested chart version pulled to `working-dir/helm/charts/<name>-<version>.tgz`; an empty
  version means the highest non-prerelease semver; `charts` omitted means every version of every
  non-library chart (`<url>index.yaml` fetched literally, so the URL needs its trailing `/`; the index
  is saved as `working-dir/helm/indexes/<host/path>/index.yaml`). `charts: []` pulls nothing (Go nil
  versus empty slice, as in oc-mirror).
- Disk to mirror: charts are read from `working-dir/helm/charts/` only (`<name>-<v>.tgz`, then
  `<name>-v<v>.tgz`, `v` normalised by semver); an empty version is an error; `charts` omitted reads
  the saved index. Nothing is fetched.
- `local[]`: the path (archive or directory) is read in place in every mode.
- Images: each chart is rendered with its default values (dependencies processed: `condition`, `tags`
  and `alias`; subchart values under the subchart's key plus `global`), CRDs (`crds/`) included as
  they are, hook resources (`helm.sh/hook` annotation) left out because oc-mirror only reads the
  manifests Helm's SortManifests returns, NOTES.txt and `_*` partials skipped, library charts'
  non-partial templates ignored (as Helm does). Every YAML document is searched at the four default
  JSONPaths plus each `imagePaths` entry; strings that are not image references are dropped, as
  oc-mirror's ParseRef drops them. Results are deduplicated by image (the first chart naming it wins).

Template subset (Helm is Go text/template + sprig; this renders only what follows and refuses the rest)
-------------------------------------------------------------------------------------------------------
- Text, `{{ pipeline }}`, `{{- ` / ` -}}` whitespace trimming, comments `{{/* ... */}}`.
- Operands: `.` ; fields `.Values.a.b`, `$`, `$.Values.a` ; string literals ("..." and `raw`), numbers,
  `true`, `false`, `nil`. `.Release.Name|Namespace|Service|Revision|IsInstall|IsUpgrade` (oc-mirror
  renders with an empty `chartutil.ReleaseOptions{}`: Name and Namespace are "", Revision 0);
  `.Chart.Name|Version|AppVersion|Description|Type|APIVersion` (a subchart's Name is its alias).
- Pipelines `a | f b`; functions `default`, `quote` (sprig semantics), `not`.
- `{{ if p }} ... {{ else if p }} ... {{ else }} ... {{ end }}`, `{{ with p }} ... {{ else }} ... {{ end }}`
  (dot rebinding). Truth is Go's: false, 0, nil, "" and empty maps/lists are false.
- Go semantics kept on purpose: values.yaml numbers are float64 (`1000000` prints `1e+06`, `1.10`
  prints `1.1`); a missing key gives nil and prints ""; a field of nil fails
  (`nil pointer evaluating interface {}.x`); printing a map or list is refused (Helm prints Go syntax).
- Anything else (`include`, `define`, `template`, `range`, `printf`, `toYaml`, `tpl`, `eq`, variables
  `$x :=`, parentheses, `.Files`, `.Capabilities`, `.Template`, ...) raises HelmError naming the chart,
  the template file, the line and the construct: a chart the double cannot render must never yield a
  silently wrong image list.
  A template is parsed whole before it runs, so a refused construct fails even in a branch not taken.
Not modelled either: `.helmignore`, dependency version constraints (a present subchart is used),
`import-values` (refused), chart version ranges in the ImageSetConfiguration (refused), provenance,
index digests (Helm does not check them on pull either), Helm's install order (documents are searched
CRDs first, then templates by path). Pulled archives are named `<name>-<version>.tgz` (Helm itself
keeps the basename of the download URL; the two agree for ordinary repositories). All failures of a
run are joined, one per line, into a single HelmError, as oc-mirror joins its collector errors.
"""

from __future__ import annotations

import copy
import gzip
import http.client
import io
import math
import posixpath
import re
import ssl
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

INDEX_TIMEOUT = 5.0  # oc-mirror's web client timeout for index.yaml
CHART_TIMEOUT = 60.0
MAX_INDEX_BYTES = 64 * 1024 * 1024
MAX_ARCHIVE_BYTES = 100 * 1024 * 1024  # Helm's MaxDecompressedChartSize, also used for the download
MAX_CHART_BYTES = 100 * 1024 * 1024  # all files of a chart, nested archives included
MAX_FILE_BYTES = 5 * 1024 * 1024  # Helm's MaxDecompressedFileSize
MAX_MEMBERS = 10_000
MAX_NESTING = 10  # charts/ inside charts/ ...

DEFAULT_IMAGE_PATHS = (
    "{.spec.template.spec.initContainers[*].image}",
    "{.spec.template.spec.containers[*].image}",
    "{.spec.initContainers[*].image}",
    "{.spec.containers[*].image}",
)
HOOK_ANNOTATION = "helm.sh/hook"


class HelmError(Exception):
    """A Helm collection error; str() is the full user-facing message (several lines if several failed)."""


@dataclass(frozen=True)
class ChartImage:
    image: str  # image reference as found in the rendered manifest
    chart: str  # chart name
    version: str  # chart version


# =============================================================================================== YAML
class _NoDatesLoader(yaml.SafeLoader):
    """SafeLoader without timestamps: Helm (sigs.k8s.io/yaml) keeps `2024-01-01` a string."""


_NoDatesLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str | bytes) -> Any:
    return yaml.load(text, Loader=_NoDatesLoader)


def _load_strings(text: str | bytes) -> Any:
    """Every scalar a string: chart and index versions like `1.10` must not become floats."""
    return yaml.load(text, Loader=yaml.BaseLoader)


# ============================================================================================= semver
_SEMVER = re.compile(
    r"v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+(?P<build>[0-9A-Za-z.-]+))?"
)


@dataclass(frozen=True, order=True)
class _Semver:
    """Masterminds/semver's lenient NewVersion: optional `v`, minor and patch may be missing."""

    major: int
    minor: int
    patch: int
    release: int  # 1 = release, 0 = prerelease (a prerelease sorts lower)
    pre: tuple[tuple[int, int | str], ...] = field(default=())
    build: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> _Semver | None:
        m = _SEMVER.fullmatch(text.strip())
        if not m:
            return None
        pre = m["pre"] or ""
        parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")) if pre else ()
        return cls(int(m["major"]), int(m["minor"] or 0), int(m["patch"] or 0), 0 if pre else 1, parts, m["build"] or "")

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(str(p) for _, p in self.pre)
        return text + (f"+{self.build}" if self.build else "")


# ============================================================================================ loading
@dataclass
class Chart:
    """A loaded chart: metadata, default values, templates, CRDs and subcharts (mutable while processed)."""

    name: str
    version: str
    app_version: str
    chart_type: str
    metadata: dict[str, Any]
    values: dict[str, Any]
    templates: dict[str, str]
    crds: dict[str, str]
    subcharts: list[Chart]
    source: str  # what to name in messages

    @property
    def dependencies(self) -> list[dict[str, Any]]:
        deps = self.metadata.get("dependencies") or []
        return [d for d in deps if isinstance(d, dict)]


class _Budget:
    """Caps the bytes read for one chart, nested archives included (a gzip bomb must stop early)."""

    def __init__(self, source: str) -> None:
        self.source, self.used, self.members = source, 0, 0

    def take(self, name: str, size: int) -> None:
        self.members += 1
        if size > MAX_FILE_BYTES:
            raise HelmError(f"failed to load {self.source}: {name} is {size} bytes, over the {MAX_FILE_BYTES} limit per file")
        self.used += size
        if self.used > MAX_CHART_BYTES or self.members > MAX_MEMBERS:
            raise HelmError(
                f"failed to load {self.source}: the chart decompresses to more than {MAX_CHART_BYTES} bytes or {MAX_MEMBERS} files"
            )


def _safe_member(source: str, name: str) -> str:
    """The member path without its top directory; refuses what could land outside the chart."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise HelmError(f"failed to load {source}: chart illegally contains absolute paths ({name!r})")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise HelmError(f"failed to load {source}: chart illegally references parent directory ({name!r})")
    if len(parts) < 2:
        raise HelmError(f"failed to load {source}: {name!r} is not in the chart's base directory")
    return "/".join(parts[1:])


def _archive_files(data: bytes, source: str, budget: _Budget) -> dict[str, bytes]:
    """Files of a chart archive (gzip tar), relative to the chart directory."""
    if data[:2] != b"\x1f\x8b":
        raise HelmError(f"failed to load {source}: file does not appear to be a gzipped archive")
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise HelmError(f"failed to load {source}: archive member {member.name!r} is a link or special file")
                rel = _safe_member(source, member.name)
                budget.take(rel, member.size)
                handle = tar.extractfile(member)
                files[rel] = handle.read() if handle else b""
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as exc:
        raise HelmError(f"failed to load {source}: corrupt chart archive: {exc}") from exc
    return files


def _dir_files(root: Path, source: str, budget: _Budget) -> dict[str, bytes]:
    """Files of an unpacked chart directory; a symbolic link may not point outside it."""
    base = root.resolve()
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        real = path.resolve()
        if base != real and base not in real.parents:
            raise HelmError(f"failed to load {source}: {path} points outside the chart directory")
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        budget.take(rel, path.stat().st_size)
        files[rel] = path.read_bytes()
    return files


def _chart_from_files(files: dict[str, bytes], source: str, budget: _Budget, depth: int = 0) -> Chart:
    if depth > MAX_NESTING:
        raise HelmError(f"failed to load {source}: subcharts nested more than {MAX_NESTING} deep")
    if "Chart.yaml" not in files:
        raise HelmError(f"failed to load {source}: Chart.yaml file is missing")
    try:
        meta = _load_strings(files["Chart.yaml"]) or {}
        values = _load_yaml(files.get("values.yaml", b"")) or {}
        if meta.get("apiVersion", "v1") == "v1" and "requirements.yaml" in files:
            meta["dependencies"] = (_load_strings(files["requirements.yaml"]) or {}).get("dependencies") or []
    except yaml.YAMLError as exc:
        raise HelmError(f"failed to load {source}: {exc}") from exc
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise HelmError(f"failed to load {source}: validation: Chart.yaml needs a name and a version")
    if not isinstance(values, dict):
        raise HelmError(f"failed to load {source}: values.yaml is not a map")
    chart = Chart(
        name=str(meta["name"]),
        version=str(meta["version"]),
        app_version=str(meta.get("appVersion", "")),
        chart_type=str(meta.get("type", "")),
        metadata=meta,
        values=_go_numbers(values),
        templates={},
        crds={},
        subcharts=[],
        source=source,
    )
    subfiles: dict[str, dict[str, bytes]] = {}
    for rel, data in sorted(files.items()):
        if rel.startswith("templates/"):
            chart.templates[rel] = _text(data, source, rel)
        elif rel.startswith("crds/") and rel.endswith((".yaml", ".yml", ".json")):
            chart.crds[rel] = _text(data, source, rel)
        elif rel.startswith("charts/"):
            head, _, tail = rel.removeprefix("charts/").partition("/")
            if not tail and head.endswith(".tgz"):
                chart.subcharts.append(
                    _chart_from_files(_archive_files(data, f"{source} ({rel})", budget), f"{source} ({rel})", budget, depth + 1)
                )
            elif tail:
                subfiles.setdefault(head, {})[tail] = data
    for head, sub in subfiles.items():
        chart.subcharts.append(_chart_from_files(sub, f"{source} (charts/{head})", budget, depth + 1))
    return chart


def _text(data: bytes, source: str, rel: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HelmError(f"failed to load {source}: {rel} is not UTF-8 text") from exc


def load_chart(path: Path) -> Chart:
    """A chart from an archive or a directory (as Helm's loader.Load)."""
    source = str(path)
    budget = _Budget(source)
    if path.is_dir():
        return _chart_from_files(_dir_files(path, source, budget), source, budget)
    try:
        size = path.stat().st_size
        if size > MAX_ARCHIVE_BYTES:
            raise HelmError(f"failed to load {source}: archive is {size} bytes, over the {MAX_ARCHIVE_BYTES} limit")
        data = path.read_bytes()
    except OSError as exc:
        raise HelmError(f"failed to load {source}: {exc.strerror or exc}") from exc
    return _chart_from_files(_archive_files(data, source, budget), source, budget)


def _go_numbers(value: Any) -> Any:
    """values.yaml as Helm sees it: sigs.k8s.io/yaml goes through JSON, so every number is a float64."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


# ===================================================================================== values & deps
def _merge_defaults(dest: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Fill *dest* from *defaults* (dest wins); a nil in dest deletes the default (Helm 3)."""
    for key, default in defaults.items():
        if key in dest:
            if dest[key] is None:
                del dest[key]
            elif isinstance(dest[key], dict) and isinstance(default, dict):
                _merge_defaults(dest[key], default)
        else:
            dest[key] = copy.deepcopy(default)
    return dest


def _coalesce_globals(dest: dict[str, Any], parent: Mapping[str, Any]) -> None:
    """The parent's `global` map wins over the subchart's (Helm's coalesceGlobals)."""
    parent_globals = parent.get("global")
    if not isinstance(parent_globals, dict):
        return
    own = dest.get("global") if isinstance(dest.get("global"), dict) else {}
    merged = copy.deepcopy(parent_globals)
    _merge_defaults(merged, own)
    dest["global"] = merged


def coalesce(chart: Chart, dest: dict[str, Any] | None = None) -> dict[str, Any]:
    """The chart's values with every subchart's defaults merged under its key (CoalesceValues)."""
    dest = _merge_defaults({} if dest is None else dest, chart.values)
    for sub in chart.subcharts:
        sub_values = dest.get(sub.name)
        if not isinstance(sub_values, dict):
            sub_values = {}
            dest[sub.name] = sub_values
        _coalesce_globals(sub_values, dest)
        coalesce(sub, sub_values)
    return dest


def _lookup(values: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def process_dependencies(chart: Chart) -> None:
    """Aliases, then `tags` and `condition` evaluated on the coalesced values; disabled subcharts removed."""
    _apply_aliases(chart)
    _prune(chart, coalesce(chart), "")


def _apply_aliases(chart: Chart) -> None:
    by_name = {sub.name: sub for sub in chart.subcharts}
    kept: list[Chart] = []
    listed = {str(d.get("name")) for d in chart.dependencies}
    kept.extend(sub for sub in chart.subcharts if sub.name not in listed)
    for dep in chart.dependencies:
        if dep.get("import-values"):
            raise HelmError(
                f"failed to load {chart.source}: dependency {dep.get('name')!r} uses import-values, "
                "which the oc-mirror test double does not model"
            )
        sub = by_name.get(str(dep.get("name")))
        if sub is None:
            continue  # listed but absent: Helm renders without it
        if dep.get("alias"):
            sub = copy.deepcopy(sub)
            sub.name = str(dep["alias"])
            dep["name"] = sub.name
        kept.append(sub)
    chart.subcharts = kept
    for sub in chart.subcharts:
        _apply_aliases(sub)


def _prune(chart: Chart, top_values: Mapping[str, Any], path: str) -> None:
    tags = top_values.get("tags") if isinstance(top_values.get("tags"), dict) else {}
    disabled: set[str] = set()
    for dep in chart.dependencies:
        flags = [tags[t] for t in (dep.get("tags") or []) if isinstance(tags.get(t), bool)]
        enabled = not (flags and not any(flags))
        for cond in str(dep.get("condition") or "").split(","):
            found, value = _lookup(top_values, path + cond.strip()) if cond.strip() else (False, None)
            if found and isinstance(value, bool):
                enabled = value
                break
        if not enabled:
            disabled.add(str(dep.get("name")))
    chart.subcharts = [sub for sub in chart.subcharts if sub.name not in disabled]
    for sub in chart.subcharts:
        _prune(sub, top_values, f"{path}{sub.name}.")


# ===================================================================================== template lexer
SUBSET = (
    "the oc-mirror test double renders only .Values/.Release/.Chart fields, $, literals, "
    "default, quote, not, if/else if/else/end, with/else/end, comments and {{- -}} trimming"
)
_KEYWORDS = {"if", "else", "end", "with", "range", "define", "template", "block", "break", "continue"}
_FUNCTIONS = {"default", "quote", "not"}


class TemplateError(Exception):
    """A template problem at a line; turned into a HelmError naming chart and file."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _unsupported(line: int, construct: str) -> TemplateError:
    return TemplateError(line, f"unsupported construct {construct}: {SUBSET}")


@dataclass(frozen=True)
class Tok:
    kind: str  # field, var, str, num, bool, nil, ident, pipe
    value: Any
    line: int


@dataclass(frozen=True)
class Item:
    kind: str  # text or action
    text: str
    tokens: tuple[Tok, ...]
    line: int


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?)")
_FIELDS = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
_GO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def lex(text: str) -> list[Item]:
    """Text and actions, with trim markers applied and the line of each action's `{{`."""
    items: list[Item] = []
    pos, trim_next = 0, False
    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        if trim_next:
            chunk = chunk.lstrip(" \t\r\n")
        if start < 0:
            items.append(Item("text", chunk, (), 0))
            return items
        line = text.count("\n", 0, start) + 1
        body = start + 2
        if text.startswith("-", body) and body + 1 < len(text) and text[body + 1] in " \t\r\n":
            chunk = chunk.rstrip(" \t\r\n")
            body += 2
        items.append(Item("text", chunk, (), 0))
        tokens, pos, trim_next = _lex_action(text, body, line)
        if tokens is not None:
            items.append(Item("action", "", tuple(tokens), line))


def _lex_action(text: str, i: int, line: int) -> tuple[list[Tok] | None, int, bool]:
    """Tokens of one action from *i*; returns (tokens or None for a comment, end position, right trim)."""
    j = i
    while j < len(text) and text[j] in " \t\r\n":
        j += 1
    if text.startswith("/*", i):  # Go: a comment starts right after `{{` or `{{- `
        return _lex_comment(text, i, line)
    tokens: list[Tok] = []
    while True:
        spaced = j < len(text) and text[j] in " \t\r\n"
        while j < len(text) and text[j] in " \t\r\n":
            j += 1
        cur = line + text.count("\n", i, j)
        if j >= len(text):
            raise TemplateError(line, "unclosed action")
        if spaced and text.startswith("-}}", j):
            return tokens, j + 3, True
        if text.startswith("}}", j):
            return tokens, j + 2, False
        tok, j = _lex_token(text, j, cur)
        tokens.append(tok)


def _lex_comment(text: str, i: int, line: int) -> tuple[None, int, bool]:
    end = text.find("*/", i + 2)
    if end < 0:
        raise TemplateError(line, "unclosed comment")
    rest = end + 2
    if text.startswith(" -}}", rest):
        return None, rest + 4, True
    if text.startswith("}}", rest):
        return None, rest + 2, False
    raise TemplateError(line, "comment ends before closing delimiter")


def _lex_token(text: str, j: int, line: int) -> tuple[Tok, int]:
    c = text[j]
    if c == '"':
        return _lex_string(text, j, line)
    if c == "`":
        end = text.find("`", j + 1)
        if end < 0:
            raise TemplateError(line, "unterminated raw quoted string")
        return Tok("str", text[j + 1 : end], line), end + 1
    if c == "|":
        if text.startswith("||", j):
            raise _unsupported(line, '"||"')
        return Tok("pipe", "|", line), j + 1
    if c == ".":
        m = _FIELDS.match(text, j)
        if m:
            return Tok("field", tuple(m.group()[1:].split(".")), line), m.end()
        if j + 1 < len(text) and text[j + 1].isdigit():
            return _lex_number(text, j, line)
        return Tok("field", (), line), j + 1
    if c == "$":
        m = _IDENT.match(text, j + 1)
        if m:
            raise _unsupported(line, f"variable ${m.group()!s}")
        m = _FIELDS.match(text, j + 1)
        return (Tok("var", tuple(m.group()[1:].split(".")), line), m.end()) if m else (Tok("var", (), line), j + 1)
    if c.isdigit() or (c in "+-" and j + 1 < len(text) and (text[j + 1].isdigit() or text[j + 1] == ".")):
        return _lex_number(text, j, line)
    m = _IDENT.match(text, j)
    if m:
        word = m.group()
        kind = {"true": "bool", "false": "bool", "nil": "nil"}.get(word, "ident")
        value: Any = {"true": True, "false": False, "nil": None}.get(word, word)
        if kind == "ident" and text.startswith(".", m.end()):
            raise _unsupported(line, f"field access on {word!r}")
        return Tok(kind, value, line), m.end()
    names = {
        "(": "parenthesized pipeline",
        ":": "variable declaration :=",
        "=": "assignment =",
        ",": "range variables ,",
        "'": "character constant",
    }
    if c in names:
        raise _unsupported(line, names[c])
    raise TemplateError(line, f"bad character {c!r} in action")


def _lex_string(text: str, j: int, line: int) -> tuple[Tok, int]:
    out: list[str] = []
    k = j + 1
    while k < len(text):
        ch = text[k]
        if ch == '"':
            return Tok("str", "".join(out), line), k + 1
        if ch == "\n":
            break
        if ch == "\\":
            esc = text[k + 1 : k + 2]
            if esc in _GO_ESCAPES:
                out.append(_GO_ESCAPES[esc])
                k += 2
                continue
            width = {"x": 2, "u": 4, "U": 8}.get(esc)
            digits = text[k + 2 : k + 2 + width] if width else ""
            if width and re.fullmatch(r"[0-9a-fA-F]+", digits) and len(digits) == width:
                out.append(chr(int(digits, 16)))
                k += 2 + width
                continue
            raise TemplateError(line, f"invalid escape \\{esc} in string")
        out.append(ch)
        k += 1
    raise TemplateError(line, "unterminated quoted string")


def _lex_number(text: str, j: int, line: int) -> tuple[Tok, int]:
    m = _NUMBER.match(text, j)
    if not m:
        raise TemplateError(line, "bad number syntax")
    raw = m.group().replace("_", "")
    try:
        value: int | float = (
            int(raw, 0)
            if re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F]+|\d+)", raw) and not re.fullmatch(r"[+-]?0\d+", raw)
            else float(raw)
        )
    except ValueError as exc:
        raise TemplateError(line, f"bad number syntax: {raw!r}") from exc
    return Tok("num", value, line), m.end()


# ==================================================================================== template parser
@dataclass(frozen=True)
class Operand:
    kind: str  # field (from dot), var (from $), lit, func
    value: Any
    line: int


Command = tuple[Operand, ...]
Pipeline = tuple[Command, ...]


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Print:
    pipe: Pipeline
    line: int


@dataclass(frozen=True)
class If:
    branches: tuple[tuple[Pipeline, tuple[Any, ...]], ...]
    otherwise: tuple[Any, ...]
    line: int


@dataclass(frozen=True)
class With:
    pipe: Pipeline
    body: tuple[Any, ...]
    otherwise: tuple[Any, ...]
    line: int


def parse(text: str) -> tuple[Any, ...]:
    """The template tree; every keyword outside the subset is refused here, before anything renders."""
    items = lex(text)
    nodes, stop, _pos = _parse_list(items, 0)
    if stop is not None:
        raise TemplateError(stop.line, f"unexpected {{{{{stop.tokens[0].value}}}}}")
    return nodes


def _parse_list(items: list[Item], pos: int) -> tuple[tuple[Any, ...], Item | None, int]:
    """Nodes until `else`/`end` (returned as the stop item) or the end of the template."""
    nodes: list[Any] = []
    while pos < len(items):
        item = items[pos]
        pos += 1
        if item.kind == "text":
            if item.text:
                nodes.append(Text(item.text))
            continue
        if not item.tokens:
            raise TemplateError(item.line, "missing value for command")
        head = item.tokens[0]
        if head.kind == "ident" and head.value in ("else", "end"):
            return tuple(nodes), item, pos
        if head.kind == "ident" and head.value == "if":
            node, pos = _parse_if(items, pos, item)
            nodes.append(node)
        elif head.kind == "ident" and head.value == "with":
            node, pos = _parse_with(items, pos, item)
            nodes.append(node)
        elif head.kind == "ident" and head.value in _KEYWORDS:
            raise _unsupported(item.line, f'"{head.value}"')
        else:
            nodes.append(Print(_parse_pipeline(item.tokens, item.line), item.line))
    return tuple(nodes), None, pos


def _parse_if(items: list[Item], pos: int, opener: Item) -> tuple[If, int]:
    branches = [(_parse_pipeline(opener.tokens[1:], opener.line), ())]
    otherwise: tuple[Any, ...] = ()
    while True:
        body, stop, pos = _parse_list(items, pos)
        branches[-1] = (branches[-1][0], body)
        if stop is None:
            raise TemplateError(opener.line, "unexpected EOF: {{if}} without {{end}}")
        words = stop.tokens
        if words[0].value == "end":
            _no_args(stop)
            return If(tuple(branches), otherwise, opener.line), pos
        if len(words) > 1 and words[1].kind == "ident" and words[1].value == "if":
            branches.append((_parse_pipeline(words[2:], stop.line), ()))
            continue
        if len(words) > 1:
            raise _unsupported(stop.line, "else with arguments other than if")
        otherwise, stop, pos = _parse_list(items, pos)
        if stop is None or stop.tokens[0].value != "end":
            raise TemplateError(opener.line, "expected {{end}} after {{else}}")
        _no_args(stop)
        return If(tuple(branches), otherwise, opener.line), pos


def _parse_with(items: list[Item], pos: int, opener: Item) -> tuple[With, int]:
    pipe = _parse_pipeline(opener.tokens[1:], opener.line)
    body, stop, pos = _parse_list(items, pos)
    otherwise: tuple[Any, ...] = ()
    if stop is not None and stop.tokens[0].value == "else":
        if len(stop.tokens) > 1:
            raise _unsupported(stop.line, '"else with"')
        otherwise, stop, pos = _parse_list(items, pos)
    if stop is None or stop.tokens[0].value != "end":
        raise TemplateError(opener.line, "unexpected EOF: {{with}} without {{end}}")
    _no_args(stop)
    return With(pipe, body, otherwise, opener.line), pos


def _no_args(item: Item) -> None:
    if len(item.tokens) > 1:
        raise TemplateError(item.line, f"unexpected {item.tokens[1].value!r} in end")


def _parse_pipeline(tokens: tuple[Tok, ...], line: int) -> Pipeline:
    if not tokens:
        raise TemplateError(line, "missing value for command")
    commands: list[Command] = []
    current: list[Operand] = []
    for tok in tokens:
        if tok.kind == "pipe":
            if not current:
                raise TemplateError(tok.line, "missing command before |")
            commands.append(tuple(current))
            current = []
        else:
            current.append(_operand(tok))
    if not current:
        raise TemplateError(line, "missing command after |")
    commands.append(tuple(current))
    return tuple(commands)


def _operand(tok: Tok) -> Operand:
    if tok.kind in ("field", "var"):
        return Operand(tok.kind, tok.value, tok.line)
    if tok.kind in ("str", "num", "bool", "nil"):
        return Operand("lit", tok.value, tok.line)
    if tok.value in _KEYWORDS:
        raise TemplateError(tok.line, f'unexpected keyword "{tok.value}" in command')
    if tok.value not in _FUNCTIONS:
        raise _unsupported(tok.line, f'"{tok.value}" (function)')
    return Operand("func", tok.value, tok.line)


# ================================================================================= template executor
_HELM_OBJECTS_REFUSED = {"Capabilities", "Files", "Template", "Subcharts"}
_CHART_FIELDS = {
    "Name": "name",
    "Version": "version",
    "AppVersion": "appVersion",
    "Description": "description",
    "Type": "type",
    "APIVersion": "apiVersion",
}
_CHART_FIELDS_REFUSED = {
    "Home",
    "Sources",
    "Keywords",
    "Maintainers",
    "Icon",
    "Condition",
    "Tags",
    "Deprecated",
    "Annotations",
    "KubeVersion",
    "Dependencies",
    "IsRoot",
}


@dataclass(frozen=True)
class _ChartMeta:
    """`.Chart`: Helm passes a *chart.Metadata struct, so unknown fields are errors, not nil."""

    fields: Mapping[str, str]


@dataclass(frozen=True)
class _Root:
    """The top-level dot: Values, Release, Chart (other Helm objects are outside the subset)."""

    values: Mapping[str, Any]
    release: Mapping[str, Any]
    chart: _ChartMeta


def _go_type(value: Any) -> str:
    if value is None:
        return "interface {}"
    return {
        bool: "bool",
        int: "int",
        float: "float64",
        str: "string",
        list: "[]interface {}",
        dict: "map[string]interface {}",
    }.get(type(value), type(value).__name__)


def _field(receiver: Any, name: str, line: int) -> Any:
    if isinstance(receiver, _Root):
        if name in _HELM_OBJECTS_REFUSED:
            raise _unsupported(line, f".{name}")
        return {"Values": receiver.values, "Release": receiver.release, "Chart": receiver.chart}.get(name)
    if isinstance(receiver, _ChartMeta):
        if name in _CHART_FIELDS_REFUSED:
            raise _unsupported(line, f".Chart.{name}")
        if name not in _CHART_FIELDS:
            raise TemplateError(line, f"can't evaluate field {name} in type *chart.Metadata")
        return receiver.fields.get(name, "")
    if isinstance(receiver, dict):
        return receiver.get(name)  # missingkey=zero: a missing key is nil
    if receiver is None:
        raise TemplateError(line, f"nil pointer evaluating interface {{}}.{name}")
    raise TemplateError(line, f"can't evaluate field {name} in type {_go_type(receiver)}")


def truth(value: Any) -> bool:
    """Go template truth (also sprig's `empty`, negated)."""
    if value is None:
        return False
    if isinstance(value, (bool, int, float, str, list, dict)):
        return bool(value)
    return True


def go_float(value: float) -> str:
    """fmt.Sprint(float64) = strconv.FormatFloat(f, 'g', -1, 64): shortest digits, %e when the exponent
    is < -4 or >= 6, which is why Helm prints a values.yaml `1000000` as `1e+06` (helm/helm#1707)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    ds = list(digits)
    while len(ds) > 1 and ds[-1] == 0:
        ds.pop()
        exponent = int(exponent) + 1
    point = len(ds) + int(exponent)  # digits before the decimal point
    exp10 = point - 1
    text = "".join(map(str, ds))
    neg = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:  # strconv: 'if shortest { eprec = 6 }'
        mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mant}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{neg}{text}{'0' * (point - len(text))}"
    return f"{neg}{text[:point]}.{text[point:]}"


def go_print(value: Any, line: int) -> str:
    """How text/template prints a value (fmt.Sprint), as far as the subset allows."""
    if value is None:
        return ""  # Go prints <no value>; Helm replaces it with ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, _ChartMeta):
        raise _unsupported(line, "printing .Chart")
    raise _unsupported(
        line,
        f"printing a {'map' if isinstance(value, (dict, _Root)) else 'list'} (Helm would write Go syntax; charts use toYaml)",
    )


def go_quote(text: str) -> str:
    """strconv.Quote: printable characters kept, the rest escaped."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(ch)])
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _call(name: str, args: list[Any], line: int) -> Any:
    if name == "default":
        if not args:
            raise TemplateError(line, "wrong number of args for default: want at least 1 got 0")
        given = args[1:]
        return args[0] if not given or not truth(given[0]) else given[0]
    if name == "quote":
        return " ".join(go_quote(go_print(a, line)) for a in args if a is not None)
    if name == "not":
        if len(args) != 1:
            raise TemplateError(line, f"wrong number of args for not: want 1 got {len(args)}")
        return not truth(args[0])
    raise _unsupported(line, f'"{name}" (function)')


class _Executor:
    def __init__(self, root: _Root) -> None:
        self.root = root

    def run(self, nodes: tuple[Any, ...], dot: Any, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Print):
                out.append(go_print(self.pipeline(node.pipe, dot), node.line))
            elif isinstance(node, If):
                for pipe, body in node.branches:
                    if truth(self.pipeline(pipe, dot)):
                        self.run(body, dot, out)
                        break
                else:
                    self.run(node.otherwise, dot, out)
            elif isinstance(node, With):
                value = self.pipeline(node.pipe, dot)
                if truth(value):
                    self.run(node.body, value, out)  # dot rebinding
                else:
                    self.run(node.otherwise, dot, out)

    def pipeline(self, pipe: Pipeline, dot: Any) -> Any:
        value: Any = _NOTHING
        for command in pipe:
            value = self.command(command, dot, value)
        return value

    def command(self, command: Command, dot: Any, piped: Any) -> Any:
        head = command[0]
        if head.kind == "func":
            args = [self.operand(op, dot) for op in command[1:]]
            if piped is not _NOTHING:
                args.append(piped)
            return _call(head.value, args, head.line)
        if head.kind == "lit" and head.value is None:
            raise TemplateError(head.line, "nil is not a command")
        value = self.operand(head, dot)  # first: `.Files.Get "x"` must fail as .Files, not as an argument
        if len(command) > 1 or piped is not _NOTHING:
            raise TemplateError(head.line, f"can't give argument to non-function {_describe(head)}")
        return value

    def operand(self, op: Operand, dot: Any) -> Any:
        if op.kind == "lit":
            return op.value
        if op.kind == "func":
            return _call(op.value, [], op.line)
        value = dot if op.kind == "field" else self.root
        for name in op.value:
            value = _field(value, name, op.line)
        return value


_NOTHING = object()


def _describe(op: Operand) -> str:
    if op.kind == "field":
        return "." + ".".join(op.value)
    if op.kind == "var":
        return "$" + "".join("." + p for p in op.value)
    return repr(op.value)


def render_template(text: str, root: _Root) -> str:
    out: list[str] = []
    _Executor(root).run(parse(text), root, out)
    return "".join(out).replace("<no value>", "")


# ============================================================================================ render
RELEASE = {"Name": "", "Namespace": "", "IsUpgrade": False, "IsInstall": False, "Revision": 0, "Service": "Helm"}


def _chart_meta(chart: Chart) -> _ChartMeta:
    fields = {go: str(chart.metadata.get(key, "")) for go, key in _CHART_FIELDS.items()}
    fields["Name"] = chart.name
    return _ChartMeta(fields)


def _iter_templates(chart: Chart, values: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, str, _Root]]:
    """(template name, text, root) for every rendered template of the chart and its subcharts."""
    root = _Root(values, RELEASE, _chart_meta(chart))
    for rel, text in sorted(chart.templates.items()):
        base = posixpath.basename(rel)
        if base.startswith("_") or rel.endswith(".txt") or chart.chart_type == "library":
            continue
        yield f"{prefix}{chart.name}/{rel}", text, root
    for sub in chart.subcharts:
        sub_values = values.get(sub.name) if isinstance(values.get(sub.name), dict) else {}
        yield from _iter_templates(sub, sub_values, f"{prefix}{chart.name}/charts/")


def _iter_crds(chart: Chart, prefix: str) -> Iterator[tuple[str, str]]:
    for rel, text in sorted(chart.crds.items()):
        yield f"{prefix}{chart.name}/{rel}", text
    for sub in chart.subcharts:
        yield from _iter_crds(sub, f"{prefix}{chart.name}/charts/")


_DOC_SEP = re.compile(r"(?:^|\s*\n)---\s*")


def render_documents(chart: Chart) -> list[Any]:
    """The chart's YAML documents as oc-mirror searches them: CRDs, then non-hook manifests."""
    process_dependencies(chart)
    values = coalesce(chart)
    docs: list[Any] = []
    for name, text in _iter_crds(chart, ""):
        docs.extend(_documents(chart, name, text, hooks=True))
    for name, text, root in _iter_templates(chart, values, ""):
        try:
            rendered = render_template(text, root)
        except TemplateError as exc:
            raise HelmError(
                f"failed to get template {chart.name}: error rendering chart {chart.name}: "
                f"template: {name}:{exc.line}: {exc.message}"
            ) from exc
        docs.extend(_documents(chart, name, rendered, hooks=False))
    return docs


def _documents(chart: Chart, name: str, text: str, *, hooks: bool) -> list[Any]:
    found: list[Any] = []
    for part in _DOC_SEP.split(text):
        if not part.strip():
            continue
        try:
            doc = _load_yaml(part)
        except yaml.YAMLError as exc:
            raise HelmError(f"failed to get template {chart.name}: YAML parse error on {name}: {exc}") from exc
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise HelmError(f"failed to get template {chart.name}: YAML parse error on {name}: a manifest must be a map")
        annotations = (doc.get("metadata") or {}).get("annotations") if isinstance(doc.get("metadata"), dict) else None
        if not hooks and isinstance(annotations, dict) and HOOK_ANNOTATION in annotations:
            continue  # a hook: SortManifests puts it aside and oc-mirror never reads it
        found.append(doc)
    return found


# =========================================================================================== JSONPath
_JP_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[\*\]|\[(-?\d+)\]|\[['\"]([^'\"]+)['\"]\]")


def _parse_jsonpath(template: str) -> list[str | list[tuple[str, Any]]]:
    """Literal text and `{...}` blocks (k8s jsonpath prints text outside braces as it is)."""
    parts: list[str | list[tuple[str, Any]]] = []
    pos = 0
    while pos < len(template):
        start = template.find("{", pos)
        if start < 0:
            parts.append(template[pos:])
            break
        parts.append(template[pos:start])
        end = template.find("}", start)
        if end < 0:
            raise HelmError(f"failed to parse {template}: unclosed action")
        inner, steps, at = template[start + 1 : end].strip(), [], 0
        while at < len(inner):
            m = _JP_STEP.match(inner, at)
            if not m:
                raise HelmError(
                    f"failed to parse {template}: the oc-mirror test double supports only .field, [*], [N] "
                    f"and ['field'] steps, not {inner[at:]!r}"
                )
            if m.group(1) is not None:
                steps.append(("field", m.group(1)))
            elif m.group(2) is not None:
                steps.append(("index", int(m.group(2))))
            elif m.group(3) is not None:
                steps.append(("field", m.group(3)))
            else:
                steps.append(("all", None))
            at = m.end()
        parts.append(steps)
        pos = end + 1
    return parts


def _walk(nodes: list[Any], steps: list[tuple[str, Any]]) -> list[Any]:
    for kind, arg in steps:
        nxt: list[Any] = []
        for node in nodes:
            if kind == "field" and isinstance(node, dict) and arg in node:
                nxt.append(node[arg])
            elif kind == "all" and isinstance(node, list):
                nxt.extend(node)
            elif kind == "all" and isinstance(node, dict):
                nxt.extend(node.values())
            elif kind == "index" and isinstance(node, list) and -len(node) <= arg < len(node):
                nxt.append(node[arg])
        nodes = nxt
    return nodes


def find_strings(doc: Any, template: str) -> list[str]:
    """What `jsonpath.Execute` prints for *doc*, split on spaces as oc-mirror splits it."""
    printed: list[str] = []
    for part in _parse_jsonpath(template):
        if isinstance(part, str):
            printed.append(part)
            continue
        values = [v for v in _walk([doc], part) if v is not None and not isinstance(v, (dict, list))]
        printed.append(" ".join(go_print(v, 0) if not isinstance(v, str) else v for v in values))
    return [s for s in "".join(printed).split(" ") if s]


_DOMAIN = (
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)


def is_image_reference(text: str) -> bool:
    """A docker reference oc-mirror's ParseRef accepts (optionally with docker://)."""
    ref = text.removeprefix("docker://")
    return bool(_IMAGE.fullmatch(ref)) and len(ref.split("@")[0].rsplit(":", 1)[0]) <= 255


def chart_images(chart: Chart, image_paths: list[str]) -> list[str]:
    """Images of a chart, in document order, deduplicated."""
    paths = list(DEFAULT_IMAGE_PATHS) + [str(p) for p in image_paths]
    for path in paths:
        _parse_jsonpath(path)  # a bad imagePaths entry fails even when no document has the path
    seen: dict[str, None] = {}
    for doc in render_documents(chart):
        for path in paths:
            for found in find_strings(doc, path):
                if is_image_reference(found):
                    seen.setdefault(found)
    return list(seen)


# ============================================================================================= fetch
def _get(url: str, *, tls_verify: bool, timeout: float, limit: int) -> bytes:
    """GET with a size cap; http is allowed, https verified unless tls_verify is false."""
    context = ssl.create_default_context() if tls_verify else ssl._create_unverified_context()
    request = urllib.request.Request(url, headers={"User-Agent": "Helm/3.17.0 (oc-mirror test double)"})
    with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:
        data = resp.read(limit + 1)
    if len(data) > limit:
        raise HelmError(f"{url} is larger than {limit} bytes")
    return data


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"{exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


def _check_url(url: str) -> None:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise HelmError(
            f'could not find protocol handler for: {urllib.parse.urlsplit(url).scheme or url!r} (repository URL "{url}")'
        )


def _index_namespace(index_url: str) -> str:
    """oc-mirror's getNamespaceFromURL: the URL between `scheme://` and the last `/`."""
    return "/".join(index_url.split("/")[2:-1])


def _safe_relpath(text: str, what: str) -> Path:
    parts = [p for p in text.split("/") if p]
    if not parts or any(p in (".", "..") or "\\" in p for p in parts):
        raise HelmError(f"invalid {what} {text!r}")
    return Path(*parts)


def _parse_index(data: bytes, url: str) -> dict[str, list[dict[str, Any]]]:
    try:
        doc = _load_strings(data)
    except yaml.YAMLError as exc:
        raise HelmError(f'failed to parse "{url}" into index file: {exc}') from exc
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        raise HelmError(f'failed to parse "{url}" into index file: no entries')
    return {str(k): [e for e in (v or []) if isinstance(e, dict)] for k, v in entries.items()}


def _fetch_index(repo: Mapping[str, Any], working: Path, *, literal: bool, tls_verify: bool) -> dict[str, list[dict[str, Any]]]:
    """Download and save the repository index.

    With `charts` omitted oc-mirror GETs `<url>index.yaml` as written (so the URL needs its trailing
    `/`); otherwise Helm's repo add resolves `index.yaml` against the URL.
    """
    url = str(repo.get("url") or "")
    _check_url(url)
    index_url = (url if url.endswith("/index.yaml") else url + "index.yaml") if literal else url.rstrip("/") + "/index.yaml"
    try:
        data = _get(index_url, tls_verify=tls_verify, timeout=INDEX_TIMEOUT, limit=MAX_INDEX_BYTES)
    except (OSError, ValueError, http.client.HTTPException, HelmError) as exc:
        hint = "" if url.endswith("/") or not literal else " (the repository URL needs a trailing /)"
        if literal:
            raise HelmError(f"request helm index: {index_url} {_reason(exc)}{hint}") from exc
        raise HelmError(
            f'invalid chart repository "{url}": looks like "{url}" is not a valid chart repository '
            f"or cannot be reached: {_reason(exc)}"
        ) from exc
    entries = _parse_index(data, index_url)
    target = working / "helm" / "indexes" / _safe_relpath(_index_namespace(index_url), "index location") / "index.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return entries


def _read_saved_index(repo: Mapping[str, Any], working: Path) -> dict[str, list[dict[str, Any]]]:
    url = str(repo.get("url") or "")
    path = working / "helm" / "indexes" / _safe_relpath(_index_namespace(url), "index location") / "index.yaml"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HelmError(f"failed to parse {path}: open {path}: {exc.strerror or exc}") from exc
    return _parse_index(data, str(path))


def _all_charts(entries: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every version of every non-library chart (name order, then the index's order)."""
    return [
        {"name": name, "version": str(e.get("version", ""))}
        for name, versions in sorted(entries.items())
        for e in versions
        if e.get("type") != "library"
    ]


_RANGE = re.compile(r"[<>=^~*|,\s]|(?:^|\.)[xX](?:\.|$)")


def _pick_version(entries: Mapping[str, list[dict[str, Any]]], repo: str, name: str, version: str) -> dict[str, Any]:
    """Helm's IndexFile.Get: exact string first, then equal semver; empty = highest non-prerelease."""
    ref = f"{repo}/{name}"
    if name not in entries or not entries[name]:
        known = ", ".join(sorted(entries)) or "none"
        raise HelmError(f'error pulling chart {ref}: chart "{name}" not found in {repo} index (charts in the index: {known})')
    versions = entries[name]
    listed = ", ".join(str(e.get("version")) for e in _by_semver(versions))
    if version and _RANGE.search(version):
        raise HelmError(
            f"error pulling chart {ref}: version range {version!r} is not supported by the oc-mirror test double; name one version (the index has {listed})"
        )
    if not version:
        stable = [e for e in _by_semver(versions) if (v := _Semver.parse(str(e.get("version", "")))) and v.release]
        if stable:
            return stable[0]
    else:
        for e in versions:
            if str(e.get("version")) == version:
                return e
        wanted = _Semver.parse(version)
        for e in versions:
            if wanted and _Semver.parse(str(e.get("version", ""))) == wanted:
                return e
    raise HelmError(
        f'error pulling chart {ref}: chart "{name}" version "{version or "latest"}" not found in {repo} index '
        f"(versions in the index: {listed})"
    )


def _by_semver(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(e: dict[str, Any]) -> tuple[int, Any]:
        v = _Semver.parse(str(e.get("version", "")))
        return (1, v) if v else (0, str(e.get("version", "")))

    return sorted(versions, key=key, reverse=True)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def _check_name(text: str, what: str) -> str:
    if not _NAME.fullmatch(text) or ".." in text:
        raise HelmError(f"invalid chart {what} {text!r}")
    return text


def _pull(repo: Mapping[str, Any], entry: Mapping[str, Any], working: Path, *, tls_verify: bool) -> Path:
    """Download the chart archive the index entry names to working/helm/charts/<name>-<version>.tgz."""
    name = _check_name(str(entry.get("name") or ""), "name")
    version = _check_name(str(entry.get("version") or ""), "version")
    ref = f"{repo.get('name')}/{name}"
    urls = entry.get("urls") or []
    if not isinstance(urls, list) or not urls:
        raise HelmError(f"error pulling chart {ref}: chart {name} {version} has no download URL in the index")
    base = str(repo.get("url") or "").rstrip("/") + "/"
    url = urllib.parse.urljoin(base, str(urls[0]))
    try:
        _check_url(url)
        data = _get(url, tls_verify=tls_verify, timeout=CHART_TIMEOUT, limit=MAX_ARCHIVE_BYTES)
    except (OSError, ValueError, http.client.HTTPException, HelmError) as exc:
        raise HelmError(f"error pulling chart {ref}: failed to fetch {url} : {_reason(exc)}") from exc
    target = working / "helm" / "charts" / f"{name}-{version}.tgz"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tgz.part")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def _stored_chart(working: Path, name: str, version: str) -> Path:
    """oc-mirror's resolveChartPath: `<name>-<semver>.tgz`, then `<name>-v<semver>.tgz`."""
    parsed = _Semver.parse(version) if version else None
    if parsed is None:
        raise HelmError(f'invalid chart version "{version}": Invalid Semantic Version')
    _check_name(name, "name")
    folder = working / "helm" / "charts"
    candidates = [folder / f"{name}-{parsed}.tgz", folder / f"{name}-v{parsed}.tgz"]
    for path in candidates:
        if path.is_file():
            return path
    raise HelmError(f"chart file not found for {name} version {version}: tried {candidates[0].name} and {candidates[1].name}")


# =========================================================================================== collect
@dataclass(frozen=True)
class _Job:
    """One chart to read, or the error that stopped it from being found."""

    path: Path | None
    image_paths: tuple[str, ...]
    error: str = ""


def _repo_jobs(repo: Mapping[str, Any], working: Path, *, pull: bool, tls_verify: bool) -> Iterator[_Job]:
    charts = repo.get("charts")
    try:
        if pull:
            entries = _fetch_index(repo, working, literal=charts is None, tls_verify=tls_verify)
            wanted = _all_charts(entries) if charts is None else list(charts)
        else:
            wanted = _all_charts(_read_saved_index(repo, working)) if charts is None else list(charts)
    except HelmError as exc:
        yield _Job(None, (), str(exc))
        return
    for chart in wanted:
        if not isinstance(chart, dict):
            yield _Job(None, (), f"invalid chart entry {chart!r} in repository {repo.get('name')!r}")
            continue
        image_paths = tuple(str(p) for p in (chart.get("imagepaths") or []))
        name, version = str(chart.get("name") or ""), str(chart.get("version") or "")
        try:
            if pull:
                entry = dict(_pick_version(entries, str(repo.get("name")), name, version))
                entry["name"] = name
                path = _pull(repo, entry, working, tls_verify=tls_verify)
            else:
                path = _stored_chart(working, name, version)
        except HelmError as exc:
            yield _Job(None, (), str(exc))
            continue
        yield _Job(path, image_paths)


def _local_jobs(local: list[Any]) -> Iterator[_Job]:
    for chart in local:
        if not isinstance(chart, dict) or not chart.get("path"):
            yield _Job(None, (), f"invalid local chart entry {chart!r}: a path is required")
            continue
        yield _Job(Path(str(chart["path"])), tuple(str(p) for p in (chart.get("imagepaths") or [])))


def collect(helm: dict, working: Path, *, pull: bool, tls_verify: bool) -> list[ChartImage]:
    """Images of every chart `mirror.helm` names (keys lower-cased), local charts first, deduplicated.

    Every chart is tried; all failures are reported together in one HelmError, as oc-mirror joins them.
    """
    helm = helm or {}
    errors: list[str] = []
    found: dict[str, ChartImage] = {}
    jobs: list[Callable[[], Iterator[_Job]]] = [lambda: _local_jobs(list(helm.get("local") or []))]
    for repo in helm.get("repositories") or []:
        jobs.append(lambda repo=repo: _repo_jobs(repo, working, pull=pull, tls_verify=tls_verify))
    for make in jobs:
        for job in make():
            if job.error or job.path is None:
                errors.append(job.error)
                continue
            try:
                chart = load_chart(job.path)
                images = chart_images(chart, list(job.image_paths))
            except HelmError as exc:
                errors.append(str(exc))
                continue
            for image in images:
                found.setdefault(image, ChartImage(image, chart.name, chart.version))
    if errors:
        raise HelmError("\n".join(errors))
    return list(found.values())
