"""File-Based Catalog (FBC) objects, reduced to what mirroring needs.

A real operator index carries hundreds of megabytes of FBC, most of it `olm.bundle.object` and
`olm.csv.metadata` properties (whole CSVs and CRDs, base64). Selecting bundles and naming their
images needs only a few fields, so each object is reduced to a small frozen value the moment it is
decoded and the decoded dict is dropped: memory follows the number of bundles, not the catalog's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mirrorkit.errors import InputError

SCHEMA_PACKAGE = "olm.package"
SCHEMA_CHANNEL = "olm.channel"
SCHEMA_BUNDLE = "olm.bundle"
SCHEMA_DEPRECATIONS = "olm.deprecations"


@dataclass(frozen=True)
class Where:
    """A position in the catalog: FBC file (relative to the catalog image root) and line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass(frozen=True)
class PackageDef:
    name: str
    default_channel: str | None
    where: Where


@dataclass(frozen=True)
class ChannelEntry:
    name: str
    replaces: str | None = None
    skips: tuple[str, ...] = ()
    skip_range: str | None = None


@dataclass(frozen=True)
class ChannelDef:
    name: str
    package: str
    entries: tuple[ChannelEntry, ...]
    where: Where


@dataclass(frozen=True)
class RelatedImage:
    name: str
    image: str


@dataclass(frozen=True)
class BundleDef:
    """An `olm.bundle`: `version` comes from its `olm.package` property (None when it has none)."""

    name: str
    package: str
    image: str
    version: str | None
    related_images: tuple[RelatedImage, ...]
    where: Where


@dataclass(frozen=True)
class Deprecation:
    """One `olm.deprecations` entry: *schema* olm.package (name ""), olm.channel or olm.bundle."""

    schema: str
    name: str
    message: str


@dataclass(frozen=True)
class DeprecationsDef:
    """A package's `olm.deprecations`: selecting what it names is a warning, as OLM shows it."""

    package: str
    entries: tuple[Deprecation, ...]
    where: Where


FbcObject = PackageDef | ChannelDef | BundleDef | DeprecationsDef


def malformed(where: Where, why: str) -> InputError:
    return InputError(
        f"malformed FBC object in the catalog at {where}",
        why,
        "the catalog image is damaged or not a File-Based Catalog; check the catalog reference (opm validate finds the same)",
    )


def _str(obj: dict[str, Any], key: str, where: Where, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise malformed(where, f"{obj.get('schema')} object has no {key!r}")
        return None
    if not isinstance(value, str):
        raise malformed(where, f"{key!r} of {obj.get('schema')} object is {type(value).__name__}, not a string")
    return value


def reduce_object(obj: Any, where: Where) -> FbcObject | None:
    """The mirroring-relevant part of one decoded FBC object; None for other schemas."""
    if not isinstance(obj, dict):
        raise malformed(where, f"expected a JSON object, got {type(obj).__name__}")
    schema = obj.get("schema")
    if not isinstance(schema, str) or not schema:
        raise malformed(where, "object has no 'schema'")
    if schema == SCHEMA_PACKAGE:
        return PackageDef(_str(obj, "name", where) or "", _str(obj, "defaultChannel", where, required=False), where)
    if schema == SCHEMA_CHANNEL:
        entries = obj.get("entries")
        if not isinstance(entries, list):
            raise malformed(where, "olm.channel object has no 'entries' list")
        parsed = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
                raise malformed(where, f"olm.channel entry {index} has no 'name'")
            skips = entry.get("skips") or []
            if not isinstance(skips, list) or not all(isinstance(s, str) for s in skips):
                raise malformed(where, f"olm.channel entry {entry['name']!r} has 'skips' that is not a list of names")
            replaces = entry.get("replaces")
            skip_range = entry.get("skipRange")
            parsed.append(
                ChannelEntry(
                    entry["name"],
                    replaces if isinstance(replaces, str) and replaces else None,
                    tuple(skips),
                    skip_range if isinstance(skip_range, str) and skip_range else None,
                )
            )
        return ChannelDef(_str(obj, "name", where) or "", _str(obj, "package", where) or "", tuple(parsed), where)
    if schema == SCHEMA_BUNDLE:
        version = None
        properties = obj.get("properties")
        for prop in properties if isinstance(properties, list) else ():
            if isinstance(prop, dict) and prop.get("type") == SCHEMA_PACKAGE and isinstance(prop.get("value"), dict):
                found = prop["value"].get("version")
                version = found if isinstance(found, str) and found else None
                break
        related = []
        listed = obj.get("relatedImages") or []
        if not isinstance(listed, list):
            raise malformed(where, f"relatedImages of bundle {obj.get('name')!r} is not a list")
        properties = obj.get("properties") or []
        if not isinstance(properties, list):
            raise malformed(where, f"properties of bundle {obj.get('name')!r} is not a list")
        for index, item in enumerate(listed):
            if not isinstance(item, dict):
                raise malformed(where, f"relatedImages[{index}] of bundle {obj.get('name')!r} is not an object")
            image = item.get("image")
            if isinstance(image, str) and image.strip():  # oc-mirror skips empty entries
                name = item.get("name")
                related.append(RelatedImage(name if isinstance(name, str) else "", image.strip()))
        return BundleDef(
            _str(obj, "name", where) or "",
            _str(obj, "package", where) or "",
            _str(obj, "image", where, required=False) or "",
            version,
            tuple(related),
            where,
        )
    if schema == SCHEMA_DEPRECATIONS:
        return _deprecations(obj, where)
    return None


def _deprecations(obj: dict[str, Any], where: Where) -> DeprecationsDef:
    entries = []
    for item in obj.get("entries") or ():
        reference = item.get("reference") if isinstance(item, dict) else None
        if not isinstance(reference, dict) or not isinstance(reference.get("schema"), str):
            raise malformed(where, "olm.deprecations entry has no reference.schema")
        name = reference.get("name")
        message = item.get("message")
        entries.append(
            Deprecation(reference["schema"], name if isinstance(name, str) else "", message if isinstance(message, str) else "")
        )
    return DeprecationsDef(_str(obj, "package", where) or "", tuple(entries), where)


def package_of(obj: FbcObject) -> str:
    return obj.name if isinstance(obj, PackageDef) else obj.package
