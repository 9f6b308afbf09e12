"""Helm charts for the oc-mirror test double: pull charts, render them with the real helm, find images.

**Test code, not oc-mirror.** This module is loaded by `tests/ocmirror_double/oc-mirror` (standard
library + pyyaml; it never imports mirrorkit). It follows the contract in
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
- Images: oc-mirror renders each chart in-process with Helm's own packages (loader.Load,
  ProcessDependencies, ToRenderValues with the default values, empty ReleaseOptions and
  DefaultCapabilities, engine.Render), drops NOTES (*.txt), writes the CRDs first and then only the
  non-hook manifests SortManifests returns, splits that text on "\\n---\\n" and searches every document
  at the four default JSONPaths plus each `imagePaths` entry; strings that are not image references are
  dropped, as its ParseRef drops them. The double gets the same text from the real helm binary,
  `helm template CHART --include-crds --no-hooks` (helm v3.21.4, the Helm oc-mirror vendors), so any
  template a real chart uses renders. Results are deduplicated by image (the first chart naming it wins).
- The rendered documents are read the way go-yaml (sigs.k8s.io/yaml) reads them, not the way PyYAML
  does: a tab is accepted as separation whitespace after a key's colon, inside a plain scalar, before
  a comment, at the end of a line and in flow collections (CRDs published with `description:\\tText`
  load in oc-mirror); a tab used as indentation is still an error. Only the first document of a piece
  is read (go-yaml's Unmarshal); numbers are printed as Go prints a float64 (JSON numbers).

Finding helm: `OC_MIRROR_DOUBLE_HELM` (a path) if set, else `helm` on PATH. Without it every chart
fails with a clear collection error: a chart the double cannot render must never yield a silently
empty image list. helm runs with its own empty config/cache/data folders and no kubeconfig.

`helm template` is not oc-mirror's in-process rendering; where the difference changes results it is
handled here (the chart is then rendered from a patched copy in a temporary folder, never changed in
place):
- A library chart at the top: `helm template` refuses it ("library charts are not installable");
  engine.Render renders no template of a library chart itself but does render its subcharts, and
  CRDObjects still lists its CRDs. The copy is typed `application` and its own templates other than
  `_*` partials are removed, so the result is oc-mirror's (usually: no images, no error).
- Dependencies listed in Chart.yaml (requirements.yaml for apiVersion v1) but absent from `charts/`:
  `helm template` stops ("found in Chart.yaml, but missing in charts/ directory"); oc-mirror's
  ProcessDependencies renders without them. They are dropped from the copy's list.
- `kubeVersion` of the top chart: `helm template` checks it against DefaultCapabilities and refuses
  an incompatible range; oc-mirror never checks it. It is removed from the copy.
Differences left as they are (written down, not emulated):
- `.Release.Name` is "release-name" and `.Release.Namespace` "default" (oc-mirror: both ""), Revision
  1 and IsInstall true (oc-mirror: 0 and false): helm refuses an empty release name. Only a chart
  whose image references print these values is affected.
- helm template merges subchart values with ProcessDependenciesWithMerge, oc-mirror with
  ProcessDependencies; they differ only for a `null` in the parent's values meant to delete a
  subchart default (Merge keeps the key as null, Coalesce deletes it).
- Error texts: the message of the helm run is passed on after oc-mirror's prefix
  (`failed to get template NAME: error rendering chart NAME: template: ...`); a load error is the
  double's own (`failed to load PATH: ...`), checked before helm runs.
Not modelled either: dependency version constraints (a present subchart is used), chart version ranges
in the ImageSetConfiguration (refused), provenance, index digests (Helm does not check them on pull
either). Pulled archives are named `<name>-<version>.tgz` (Helm itself keeps the basename of the
download URL; the two agree for ordinary repositories). All failures of a run are joined, one per
line, into a single HelmError, as oc-mirror joins its collector errors.
"""

from __future__ import annotations

import functools
import gzip
import http.client
import io
import math
import os
import re
import shutil
import ssl
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

INDEX_TIMEOUT = 5.0  # oc-mirror's web client timeout for index.yaml
CHART_TIMEOUT = 60.0
HELM_TIMEOUT = 120.0  # one `helm template` run
HELM_ENV = "OC_MIRROR_DOUBLE_HELM"
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
DOCUMENT_SEPARATOR = "\n---\n"  # what oc-mirror splits the rendered text on


class HelmError(Exception):
    """A Helm collection error; str() is the full user-facing message (several lines if several failed)."""


@dataclass(frozen=True)
class ChartImage:
    image: str  # image reference as found in the rendered manifest
    chart: str  # chart name
    version: str  # chart version


# =============================================================================================== YAML
_BREAKS = "\0\r\n\x85\u2028\u2029"


class _GoScanner(Reader, Scanner):
    """PyYAML's scanner with go-yaml's rules for tabs.

    go-yaml (libyaml's C port) skips a tab between tokens when a simple key is not allowed there (right
    after a key's `:`, after a scalar) or inside a flow collection, and counts tabs as blanks inside
    plain scalars and after block scalar indicators. PyYAML skips only spaces, so a CRD with
    `description:\\tText` that oc-mirror reads would fail here. Indentation tabs stay errors in both.
    """

    def scan_to_next_token(self) -> None:
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        while True:
            while self.peek() == " " or (self.peek() == "\t" and (self.flow_level or not self.allow_simple_key)):
                self.forward()
            if self.peek() == "#":
                while self.peek() not in _BREAKS:
                    self.forward()
            if not self.scan_line_break():
                return
            if not self.flow_level:
                self.allow_simple_key = True

    def scan_plain_spaces(self, indent: int, start_mark: Any) -> Any:
        length = 0
        while self.peek(length) in " \t":
            length += 1
        if "\t" not in self.prefix(length):
            return super().scan_plain_spaces(indent, start_mark)
        if self.peek(length) in _BREAKS + "#":
            self.forward(length)  # blanks before a comment or a line break are not content
            return [] if self.peek() == "#" else super().scan_plain_spaces(indent, start_mark)
        blanks = self.prefix(length)  # blanks between two words are content ("x\ty" stays "x\ty")
        self.forward(length)
        return [blanks]

    def scan_block_scalar_indicators(self, start_mark: Any) -> Any:
        # `key: |\t`: go-yaml takes the tab after the indicators as a blank, PyYAML wants a space;
        # the character is ignorable either way, so it is read as a space.
        at = 0
        while self.peek(at) in "+-0123456789" and at < 3:
            at += 1
        if self.peek(at) == "\t":
            spot = self.pointer + at
            self.buffer = self.buffer[:spot] + " " + self.buffer[spot + 1 :]
        return super().scan_block_scalar_indicators(start_mark)

    def scan_block_scalar_ignored_line(self, start_mark: Any) -> Any:
        while self.peek() in " \t":
            self.forward()
        return super().scan_block_scalar_ignored_line(start_mark)


class _GoYamlLoader(_GoScanner, Parser, Composer, SafeConstructor, Resolver):
    """SafeLoader with go-yaml's tab rules and without timestamps (sigs.k8s.io/yaml keeps `2024-01-01` a string)."""

    def __init__(self, stream: str | bytes) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


_GoYamlLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in Resolver.yaml_implicit_resolvers.items()
}


def load_go_yaml(text: str | bytes) -> Any:
    """The first YAML document of *text*, read as sigs.k8s.io/yaml's Unmarshal reads it.

    go-yaml decodes the first document and ignores what follows; PyYAML's load would refuse a second.
    """
    loader = _GoYamlLoader(text)
    try:
        return loader.construct_document(loader.get_node()) if loader.check_node() else None
    finally:
        loader.dispose()


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
    """A chart as the double reads it before helm renders it: its files and top-level Chart.yaml.

    The double reads the archive itself (with Helm's limits) to name the chart in messages and results
    and to see what `helm template` would refuse where oc-mirror renders (see the module docstring).
    """

    name: str
    version: str
    metadata: dict[str, Any]  # Chart.yaml, every scalar a string
    files: dict[str, bytes]  # relative to the chart directory
    subcharts: set[str]  # names (Chart.yaml `name`) of the charts under charts/
    path: Path  # the archive or directory helm is given when nothing needs patching

    @property
    def chart_type(self) -> str:
        return str(self.metadata.get("type") or "application")


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


def _read_meta(files: dict[str, bytes], source: str) -> dict[str, Any]:
    """Chart.yaml with every scalar a string; a chart without name or version is refused (Helm's Validate)."""
    if "Chart.yaml" not in files:
        raise HelmError(f"failed to load {source}: Chart.yaml file is missing")
    try:
        meta = _load_strings(files["Chart.yaml"]) or {}
    except yaml.YAMLError as exc:
        raise HelmError(f"failed to load {source}: {exc}") from exc
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise HelmError(f"failed to load {source}: validation: Chart.yaml needs a name and a version")
    return meta


def _subchart_names(files: dict[str, bytes], source: str, budget: _Budget, depth: int) -> set[str]:
    """Names of the charts under `charts/` (directories and archives), each checked as a chart."""
    if depth > MAX_NESTING:
        raise HelmError(f"failed to load {source}: subcharts nested more than {MAX_NESTING} deep")
    unpacked: dict[str, dict[str, bytes]] = {}
    names: set[str] = set()
    for rel, data in sorted(files.items()):
        head, _, tail = rel.removeprefix("charts/").partition("/")
        if not rel.startswith("charts/"):
            continue
        if not tail and head.endswith(".tgz"):
            where = f"{source} (charts/{head})"
            sub = _archive_files(data, where, budget)
            names.add(str(_read_meta(sub, where)["name"]))
            _subchart_names(sub, where, budget, depth + 1)
        elif tail:
            unpacked.setdefault(head, {})[tail] = data
    for head, sub in unpacked.items():
        where = f"{source} (charts/{head})"
        names.add(str(_read_meta(sub, where)["name"]))
        _subchart_names(sub, where, budget, depth + 1)
    return names


def load_chart(path: Path) -> Chart:
    """Read a chart (archive or directory) with Helm's safety limits; helm reads it again to render."""
    source = str(path)
    budget = _Budget(source)
    if path.is_dir():
        files = _dir_files(path, source, budget)
    else:
        try:
            size = path.stat().st_size
            if size > MAX_ARCHIVE_BYTES:
                raise HelmError(f"failed to load {source}: archive is {size} bytes, over the {MAX_ARCHIVE_BYTES} limit")
            data = path.read_bytes()
        except OSError as exc:
            raise HelmError(f"failed to load {source}: {exc.strerror or exc}") from exc
        files = _archive_files(data, source, budget)
    meta = _read_meta(files, source)
    subcharts = _subchart_names(files, source, budget, 0)
    return Chart(str(meta["name"]), str(meta["version"]), meta, files, subcharts, path)


# ================================================================== helm template versus oc-mirror
def _dependency_file(chart: Chart) -> str:
    """Where Helm reads the dependency list: requirements.yaml for an apiVersion v1 chart that has one."""
    if str(chart.metadata.get("apiVersion") or "v1") == "v1" and "requirements.yaml" in chart.files:
        return "requirements.yaml"
    return "Chart.yaml"


def _typed(data: bytes, name: str, chart: Chart) -> dict[str, Any]:
    try:
        doc = load_go_yaml(data)
    except yaml.YAMLError as exc:
        raise HelmError(f"failed to load {chart.path}: {name}: {exc}") from exc
    return doc if isinstance(doc, dict) else {}


def _dump(doc: Mapping[str, Any]) -> bytes:
    return yaml.safe_dump(dict(doc), sort_keys=False, default_flow_style=False).encode()


def oc_mirror_patches(chart: Chart) -> dict[str, bytes | None]:
    """Files to replace (None: remove) so `helm template` renders what oc-mirror renders in-process.

    Empty when the chart needs nothing: then helm reads the original archive or directory.
    """
    patches: dict[str, bytes | None] = {}
    meta = _typed(chart.files["Chart.yaml"], "Chart.yaml", chart)
    changed = False
    if meta.get("kubeVersion"):
        del meta["kubeVersion"]  # oc-mirror never checks the range; helm template refuses a mismatch
        changed = True
    if meta.get("type") == "library":
        meta["type"] = "application"  # engine.Render skips a library chart's own templates ...
        for rel in chart.files:  # ... except partials, which never print anyway
            if rel.startswith("templates/") and not rel.rsplit("/", 1)[-1].startswith("_"):
                patches[rel] = None
        changed = True
    dep_file = _dependency_file(chart)
    owner = meta if dep_file == "Chart.yaml" else _typed(chart.files[dep_file], dep_file, chart)
    deps = owner.get("dependencies") or []
    present = [d for d in deps if isinstance(d, dict) and str(d.get("name")) in chart.subcharts]
    if len(present) != len(deps):
        owner["dependencies"] = present  # oc-mirror renders without a missing subchart; helm refuses
        if dep_file != "Chart.yaml":
            patches[dep_file] = _dump(owner)
        else:
            changed = True
    if changed:
        patches["Chart.yaml"] = _dump(meta)
    return patches


def _write_patched(chart: Chart, patches: Mapping[str, bytes | None], folder: Path) -> Path:
    """The chart with *patches* applied, unpacked under *folder* (the original is never changed)."""
    root = folder / "chart"  # not the chart's name: Chart.yaml is not trusted to name a folder
    for rel, data in {**chart.files, **patches}.items():
        if data is None:
            continue
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


# ========================================================================================= rendering
def helm_binary() -> str:
    """The helm to run: $OC_MIRROR_DOUBLE_HELM, else `helm` on PATH; a clear error when there is none."""
    explicit = os.environ.get(HELM_ENV, "")
    if explicit:
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise HelmError(f"oc-mirror TEST DOUBLE: {HELM_ENV}={explicit} is not an executable helm binary")
        return explicit
    found = shutil.which("helm")
    if not found:
        raise HelmError(
            "oc-mirror TEST DOUBLE: cannot render charts: the helm binary is not on PATH "
            f"(run scripts/setup.sh, or set {HELM_ENV} to its path)"
        )
    return found


def _helm_env(home: Path) -> dict[str, str]:
    """The caller's environment without Helm or kube settings: helm sees empty homes and no cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_") and k != "KUBECONFIG"}
    for kind in ("CONFIG", "CACHE", "DATA"):
        env[f"HELM_{kind}_HOME"] = str(home / kind.lower())
    env["KUBECONFIG"] = str(home / "no-kubeconfig")
    return env


#: How the messages of Helm's template engine start (pkg/engine: parse, execution and tpl errors).
_ENGINE_ERRORS = (
    "template: ",
    "parse error ",
    "execution error ",
    "rendering template ",
    "error during tpl ",
    "cannot parse template ",
)


def _failure(chart: Chart, stderr: str) -> HelmError:
    """oc-mirror's wording around helm's own message, kept on one line (errors are joined by lines)."""
    lines = stderr.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Error: ")), 0)
    message = "\n".join(lines[start:]).removeprefix("Error: ").split("\n\nUse --debug")[0]
    message = " ".join(part.strip() for part in message.splitlines() if part.strip()) or "helm template failed"
    if message.startswith(_ENGINE_ERRORS):  # engine.Render's errors, which oc-mirror wraps once more
        message = f"error rendering chart {chart.name}: {message}"
    elif message.startswith("values don't meet"):  # ToRenderValues' schema check
        message = f"error rendering values: {message}"
    return HelmError(f"failed to get template {chart.name}: {message}")


def render(chart: Chart) -> str:
    """The text oc-mirror's getHelmTemplates builds: CRDs, then the non-hook manifests, each after `---`."""
    try:
        binary = helm_binary()
    except HelmError as exc:  # this chart fails; the others are still tried and reported
        raise HelmError(f"failed to get template {chart.name}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="oc-mirror-double-helm-") as tmp:
        home = Path(tmp)
        patches = oc_mirror_patches(chart)
        target = _write_patched(chart, patches, home) if patches else chart.path
        command = [binary, "template", str(target), "--include-crds", "--no-hooks"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=_helm_env(home), timeout=HELM_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HelmError(f"failed to get template {chart.name}: oc-mirror TEST DOUBLE: running {binary}: {exc}") from exc
    if done.returncode != 0:
        raise _failure(chart, done.stderr)
    return done.stdout


def render_documents(chart: Chart) -> list[Any]:
    """The rendered documents as oc-mirror's findImages reads them: split on "\\n---\\n", first document each."""
    docs: list[Any] = []
    for piece in render(chart).split(DOCUMENT_SEPARATOR):
        try:
            doc = load_go_yaml(piece)
        except yaml.YAMLError as exc:
            raise HelmError(
                f"failed to read the rendered templates of {chart.name}: error converting YAML to JSON: {exc}".replace("\n", " ")
            ) from exc
        if doc is not None:
            docs.append(doc)
    return docs


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
        printed.append(" ".join(_jsonpath_text(v) for v in values))
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
    """A docker reference oc-mirror's ParseRef accepts (optionally with docker://): it must carry a tag
    or a digest ("tag and digest are empty" otherwise), so a bare `nginx` is dropped."""
    ref = text.removeprefix("docker://")
    name = ref.split("@", 1)[0]
    tagged = ":" in name.rsplit("/", 1)[-1]
    return bool(_IMAGE.fullmatch(ref)) and len(name.rsplit(":", 1)[0]) <= 255 and (tagged or "@" in ref)


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


def _jsonpath_text(value: Any) -> str:
    """How jsonpath prints a leaf: JSON numbers are float64 in Go, printed with %v."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_float(float(value))
    return str(value)


def go_float(value: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64): shortest digits, %e when the exponent is < -4 or >= 6."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    ds = list(digits)
    while len(ds) > 1 and ds[-1] == 0:
        ds.pop()
        exponent = int(exponent) + 1
    point = len(ds) + int(exponent)  # digits before the decimal point
    text, neg = "".join(map(str, ds)), "-" if sign else ""
    if not -4 <= point - 1 < 6:
        mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mant}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{neg}{text}{'0' * (point - len(text))}"
    return f"{neg}{text[:point]}.{text[point:]}"


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
        jobs.append(functools.partial(_repo_jobs, repo, working, pull=pull, tls_verify=tls_verify))
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
