"""Image references inside an operator bundle image, read straight from the registry.

oc-mirror mirrors an operator's bundle image and its ClusterServiceVersion's `relatedImages`, but
not the images an operator pulls from elsewhere: the Serverless Logic operator names its builder,
devmode, data-index, jobs-service and db-migrator images in a ConfigMap (`controllers_cfg.yaml`).
The RHDH docs find them with `podman create` + `podman cp` + `yq`; this module does the same over
the distribution API (no container engine) and remembers where each reference was found.

The folders come from the image's labels `operators.operatorframework.io.bundle.manifests.v1` and
`...metadata.v1` when set (opm sets them), else the conventional `manifests/` and `metadata/`.

Where references are collected, per YAML/JSON document under `manifests/`:

* ClusterServiceVersion: `spec.relatedImages[].image`; every container and init container `image`
  of `spec.install.spec.deployments[].spec.template.spec` and their `env[].value`s that are image
  references (RELATED_IMAGE_* and others); `metadata.annotations.containerImage`;
* ConfigMap: each `data` value that is itself a YAML/JSON document (or a single string): every
  string in it that is a fully qualified image reference (what the docs' yq expression selects).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from mirrorkit import yamlgo
from mirrorkit.errors import InputError
from mirrorkit.limits import too_deep
from mirrorkit.oci.layers import FileLimits, merged_paths, normalise_member, read_files
from mirrorkit.oci.platform import Platform
from mirrorkit.oci.reference import ImageReference, is_image_reference

log = logging.getLogger(__name__)

MANIFESTS = "manifests"
METADATA = "metadata"
ANNOTATIONS_FILE = "annotations.yaml"
PACKAGE_ANNOTATION = "operators.operatorframework.io.bundle.package.v1"
#: Image labels (set by `opm` / operator-sdk) that say where a bundle keeps its files.
MANIFESTS_LABEL = "operators.operatorframework.io.bundle.manifests.v1"
METADATA_LABEL = "operators.operatorframework.io.bundle.metadata.v1"
YAML_SUFFIXES = (".yaml", ".yml", ".json")
#: Strings visited per ConfigMap value: YAML aliases can make a small document huge to walk.
MAX_NODES = 200_000


@dataclass(frozen=True, order=True)
class Source:
    """Where a reference was found: a bundle file and a path inside it (`spec.relatedImages[0].image`)."""

    file: str
    path: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}"


@dataclass(frozen=True, order=True)
class FoundImage:
    """One image reference and every place that names it."""

    ref: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class BundleImages:
    """What one bundle image names. `digest` is the manifest that was read (platform image)."""

    bundle: str
    digest: str
    package: str | None
    files: tuple[str, ...]
    images: tuple[FoundImage, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(image.ref for image in self.images)

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": self.bundle,
            "digest": self.digest,
            "package": self.package,
            "files": list(self.files),
            "images": [{"ref": i.ref, "sources": [{"file": s.file, "path": s.path} for s in i.sources]} for i in self.images],
            "warnings": list(self.warnings),
        }


def inspect_bundle(
    client: Any,
    ref: str | ImageReference,
    platform: Platform | str | None = None,
    limits: FileLimits = FileLimits(),
) -> BundleImages:
    """Read the bundle image *ref* (via an :class:`~mirrorkit.oci.client.OciClient`) and collect its images."""
    image = ref if isinstance(ref, ImageReference) else ImageReference.parse(ref)
    manifest = client.get_manifest(image, platform=platform)
    labels = client.config_labels(manifest)
    manifests_dir = _label_dir(labels, MANIFESTS_LABEL, MANIFESTS)
    metadata_dir = _label_dir(labels, METADATA_LABEL, METADATA)
    files = read_files(client, manifest, (manifests_dir, metadata_dir), limits)
    manifest_files = merged_paths(files, manifests_dir)
    if not manifest_files:
        raise InputError(
            f"{image} is not an operator bundle image",
            f"it has no {manifests_dir}/ folder",
            "pass the operator's *bundle* image (e.g. .../logic-operator-bundle:1.36), not the operator or catalog image",
        )
    images, warnings = collect_images({p: files[p] for p in manifest_files})
    return BundleImages(
        bundle=str(image),
        digest=manifest.digest,
        package=_package(files.get(f"{metadata_dir}/{ANNOTATIONS_FILE}")),
        files=tuple(sorted(files)),
        images=images,
        warnings=warnings,
    )


def _label_dir(labels: Mapping[str, str], label: str, default: str) -> str:
    """The bundle folder a label names (`manifests/` -> `manifests`); *default* when unset or unsafe."""
    value = labels.get(label, "").strip()
    folder = normalise_member(value.lstrip("/")) if value else None
    if value and folder is None and value.strip("/"):
        log.debug("ignoring unsafe bundle label %s=%r", label, value)
    return folder or default


def resolve_bundle_images(refs: Iterable[str], client: Any, platform: Platform | str | None = None) -> list[str]:
    """Every image the bundles *refs* name, deduplicated and sorted (the imageset build's resolver)."""
    found: set[str] = set()
    for ref in refs:
        found.update(inspect_bundle(client, ref, platform=platform).refs)
    return sorted(found)


def collect_images(files: Mapping[str, bytes]) -> tuple[tuple[FoundImage, ...], tuple[str, ...]]:
    """Image references in bundle *files* ({path: bytes}); returns (images, warnings)."""
    sources: dict[str, set[Source]] = {}
    warnings: list[str] = []
    for path in sorted(files):
        if not path.endswith(YAML_SUFFIXES):
            continue
        try:
            _collect_file(path, files[path], sources, warnings)
        except RecursionError:  # decoding or walking: a clear refusal, never an internal error
            raise too_deep(f"bundle file {path}") from None
    images = tuple(FoundImage(ref, tuple(sorted(srcs))) for ref, srcs in sorted(sources.items()))
    return images, tuple(warnings)


def _collect_file(path: str, data: bytes, sources: dict[str, set[Source]], warnings: list[str]) -> None:
    try:  # Go's YAML rules: a tab after a key's colon (CRD descriptions) is read, not refused
        documents = [d for d in yamlgo.load_all(data.decode("utf-8", errors="replace")) if d is not None]
    except yaml.YAMLError as exc:
        if yamlgo.too_deep(exc):
            raise too_deep(f"bundle file {path}") from None  # libyaml's nesting limit: hostile, not skipped
        warnings.append(f"{path}: not valid YAML/JSON, skipped ({_first_line(exc)}); an image it names may be missing")
        return
    for number, document in enumerate(documents):
        prefix = f"document[{number}]." if len(documents) > 1 else ""
        for ref, where in _from_document(document, warnings, path):
            sources.setdefault(ref, set()).add(Source(path, prefix + where))


def _from_document(doc: Any, warnings: list[str], path: str) -> Iterator[tuple[str, str]]:
    if not isinstance(doc, dict):
        return
    kind = doc.get("kind")
    if kind == "ClusterServiceVersion":
        yield from _from_csv(doc)
    elif kind == "ConfigMap":
        yield from _from_configmap(doc, warnings, path)


def _from_csv(csv: dict[str, Any]) -> Iterator[tuple[str, str]]:
    annotations = _get(csv, "metadata", "annotations")
    if isinstance(annotations, dict) and _is_ref(annotations.get("containerImage")):
        yield annotations["containerImage"].strip(), "metadata.annotations.containerImage"
    found = csv.get("spec")
    spec: dict[str, Any] = found if isinstance(found, dict) else {}
    for i, related in _items(spec.get("relatedImages")):
        if isinstance(related, dict) and _is_ref(related.get("image")):
            yield related["image"].strip(), f"spec.relatedImages[{i}].image"
    for d, deployment in _items(_get(spec, "install", "spec", "deployments")):
        pod = _get(deployment, "spec", "template", "spec")
        if not isinstance(pod, dict):
            continue
        for field_name in ("initContainers", "containers"):
            for c, container in _items(pod.get(field_name)):
                if not isinstance(container, dict):
                    continue
                base = f"spec.install.spec.deployments[{d}].spec.template.spec.{field_name}[{c}]"
                if _is_ref(container.get("image")):
                    yield container["image"].strip(), f"{base}.image"
                for e, env in _items(container.get("env")):
                    if isinstance(env, dict) and _is_ref(env.get("value")):
                        yield env["value"].strip(), f"{base}.env[{e}].value"


def _from_configmap(configmap: dict[str, Any], warnings: list[str], path: str) -> Iterator[tuple[str, str]]:
    data = configmap.get("data")
    if not isinstance(data, dict):
        return
    for key in sorted(data, key=str):
        value = data[key]
        if not isinstance(value, str):
            continue
        where = f"data[{_quote(str(key))}]"
        if _is_ref(value):
            yield value.strip(), where
            continue
        if _DOCKERFILE_FROM.search(value):
            yield from _from_dockerfile(value, where)
            continue
        documents = _value_documents(value, path, where, warnings)
        for number, nested in enumerate(documents):
            if isinstance(nested, (dict, list)):
                budget = [MAX_NODES]
                inner = f"{where}.document[{number}]" if len(documents) > 1 else where
                yield from _strings(nested, inner, budget)
                if budget[0] <= 0:
                    warnings.append(f"{path}: {inner} is too large to walk completely; some images may be missing")


#: A Dockerfile's FROM line: `FROM [--platform=...] image [AS stage]`.
_DOCKERFILE_FROM = re.compile(r"^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(\S+)", re.MULTILINE | re.IGNORECASE)
#: A template placeholder (`{{backstage-ns}}`, `{{ .Values.x }}`): read as a plain string.
_PLACEHOLDER = re.compile(r"\{\{[^{}\n]*\}\}")
#: A value that looks like YAML (a key at the start of a line, or a document marker), not plain text.
_LOOKS_YAML = re.compile(r"^(?:---|[A-Za-z_][\w.-]*:(?:[ \t]|$))", re.MULTILINE)


def _from_dockerfile(value: str, where: str) -> Iterator[tuple[str, str]]:
    """The images of a Dockerfile's FROM lines: the operator builds on them, so it pulls them.
    Names of earlier stages (`FROM base AS build` ... `FROM build`) are not images."""
    stages: set[str] = set()
    for number, match in enumerate(_DOCKERFILE_FROM.finditer(value)):
        image = match.group(1)
        rest = value[match.end() : value.find("\n", match.end()) if "\n" in value[match.end() :] else len(value)]
        alias = re.match(r"[ \t]+AS[ \t]+(\S+)", rest, re.IGNORECASE)
        if image.lower() != "scratch" and image not in stages and _is_ref(image):
            yield image, f"{where} FROM[{number}]"
        if alias:
            stages.add(alias.group(1))


def _value_documents(value: str, path: str, where: str, warnings: list[str]) -> list[Any]:
    """The YAML documents of a ConfigMap value; template placeholders are read as strings. A value
    that looks like YAML but cannot be read is a warning (its images may be missing), plain text is not."""
    text = _PLACEHOLDER.sub(lambda m: "'" + m.group(0).replace("'", "''") + "'", value)
    try:
        return [d for d in yamlgo.load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        if yamlgo.too_deep(exc):
            raise too_deep(f"bundle file {path}") from None  # libyaml's nesting limit: hostile, not skipped
        if _LOOKS_YAML.search(value):
            warnings.append(f"{path}: {where} could not be read as YAML ({_first_line(exc)}); an image it names may be missing")
        return []


def _strings(node: Any, where: str, budget: list[int]) -> Iterator[tuple[str, str]]:
    """Every fully qualified image reference among the strings under *node* (like yq's `..`)."""
    budget[0] -= 1
    if budget[0] <= 0:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, where + _segment(str(key)), budget)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{where}[{i}]", budget)
    elif _is_ref(node):
        yield node.strip(), where


def _is_ref(value: Any) -> bool:
    return isinstance(value, str) and is_image_reference(value.strip())


def _items(value: Any) -> Iterator[tuple[int, Any]]:
    return enumerate(value) if isinstance(value, list) else iter(())


def _get(node: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _segment(key: str) -> str:
    """`.key` for plain keys, `["a.b"]` for keys a dotted path would misread."""
    return f".{key}" if key.replace("_", "").replace("-", "").isalnum() else f"[{_quote(key)}]"


def _quote(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _package(raw: bytes | None) -> str | None:
    if not raw:
        return None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError:
        return None
    except RecursionError:
        raise too_deep("the bundle's annotations.yaml") from None
    value = _get(data, "annotations", PACKAGE_ANNOTATION)
    return value if isinstance(value, str) else None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
