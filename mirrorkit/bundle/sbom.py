"""The bundle's software bill of materials: ``sbom.cdx.json``, CycloneDX 1.6, built with cyclonedx-python-lib.

Disconnected sites often have to file an SBOM for whatever enters them (vulnerability scanning, audits,
change approval). The SBOM says, in a standard format a scanner reads, what the manifest says in
mirrorkit's own: every image (type ``container``, ``pkg:oci`` purl pinned by digest), every npm package
(type ``library``, ``pkg:npm`` purl, the hashes its integrity and tarball give), every Helm chart
archive, the operator bundles and catalog, and which images each chart and operator bundle brought.

**No circularity.** The manifest pins every payload file, the SBOM too (so the signature covers it),
and the SBOM describes the payload. So the SBOM is built from the manifest's *content*: the manifest
with the SBOM's own file entry left out (:func:`content_manifest`). Sealing hashes the payload, builds
the SBOM from that content manifest, writes it, and only then adds its entry (:func:`add_sbom`);
verification drops the entry again and gets back exactly what the SBOM was built from. Nothing in the
SBOM refers to the final manifest bytes or to itself.

**Deterministic.** The serial number is a UUIDv5 of the content manifest's canonical bytes and the
only timestamp is the manifest's ``created``: the same content sealed at the same time gives the same
SBOM bytes, and verify can tell an SBOM that belongs to another bundle.

Nothing secret reaches the SBOM: it is built from the manifest alone (image references, digests,
package names, file hashes) and the npm tarballs' bytes; never from auth files, tokens or the
ImageSetConfiguration text.
"""

from __future__ import annotations

import base64
import datetime as _dt
import errno
import hashlib
import json
import re
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output import make_outputter
from cyclonedx.schema import OutputFormat, SchemaVersion
from packageurl import PackageURL

from mirrorkit.bundle import layout
from mirrorkit.bundle.manifest import FileEntry, ImageEntry, Manifest, NpmPackage
from mirrorkit.errors import BundleError, CheckFailed, InputError, InvalidReference, no_space
from mirrorkit.fsutil import atomic_write_bytes
from mirrorkit.oci.reference import ImageReference
from mirrorkit.report.model import CheckItem, Status

#: The CycloneDX version written (and the only one verify accepts).
SPEC_VERSION = SchemaVersion.V1_6
FORMATS = ("json", "xml")
#: Namespace of the serial numbers: uuid5(this, sha256 of the content manifest).
_SERIAL_NAMESPACE = uuid.UUID("0b8d3f9e-6c1a-5e7b-9a24-5f1d2c3b4a60")
#: Property names are namespaced, as the CycloneDX property taxonomy asks.
_P = "mirrorkit:"
#: Refuse to parse an SBOM larger than this in verify (a hostile file must not exhaust memory).
_MAX_SBOM_BYTES = 64 * 1024 * 1024
_CHART_FILE = re.compile(r"^(?P<name>.+?)-(?P<version>v?\d+(?:\.\d+)*(?:[-+][0-9A-Za-z.+-]*)?)\.tgz$")
_SRI_ALGS = {"sha256": HashAlgorithm.SHA_256, "sha384": HashAlgorithm.SHA_384, "sha512": HashAlgorithm.SHA_512}

BUNDLE_REF = "bundle"


# -- what the SBOM must say, from the manifest -------------------------------------------------------


def content_manifest(manifest: Manifest) -> Manifest:
    """The manifest without the SBOM's own file entry: what the SBOM is built from (see module doc)."""
    return replace(manifest, files=tuple(f for f in manifest.files if f.path != layout.SBOM))


def serial_number(manifest: Manifest) -> uuid.UUID:
    """Deterministic serial: same content (and created time), same serial; another bundle, another one."""
    return uuid.uuid5(_SERIAL_NAMESPACE, content_manifest(manifest).sha256())


@dataclass(frozen=True)
class Expected:
    """One component the SBOM must hold: its bom-ref, a human name for messages, purl and hashes."""

    ref: str
    label: str
    purl: str
    hashes: tuple[tuple[str, str], ...]


def _image_refs(images: Iterable[ImageEntry]) -> dict[ImageEntry, str]:
    """A bom-ref per image, readable and unique: source@digest, then #kind and provenance when they
    say something, then ~destination if the same image is still listed twice (two destinations)."""
    refs: dict[ImageEntry, str] = {}
    for image in images:
        ref = f"image:{image.source}@{image.digest}"
        if image.kind != "additional":
            ref += f"#{image.kind}"
        provenance = ":".join(p for p in (image.package, image.version, image.bundle) if p)
        ref = f"{ref}:{provenance}" if provenance else ref
        refs[image] = f"{ref}~{image.destination}" if ref in refs.values() else ref
    return refs


def _image_purl(image: ImageEntry) -> PackageURL | None:
    """``pkg:oci/<last path segment>@sha256:...?repository_url=<registry/repository>&tag=<tag>``
    (the purl spec's oci type: the digest is the version, the repository goes in a qualifier)."""
    try:
        ref = ImageReference.parse(image.source)
    except InvalidReference:
        return None
    qualifiers = {"repository_url": ref.name}
    if ref.tag:
        qualifiers["tag"] = ref.tag
    return PackageURL(type="oci", name=ref.repository.rsplit("/", 1)[-1], version=image.digest, qualifiers=qualifiers)


def _npm_ref(pkg: NpmPackage) -> str:
    return f"npm:{pkg.name}@{pkg.version}"


def _npm_purl(pkg: NpmPackage) -> PackageURL:
    scope, _, bare = pkg.name.rpartition("/")
    return PackageURL(type="npm", namespace=scope or None, name=bare, version=pkg.version)


def _sri_hash(integrity: str) -> tuple[str, str] | None:
    algo, _, b64 = integrity.partition("-")
    alg = _SRI_ALGS.get(algo)
    if alg is None:
        return None
    try:
        return alg.value, base64.b64decode(b64, validate=True).hex()
    except ValueError:
        return None


def _chart_name(path: str) -> tuple[str, str]:
    """(name, version) of ``charts/<name>-<version>.tgz``, the way ``helm package`` names archives."""
    base = path.rsplit("/", 1)[-1]
    m = _CHART_FILE.match(base)
    return (m["name"], m["version"]) if m else (base.removesuffix(".tgz"), "")


def _chart_ref(name: str, version: str) -> str:
    return f"chart:{name}@{version}" if version else f"chart:{name}"


def _operator_ref(image: ImageEntry) -> str:
    return f"operator-bundle:{image.bundle or image.package + '@' + image.version}"


def _provenance(image: ImageEntry) -> dict[str, str]:
    """The properties naming where *image* came from: its chart, its operator, or for an OCI plugin
    the package folder(s) RHDH installs from it and the tag or digest it was named by."""
    if image.kind == "helm":
        return {"chart": image.package, "chart_version": image.version}
    if image.kind == "plugin":
        return {"plugin_packages": image.package, "plugin_version": image.version}
    return {"operator_package": image.package, "operator_version": image.version, "operator_bundle": image.bundle}


def _parent_ref(image: ImageEntry) -> str:
    """Who brought *image* in, as a bom-ref: its Helm chart, its operator bundle (also for an image
    discovered inside a bundle and carried as additional), or the bundle itself."""
    if image.kind == "helm":
        return _chart_ref(image.package, image.version) if image.package else BUNDLE_REF
    if image.bundle or (image.kind == "operator" and image.package):
        return _operator_ref(image)
    return BUNDLE_REF


def _charts(manifest: Manifest) -> dict[str, tuple[str, str, FileEntry | None]]:
    """{bom-ref: (name, version, archive entry)}: the archives under charts/ and every chart a Helm image
    names, so a chart whose archive is missing still groups its images."""
    charts: dict[str, tuple[str, str, FileEntry | None]] = {}
    for entry in manifest.files:
        if entry.path.startswith(layout.CHARTS_DIR + "/") and entry.path.endswith(".tgz"):
            name, version = _chart_name(entry.path)
            charts[_chart_ref(name, version)] = (name, version, entry)
    for image in manifest.release_images:  # a delta's SBOM describes the whole release
        if image.kind == "helm" and image.package:
            charts.setdefault(_chart_ref(image.package, image.version), (image.package, image.version, None))
    return charts


def _sha1_of_file(root: Path) -> Callable[[str], str | None]:
    def sha1(rel: str) -> str | None:
        h = hashlib.sha1(usedforsecurity=False)
        try:
            with open(root / rel, "rb") as handle:
                while block := handle.read(1024 * 1024):
                    h.update(block)
        except OSError:
            return None
        return h.hexdigest()

    return sha1


def expected_components(manifest: Manifest, sha1: Callable[[str], str | None] = lambda _p: None) -> dict[str, Expected]:
    """Every component the SBOM of *manifest* must hold, by bom-ref (what seal writes, what verify checks).
    *sha1* gives an npm tarball's SHA-1 (npm's ``shasum``) from its bundle path, or None."""
    content = content_manifest(manifest)
    out: dict[str, Expected] = {}
    for image, ref in _image_refs(content.release_images).items():
        purl = _image_purl(image)
        out[ref] = Expected(
            ref,
            f"image {image.source}@{image.digest}",
            purl.to_string() if purl else "",
            ((HashAlgorithm.SHA_256.value, image.digest.removeprefix("sha256:")),),
        )
    for pkg in content.npm:
        hashes: list[tuple[str, str]] = [h for h in (_sri_hash(pkg.integrity),) if h]
        file = content.file(pkg.file)
        if file is not None and HashAlgorithm.SHA_256.value not in {a for a, _ in hashes}:
            hashes.append((HashAlgorithm.SHA_256.value, file.sha256))
        shasum = sha1(pkg.file)
        if shasum:
            hashes.append((HashAlgorithm.SHA_1.value, shasum))
        out[_npm_ref(pkg)] = Expected(
            _npm_ref(pkg), f"npm package {pkg.name}@{pkg.version}", _npm_purl(pkg).to_string(), tuple(sorted(hashes))
        )
    for ref, (name, version, entry) in _charts(content).items():
        chart_hashes = ((HashAlgorithm.SHA_256.value, entry.sha256),) if entry else ()
        out[ref] = Expected(ref, f"Helm chart {name} {version}".rstrip(), "", chart_hashes)
    for image in content.release_images:
        ref = _parent_ref(image)
        if ref.startswith("operator-bundle:"):
            out.setdefault(ref, Expected(ref, f"operator bundle {image.bundle or image.package}", "", ()))
    return out


# -- building it with cyclonedx-python-lib ----------------------------------------------------------


def _props(**values: str) -> list[Property]:
    return [Property(name=_P + k.replace("_", "-"), value=v) for k, v in values.items() if v]


def _hashes(expected: Expected) -> list[HashType]:
    return [HashType(alg=HashAlgorithm(alg), content=content) for alg, content in expected.hashes]


def build_bom(manifest: Manifest, bundle_dir: Path | None = None) -> Bom:
    """The CycloneDX model of *manifest*'s content; *bundle_dir* (when given) supplies npm tarballs'
    SHA-1, the one hash the manifest does not record."""
    content = content_manifest(manifest)
    expected = expected_components(content, _sha1_of_file(Path(bundle_dir)) if bundle_dir else (lambda _p: None))
    created = _dt.datetime.strptime(content.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC)
    tools = [Component(type=ComponentType.APPLICATION, name="mirrorkit", version=content.mirrorkit_version)]
    if content.oc_mirror_version:
        tools.append(Component(type=ComponentType.APPLICATION, name="oc-mirror", version=content.oc_mirror_version))
    top = Component(
        type=ComponentType.APPLICATION,
        bom_ref=BUNDLE_REF,
        name=content.profile or "mirrorkit-bundle",
        version=content.created,
        description="mirrorkit transfer bundle",
        properties=_props(
            profile=content.profile,
            created=content.created,
            mirrorkit_version=content.mirrorkit_version,
            oc_mirror_version=content.oc_mirror_version,
            content_sha256=content.sha256(),
        ),
    )
    bom = Bom(
        serial_number=serial_number(content),
        metadata=BomMetaData(timestamp=created, tools=ToolRepository(components=tools), component=top),
    )
    components: dict[str, Component] = {}

    def add(ref: str, **kw: Any) -> Component:
        e = expected[ref]
        purl = PackageURL.from_string(e.purl) if e.purl else None
        components[ref] = Component(bom_ref=ref, purl=purl, hashes=_hashes(e), **kw)
        return components[ref]

    image_refs = _image_refs(content.release_images)
    for image, bom_ref in image_refs.items():
        parsed = ImageReference.parse(image.source) if _image_purl(image) else None
        add(
            bom_ref,
            type=ComponentType.CONTAINER,
            name=parsed.name if parsed else image.source,
            version=(parsed.tag if parsed and parsed.tag else image.digest),
            properties=_props(
                kind=image.kind,
                source=image.source,
                digest=image.digest,
                destination=image.destination,
                **_provenance(image),
            ),
        )
    for pkg in content.npm:
        scope, _, bare = pkg.name.rpartition("/")
        add(
            _npm_ref(pkg),
            type=ComponentType.LIBRARY,
            group=scope or None,
            name=bare,
            version=pkg.version,
            properties=_props(kind="npm", file=pkg.file, integrity=pkg.integrity),
        )
    for ref, (name, version, entry) in _charts(content).items():
        add(
            ref,
            type=ComponentType.APPLICATION,
            name=name,
            version=version or None,
            properties=_props(kind="chart", file=entry.path if entry else ""),
        )
    for image in content.release_images:
        if _parent_ref(image).startswith("operator-bundle:") and _parent_ref(image) not in components:
            add(
                _parent_ref(image),
                type=ComponentType.APPLICATION,
                name=image.package or image.bundle,
                version=image.version or None,
                properties=_props(kind="operator-bundle", operator_package=image.package, operator_bundle=image.bundle),
            )
    bom.components = list(components.values())

    # Dependencies: the bundle -> what it carries at top level; a chart or operator bundle -> its images.
    parents = {bom_ref: _parent_ref(image) for image, bom_ref in image_refs.items()}
    children: dict[str, list[Component]] = {BUNDLE_REF: []}
    for ref, component in components.items():
        children.setdefault(parents.get(ref, BUNDLE_REF), []).append(component)
    bom.register_dependency(top, children.pop(BUNDLE_REF))
    for parent, kids in sorted(children.items()):
        bom.register_dependency(components[parent], kids)
    for ref, component in components.items():
        if ref not in children:
            bom.register_dependency(component, [])
    return bom


def render(bom: Bom, fmt: str = "json") -> str:
    """The document as text: JSON (indented, one trailing newline) or XML, CycloneDX 1.6."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown SBOM format {fmt!r}")
    output = OutputFormat.JSON if fmt == "json" else OutputFormat.XML
    with warnings.catch_warnings():  # the library warns about optional fields we leave out on purpose
        warnings.simplefilter("ignore")
        text = make_outputter(bom, output, SPEC_VERSION).output_as_string(indent=2)
    return text if text.endswith("\n") else text + "\n"


def add_sbom(bundle_dir: Path, manifest: Manifest) -> Manifest:
    """Write ``sbom.cdx.json`` for *manifest*'s content and return the manifest that also lists it
    (seal's hook: called after the payload is hashed, before the manifest is written and signed)."""
    root = Path(bundle_dir)
    content = content_manifest(manifest)
    data = render(build_bom(content, root)).encode("utf-8")
    try:
        atomic_write_bytes(root / layout.SBOM, data)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise no_space(root, len(data), f"writing the SBOM {layout.SBOM}") from None
    entry = FileEntry(layout.SBOM, len(data), hashlib.sha256(data).hexdigest())
    return replace(content, files=(*content.files, entry))


# -- reading it back ---------------------------------------------------------------------------------


def read_sbom(bundle_dir: Path, manifest: Manifest, fmt: str = "json") -> str:
    """The bundle's SBOM as text, refused unless its bytes are the ones the manifest pins: a scanner
    must never be fed an SBOM that was changed after sealing. XML is converted from the sealed JSON."""
    root = Path(bundle_dir)
    entry = manifest.file(layout.SBOM)
    if entry is None:
        raise BundleError(
            f"bundle {root} carries no {layout.SBOM}",
            f"it was packed by mirrorkit {manifest.mirrorkit_version or '(unknown)'}, before bundles had an SBOM",
            "re-pack it with this mirrorkit to get one",
        )
    path = root / layout.SBOM
    if path.is_symlink() or not path.is_file():
        raise BundleError(f"{path} is missing or not a regular file", hint="get a fresh copy of the bundle")
    data = path.read_bytes()
    if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise BundleError(
            f"{path} does not match the manifest",
            "it was changed after the bundle was sealed",
            f"run 'mirrorkit verify {root}' and get a fresh copy of the bundle",
        )
    if fmt == "json":
        return data.decode("utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bom = Bom.from_json(json.loads(data))  # type: ignore[attr-defined]
    return render(bom, fmt)


def bundle_sbom(bundle_dir: Path, fmt: str = "json", verify_key: Path | None = None) -> str:
    """``mirrorkit sbom``: the sealed SBOM of the bundle at *bundle_dir*, its manifest authenticated
    first when *verify_key* is given (then the SBOM is exactly what the packer signed)."""
    from mirrorkit.bundle.signing import load_public_key, verify_signature

    root = Path(bundle_dir)
    manifest_path = root / layout.MANIFEST
    if manifest_path.is_symlink() or not manifest_path.is_file():
        raise InputError(
            f"{root} is not a mirrorkit bundle (no {layout.MANIFEST})", hint="give the directory written by 'mirrorkit pack'"
        )
    data = manifest_path.read_bytes()
    if verify_key is not None:
        sig = root / layout.SIGNATURE
        if sig.is_symlink() or not sig.is_file() or not verify_signature(data, sig.read_bytes(), load_public_key(verify_key)):
            raise CheckFailed(
                f"the manifest of {root} is not signed by {verify_key}",
                "its signature is missing or does not match",
                f"run 'mirrorkit verify {root} --verify-key {verify_key}' for details",
            )
    return read_sbom(root, Manifest.from_bytes(data), fmt)


def _fail(subject: str, expected: str, actual: str, detail: str) -> CheckItem:
    return CheckItem("sbom", subject, expected, actual, Status.FAILED, detail)


def _parse(data: bytes) -> tuple[dict[str, Any] | None, str]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(doc, dict):
        return None, "top level is not an object"
    if doc.get("bomFormat") != "CycloneDX" or doc.get("specVersion") != SPEC_VERSION.to_version():
        return None, f"bomFormat {doc.get('bomFormat')!r}, specVersion {doc.get('specVersion')!r}"
    if not isinstance(doc.get("components", []), list):
        return None, "'components' is not a list"
    return doc, ""


def _found(component: Any) -> tuple[str, str, tuple[tuple[str, str], ...]] | None:
    if not isinstance(component, dict) or not isinstance(component.get("bom-ref"), str):
        return None
    hashes = component.get("hashes", [])
    pairs = (
        tuple(sorted((str(h.get("alg")), str(h.get("content"))) for h in hashes if isinstance(h, dict)))
        if isinstance(hashes, list)
        else ()
    )
    return component["bom-ref"], str(component.get("purl", "")), pairs


def _show(hashes: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{alg} {content}" for alg, content in hashes) or "no hashes"


def check_sbom(bundle_dir: Path, manifest: Manifest) -> list[CheckItem]:
    """Check that ``sbom.cdx.json`` agrees with the manifest: the same bundle (serial number), every
    component present, none extra, the same purls and hashes. One failed item per disagreeing component,
    one passed item when all agree; a bundle sealed before SBOMs existed gets a warning."""
    root = Path(bundle_dir)
    entry = manifest.file(layout.SBOM)
    if entry is None:
        return [
            CheckItem(
                "sbom",
                layout.SBOM,
                "a CycloneDX SBOM listed in the manifest",
                "none",
                Status.WARNING,
                "the bundle was packed before mirrorkit wrote SBOMs; re-pack it to get one",
            )
        ]
    path = root / layout.SBOM
    if path.is_symlink() or not path.is_file():
        return []  # the file check already reports it missing
    if path.stat().st_size > _MAX_SBOM_BYTES:
        return [
            _fail(
                layout.SBOM,
                "a CycloneDX SBOM of this bundle",
                f"{path.stat().st_size} bytes",
                "far larger than any SBOM mirrorkit writes; the file was replaced",
            )
        ]
    doc, why = _parse(path.read_bytes())
    if doc is None:
        return [_fail(layout.SBOM, f"CycloneDX {SPEC_VERSION.to_version()} JSON", "refused", why)]
    items: list[CheckItem] = []
    want_serial = serial_number(manifest).urn
    if doc.get("serialNumber") != want_serial:
        items.append(
            _fail(
                f"{layout.SBOM} serialNumber",
                want_serial,
                str(doc.get("serialNumber")),
                "the SBOM describes another bundle or another packing run",
            )
        )
    expected = expected_components(manifest, _sha1_of_file(root))
    found: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    for component in doc.get("components", []):
        parsed = _found(component)
        if parsed is None:
            items.append(
                _fail(f"{layout.SBOM} component", "an object with a bom-ref", repr(component)[:200], "malformed component")
            )
            continue
        found[parsed[0]] = (parsed[1], parsed[2])
    for ref, want in expected.items():
        got = found.get(ref)
        if got is None:
            items.append(_fail(want.label, "listed in the SBOM", "missing", f"the SBOM has no component {ref}"))
            continue
        purl, hashes = got
        if purl != want.purl:
            items.append(
                _fail(
                    want.label,
                    f"purl {want.purl or '(none)'}",
                    f"purl {purl or '(none)'}",
                    "the SBOM's package URL disagrees with the manifest",
                )
            )
        if hashes != want.hashes:
            items.append(_fail(want.label, _show(want.hashes), _show(hashes), "the SBOM's hashes disagree with the manifest"))
    for ref in sorted(set(found) - set(expected)):
        items.append(
            _fail(ref, "not in the SBOM (not in the manifest)", "present", "the SBOM lists a component the bundle does not carry")
        )
    if not items:
        items.append(
            CheckItem(
                "sbom",
                layout.SBOM,
                f"CycloneDX {SPEC_VERSION.to_version()} SBOM agreeing with the manifest",
                f"{len(expected)} components, same purls and hashes",
                Status.PASSED,
            )
        )
    return items


__all__ = [
    "FORMATS",
    "SPEC_VERSION",
    "add_sbom",
    "build_bom",
    "bundle_sbom",
    "check_sbom",
    "content_manifest",
    "expected_components",
    "read_sbom",
    "render",
    "serial_number",
]
