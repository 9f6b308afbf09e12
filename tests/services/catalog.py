"""Build a real-shaped File-Based Catalog (FBC) operator index image and push it to a local registry.

Tests of operator mirroring need what Red Hat's operator index looks like, in miniature: an image
whose config label `operators.operatorframework.io.index.configs.v1` names `/configs`, one directory
per package holding a JSON stream (objects one after another, not an array) or YAML documents of
`olm.package`, `olm.channel` and `olm.bundle`; channels linked by `replaces`/`skips`/`skipRange`
(and written in an order that is NOT the upgrade order, so a reader must walk the graph); bundles
whose `relatedImages` name the bundle image itself and the operator's images BY DIGEST; real
bundle images (ClusterServiceVersion, annotations, a controllers ConfigMap naming images that are
not in relatedImages, as the Serverless Logic operator does). Every image is tiny and pushed over
the distribution API, so a whole catalog is built in well under a second.

The catalog image has three layers: a base (a stand-in `opm` binary), the configs, and a last layer
that whites out a stale package directory (`/configs/stale-operator`): a reader that ignores
whiteouts sees a package that is not in the catalog.

Every catalog built here passes the real `opm validate` (tests/test_catalogs_opm.py): catalog_fbc
gives the same FBC files without a registry (images are content-addressed, so the digests are known).

Example::

    built = build_catalog(registry.host, "redhat/redhat-operator-index", "v4.19", rhdh_like_packages())
    built.ref                                   # 127.0.0.1:PORT/redhat/redhat-operator-index:v4.19
    built.by_digest                             # ...@sha256:...
    b = built.bundle("logic-operator-rhel8", "1.36.0")
    b.image, b.related, b.config_images         # bundle image, operator images, ConfigMap images
    built.images_of("rhdh", "1.8.1")            # {bundle image, every related image}
    read_catalog(built.ref)                     # {package: [FBC objects]} read back with skopeo
    catalog_fbc(registry.host, packages)        # {"rhdh/catalog.json": bytes, ...}, no registry needed
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import subprocess
import tarfile
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.services.images import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, make_layer, sha256_digest

CONFIGS_LABEL = "operators.operatorframework.io.index.configs.v1"
BUNDLE_LABELS = {
    "operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
    "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
    "operators.operatorframework.io.bundle.metadata.v1": "metadata/",
}
STALE_PACKAGE = "stale-operator"
#: A digest no image has: a related image that points at it cannot be copied.
ABSENT_DIGEST = "sha256:" + "0" * 63 + "1"


# -- what to build -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One channel entry: a bundle version and its upgrade edges (versions of the same package)."""

    version: str
    replaces: str | None = None
    skips: tuple[str, ...] = ()
    skip_range: str | None = None


@dataclass(frozen=True)
class Channel:
    """A channel; *entries* are written in this order, which need not be the upgrade order."""

    name: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Bundle:
    """One bundle version. *related* are repository paths (on the catalog's registry) of the images
    the operator runs: each is pushed with tag = version and listed in relatedImages by digest.
    *absent* are repository paths listed in relatedImages with a digest that was never pushed (a
    related image that fails to copy). *config_images* are repositories named only in the bundle's
    controllers ConfigMap (by tag, pushed too): oc-mirror does not mirror them.
    *bundle_in_related*: opm lists the bundle image itself in relatedImages (name ""); False leaves
    it only in the bundle's `image` field."""

    version: str
    related: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    config_images: tuple[str, ...] = ()
    bundle_in_related: bool = True


@dataclass(frozen=True)
class Package:
    """A package: its bundle image repository, default channel, channels and bundles.
    *yaml*: write `catalog.yaml` (YAML documents) instead of `catalog.json` (JSON stream)."""

    name: str
    bundle_repo: str
    default_channel: str
    channels: tuple[Channel, ...]
    bundles: tuple[Bundle, ...]
    yaml: bool = False

    def bundle_name(self, version: str) -> str:
        return f"{self.name}.v{version}"


# -- what was built ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltBundle:
    """A pushed bundle: *image* by digest, *related* the relatedImages other than the bundle image
    (by digest, including absent ones), *config_images* the ConfigMap-only images (by tag)."""

    package: str
    name: str
    version: str
    image: str
    related: tuple[str, ...]
    config_images: tuple[str, ...] = ()

    @property
    def images(self) -> frozenset[str]:
        """What oc-mirror mirrors for this bundle: the bundle image and its related images."""
        return frozenset((self.image, *self.related))


@dataclass(frozen=True)
class BuiltCatalog:
    """A pushed catalog image and everything it references."""

    host: str
    repo: str
    tag: str
    digest: str
    bundles: tuple[BuiltBundle, ...]
    packages: tuple[Package, ...] = field(repr=False, default=())

    @property
    def ref(self) -> str:
        return f"{self.host}/{self.repo}:{self.tag}"

    @property
    def by_digest(self) -> str:
        return f"{self.host}/{self.repo}@{self.digest}"

    def bundle(self, package: str, version: str) -> BuiltBundle:
        for bundle in self.bundles:
            if bundle.package == package and bundle.version == version:
                return bundle
        raise KeyError(f"no bundle {package} {version} in the catalog")

    def images_of(self, package: str, *versions: str) -> set[str]:
        """Bundle + related images of these versions (every version of *package* when none given)."""
        chosen = [b for b in self.bundles if b.package == package and (not versions or b.version in versions)]
        return {image for b in chosen for image in b.images}

    def all_images(self) -> set[str]:
        return {image for b in self.bundles for image in b.images}


# -- the content ----------------------------------------------------------------------------------------


def rhdh_like_packages() -> tuple[Package, ...]:
    """The shape of the RHDH + Orchestrator slice of redhat-operator-index, plus decoys.

    Channel entries are deliberately not in upgrade order (the head is first or in the middle)."""
    sl = "openshift-serverless-1"
    logic_config = (
        f"{sl}/logic-swf-builder-rhel8",
        f"{sl}/logic-data-index-postgresql-rhel8",
        f"{sl}/logic-jobs-service-postgresql-rhel8",
    )
    logic = Package(
        name="logic-operator-rhel8",
        bundle_repo=f"{sl}/logic-operator-bundle",
        default_channel="alpha",
        channels=(Channel("alpha", (Entry("1.36.0", replaces="1.35.0"), Entry("1.35.0"))),),
        bundles=tuple(
            Bundle(v, related=(f"{sl}/logic-rhel8-operator",), config_images=logic_config) for v in ("1.35.0", "1.36.0")
        ),
    )
    serverless = Package(
        name="serverless-operator",
        bundle_repo=f"{sl}/serverless-operator-bundle",
        default_channel="stable",
        channels=(
            Channel("stable", (Entry("1.36.0", replaces="1.35.0"), Entry("1.36.1", replaces="1.36.0"), Entry("1.35.0"))),
            Channel("stable-1.35", (Entry("1.35.0"),)),
        ),
        bundles=tuple(
            Bundle(v, related=(f"{sl}/serverless-rhel8-operator", f"{sl}/serverless-ingress-rhel8"))
            for v in ("1.35.0", "1.36.0", "1.36.1")
        ),
        yaml=True,
    )
    rhdh = Package(
        name="rhdh",
        bundle_repo="rhdh/rhdh-operator-bundle",
        default_channel="fast",
        channels=(
            Channel(
                "fast",
                (
                    Entry("1.7.0"),
                    Entry("1.8.1", replaces="1.8.0"),
                    Entry("1.7.1", replaces="1.7.0"),
                    Entry("1.8.0", replaces="1.7.1", skip_range=">=1.7.0 <1.8.0"),
                ),
            ),
            Channel("fast-1.7", (Entry("1.7.1", skips=("1.7.0",)), Entry("1.7.0"))),
            Channel("fast-1.8", (Entry("1.8.1", replaces="1.8.0"), Entry("1.8.0"))),
        ),
        bundles=tuple(
            Bundle(v, related=("rhdh/rhdh-rhel9-operator", "rhdh/rhdh-hub-rhel9")) for v in ("1.7.0", "1.7.1", "1.8.0", "1.8.1")
        ),
    )
    decoy = Package(
        name="decoy-operator",
        bundle_repo="decoy/decoy-operator-bundle",
        default_channel="stable",
        channels=(Channel("stable", (Entry("2.0.0", replaces="1.0.0"), Entry("1.0.0"))),),
        bundles=tuple(Bundle(v, related=("decoy/decoy-rhel9-operator",)) for v in ("1.0.0", "2.0.0")),
    )
    other = Package(
        name="another-decoy",
        bundle_repo="decoy/another-decoy-bundle",
        default_channel="beta",
        channels=(Channel("beta", (Entry("0.1.0"),)),),
        bundles=(Bundle("0.1.0", related=("decoy/another-decoy-operator",)),),
        yaml=True,
    )
    return (logic, serverless, rhdh, decoy, other)


def unreachable_related_packages() -> tuple[Package, ...]:
    """A catalog with one bundle naming a related image that was never pushed (broken-operator)
    and one whose bundle image is not in its relatedImages (fine-operator): valid FBC, broken content."""
    broken = Package(
        name="broken-operator",
        bundle_repo="broken/broken-bundle",
        default_channel="stable",
        channels=(Channel("stable", (Entry("1.0.0"),)),),
        bundles=(Bundle("1.0.0", related=("broken/broken-operator",), absent=("broken/missing-sidecar",)),),
    )
    fine = Package(
        name="fine-operator",
        bundle_repo="fine/fine-bundle",
        default_channel="stable",
        channels=(Channel("stable", (Entry("2.0.0"),)),),
        bundles=(Bundle("2.0.0", related=("fine/fine-operator",), bundle_in_related=False),),
    )
    return (broken, fine)


# -- small hand-written packages (the catalog reader's tests) ---------------------------------------------

#: Not JSON: the reader must refuse the file, and only when the package is selected.
MALFORMED_JSON = b'{"schema": "olm.package", "name": "broken",,,'
#: Not YAML, for the same reason.
MALFORMED_YAML = b"schema: [unclosed\n"


def _padding_object(size: int) -> str:
    """An `olm.bundle.object` value about *size* characters long: the base64 of a real ConfigMap,
    because opm decodes every bundle object to JSON and refuses bytes that are not YAML/JSON."""
    if size <= 0:
        return ""
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "padding"}, "data": {"padding": ""}}
    room = max(0, size * 3 // 4 - len(json.dumps(doc)))
    doc["data"] = {"padding": "x" * room}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def small_package_json(name: str, versions: tuple[str, ...] = ("1.0.0",), *, pad: int = 0) -> bytes:
    """A one-channel package as a JSON stream, bundles in a replaces chain, images by tag on
    example.com; *pad* makes each bundle about that many bytes larger (objects across read chunks)."""
    objs: list[dict] = [
        {"schema": "olm.package", "name": name, "defaultChannel": "stable"},
        {
            "schema": "olm.channel",
            "name": "stable",
            "package": name,
            "entries": [
                {"name": f"{name}.v{v}", **({"replaces": f"{name}.v{versions[i - 1]}"} if i else {})}
                for i, v in enumerate(versions)
            ],
        },
    ]
    for v in versions:
        objs.append(
            {
                "schema": "olm.bundle",
                "name": f"{name}.v{v}",
                "package": name,
                "image": f"example.com/{name}/bundle:v{v}",
                "properties": [
                    {"type": "olm.package", "value": {"packageName": name, "version": v}},
                    {"type": "olm.bundle.object", "value": {"data": _padding_object(pad)}},
                ],
                "relatedImages": [
                    {"name": "", "image": f"example.com/{name}/bundle:v{v}"},
                    {"name": "op", "image": f"example.com/{name}/op:{v}"},
                ],
            }
        )
    return "".join(json.dumps(o, indent=2) + "\n" for o in objs).encode()


def bad_objects_json() -> bytes:
    """Package `p` followed by two objects no reader may accept: relatedImages not a list, a name
    that is not a string (the reader must say which line)."""
    text = small_package_json("p", ("1.0.0", "1.1.0"))
    text += b'{"schema": "olm.bundle", "name": "p.v9", "package": "p", "relatedImages": 5}\n'
    return text + b'{"schema": "olm.bundle", "name": 7}\n'


# -- building -----------------------------------------------------------------------------------------


class _Pusher:
    """Pushes single-platform OCI images over keep-alive HTTP sessions (one per thread): a catalog
    is ~40 images, and a connection per request (as tests.services.images does) is much slower."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.local = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def blob(self, repo: str, data: bytes) -> str:
        """Two requests (start, then PUT the bytes); no HEAD first: re-pushing a blob is harmless."""
        digest = sha256_digest(data)
        start = self.session.post(f"http://{self.host}/v2/{repo}/blobs/uploads/", timeout=30)
        start.raise_for_status()
        location = start.headers["Location"]
        location = f"http://{self.host}{location}" if location.startswith("/") else location
        sep = "&" if "?" in location else "?"
        done = self.session.put(
            f"{location}{sep}digest={digest}", data=data, timeout=60, headers={"Content-Type": "application/octet-stream"}
        )
        done.raise_for_status()
        return digest

    def image(self, repo: str, tag: str, layers: list[bytes] | None = None, labels: dict[str, str] | None = None) -> str:
        """Push `repo:tag`; returns the reference by digest. Without *layers*, one tiny distinct layer."""
        if layers is None:
            layers = [make_layer({f"etc/{repo.replace('/', '-')}": f"{repo}:{tag}\n".encode()})]
        diff_ids = [sha256_digest(gzip.decompress(layer)) for layer in layers]
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": labels or {}},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
            },
            sort_keys=True,
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": self.blob(repo, config), "size": len(config)},
                "layers": [
                    {"mediaType": OCI_LAYER_GZIP, "digest": self.blob(repo, layer), "size": len(layer)} for layer in layers
                ],
            },
            indent=2,
            sort_keys=True,
        ).encode()
        self.manifest(repo, tag, manifest)
        return f"{self.host}/{repo}@{sha256_digest(manifest)}"

    def manifest(self, repo: str, tag: str, data: bytes) -> None:
        resp = self.session.put(
            f"http://{self.host}/v2/{repo}/manifests/{tag}", data=data, timeout=30, headers={"Content-Type": OCI_MANIFEST}
        )
        resp.raise_for_status()


class _Addresser(_Pusher):
    """Works out the references a _Pusher would push, without a registry: every image is
    content-addressed and every layer reproducible, so the FBC written offline names the same
    digests as the catalog image pushed later (what lets `opm validate` check it with no registry)."""

    def blob(self, repo: str, data: bytes) -> str:
        return sha256_digest(data)

    def manifest(self, repo: str, tag: str, data: bytes) -> None:
        return None


def _csv(package: Package, bundle: Bundle, replaces: str | None, operator: str, related: list[dict]) -> dict:
    return {
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "ClusterServiceVersion",
        "metadata": {"name": package.bundle_name(bundle.version), "annotations": {"containerImage": operator}},
        "spec": {
            "version": bundle.version,
            **({"replaces": package.bundle_name(replaces)} if replaces else {}),
            "relatedImages": related,
            "install": {
                "strategy": "deployment",
                "spec": {
                    "deployments": [
                        {
                            "name": f"{package.name}-controller-manager",
                            "spec": {"template": {"spec": {"containers": [{"name": "manager", "image": operator}]}}},
                        }
                    ]
                },
            },
        },
    }


def _controllers_configmap(package: Package, images: list[str]) -> dict:
    """The Serverless Logic operator's way: images in a ConfigMap, not in relatedImages."""
    keys = (
        "sonataFlowBaseBuilderImageTag",
        "dataIndexPostgreSQLImageTag",
        "jobsServicePostgreSQLImageTag",
        "sonataFlowDevModeImageTag",
        "dbMigratorToolImageTag",
    )
    cfg: dict[str, object] = {"healthFailureThresholdDevMode": 50, "builderConfigMapName": f"{package.name}-builder-config"}
    for index, image in enumerate(images):
        cfg[keys[index] if index < len(keys) else f"extraImage{index}"] = image
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{package.name}-controllers-config"},
        "data": {"controllers_cfg.yaml": yaml.safe_dump(cfg, sort_keys=True)},
    }


def _replaces_of(package: Package, version: str) -> str | None:
    for channel in package.channels:
        for entry in channel.entries:
            if entry.version == version and entry.replaces:
                return entry.replaces
    return None


def _push_bundle(push: _Pusher, package: Package, bundle: Bundle) -> tuple[BuiltBundle, dict]:
    """Push the bundle's images; returns it and its `olm.bundle` object."""
    host = push.host
    related: list[dict] = []
    for repo in bundle.related:
        related.append({"name": repo.rpartition("/")[2], "image": push.image(repo, bundle.version)})
    for repo in bundle.absent:
        related.append({"name": repo.rpartition("/")[2], "image": f"{host}/{repo}@{ABSENT_DIGEST}"})
    config_images = []
    for repo in bundle.config_images:
        push.image(repo, bundle.version)
        config_images.append(f"{host}/{repo}:{bundle.version}")
    operator = related[0]["image"] if related else ""
    files: dict[str, bytes | None] = {
        f"manifests/{package.name}.clusterserviceversion.yaml": yaml.safe_dump(
            _csv(package, bundle, _replaces_of(package, bundle.version), operator, related)
        ).encode(),
        "metadata/annotations.yaml": yaml.safe_dump(
            {
                "annotations": {
                    "operators.operatorframework.io.bundle.package.v1": package.name,
                    "operators.operatorframework.io.bundle.channels.v1": ",".join(c.name for c in package.channels),
                    "operators.operatorframework.io.bundle.channel.default.v1": package.default_channel,
                    **BUNDLE_LABELS,
                }
            }
        ).encode(),
    }
    if config_images:
        files["manifests/controllers_cfg_v1_configmap.yaml"] = yaml.safe_dump(
            _controllers_configmap(package, config_images)
        ).encode()
    labels = {
        **BUNDLE_LABELS,
        "operators.operatorframework.io.bundle.package.v1": package.name,
        "operators.operatorframework.io.bundle.channels.v1": ",".join(c.name for c in package.channels),
    }
    image = push.image(package.bundle_repo, f"v{bundle.version}", [make_layer(files)], labels)
    listed = ([{"name": "", "image": image}] if bundle.bundle_in_related else []) + related
    obj: dict[str, Any] = {
        "schema": "olm.bundle",
        "name": package.bundle_name(bundle.version),
        "package": package.name,
        "image": image,
        "properties": [
            {"type": "olm.package", "value": {"packageName": package.name, "version": bundle.version}},
            {"type": "olm.gvk", "value": {"group": f"{package.name}.example.com", "kind": "Thing", "version": "v1"}},
        ],
        "relatedImages": listed,
    }
    built = BuiltBundle(
        package.name, obj["name"], bundle.version, image, tuple(r["image"] for r in related), tuple(config_images)
    )
    return built, obj


def package_objects(package: Package, bundle_objects: list[dict]) -> list[dict]:
    """The FBC objects of *package* in file order: olm.package, its channels, its bundles."""
    objects: list[dict] = [
        {
            "schema": "olm.package",
            "name": package.name,
            "defaultChannel": package.default_channel,
            "description": f"{package.name} (mirrorkit test catalog)",
        }
    ]
    for channel in package.channels:
        entries = []
        for entry in channel.entries:
            item: dict[str, object] = {"name": package.bundle_name(entry.version)}
            if entry.replaces:
                item["replaces"] = package.bundle_name(entry.replaces)
            if entry.skips:
                item["skips"] = [package.bundle_name(v) for v in entry.skips]
            if entry.skip_range:
                item["skipRange"] = entry.skip_range
            entries.append(item)
        objects.append({"schema": "olm.channel", "name": channel.name, "package": package.name, "entries": entries})
    return objects + bundle_objects


def render(package: Package, objects: list[dict]) -> tuple[str, bytes]:
    """(file name, bytes): a JSON stream (indented objects one after another) or YAML documents."""
    if package.yaml:
        return "catalog.yaml", yaml.safe_dump_all(objects, sort_keys=False).encode()
    return "catalog.json", "".join(json.dumps(o, indent=4) + "\n" for o in objects).encode()


def _stale_package() -> Package:
    """The package the catalog's last layer deletes. It is a whole, valid package (one bundle whose
    image is addressed but never pushed): the configs layer is one opm accepted before the
    deletion, and only a reader that ignores whiteouts ever sees it."""
    return Package(STALE_PACKAGE, "stale/stale-bundle", "stable", (Channel("stable", (Entry("9.9.9"),)),), (Bundle("9.9.9"),))


def _configs(push: _Pusher, packages: tuple[Package, ...] | list[Package]) -> tuple[list[BuiltBundle], dict[str, bytes]]:
    """Push (or only address) every bundle of *packages*; returns them and the FBC files of the
    configs layer (`configs/<package>/catalog.json|yaml`), the stale package included."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        pushed = {(p.name, b.version): pool.submit(_push_bundle, push, p, b) for p in packages for b in p.bundles}
    built: list[BuiltBundle] = []
    configs: dict[str, bytes] = {}
    for package in packages:
        objects = []
        for bundle in package.bundles:
            item, obj = pushed[(package.name, bundle.version)].result()
            built.append(item)
            objects.append(obj)
        name, data = render(package, package_objects(package, objects))
        configs[f"configs/{package.name}/{name}"] = data
    stale = _stale_package()
    stale_objects = [_push_bundle(_Addresser(push.host), stale, b)[1] for b in stale.bundles]
    configs[f"configs/{STALE_PACKAGE}/catalog.json"] = render(stale, package_objects(stale, stale_objects))[1]
    return built, configs


def catalog_fbc(host: str, packages: tuple[Package, ...] | list[Package], *, whiteout: bool = True) -> dict[str, bytes]:
    """The FBC files build_catalog would put in the catalog image for a registry at *host*, worked
    out without one (paths relative to `/configs`). *whiteout*: as the image presents them (the
    stale package deleted); False gives the configs layer as written, stale package included."""
    configs = _configs(_Addresser(host), packages)[1]
    files = {path.removeprefix("configs/"): data for path, data in configs.items()}
    return {p: d for p, d in files.items() if not (whiteout and p.startswith(f"{STALE_PACKAGE}/"))}


def build_catalog(host: str, repo: str, tag: str, packages: tuple[Package, ...] | list[Package]) -> BuiltCatalog:
    """Push every bundle and image of *packages*, then the catalog image `host/repo:tag`."""
    push = _Pusher(host)
    built, configs = _configs(push, packages)
    layers = [
        make_layer({"bin/opm": b"#!/bin/sh\necho 'opm stand-in'\n", "etc/os-release": b"ID=mirrorkit-test\n"}),
        make_layer(dict(configs)),
        make_layer({f"configs/{STALE_PACKAGE}": None}),
    ]
    image = push.image(repo, tag, layers, {CONFIGS_LABEL: "/configs"})
    return BuiltCatalog(host, repo, tag, image.rpartition("@")[2], tuple(built), tuple(packages))


# -- reading back (independent of the code under test) ------------------------------------------------------


def parse_fbc(name: str, data: bytes) -> list[dict]:
    """Objects of one FBC file: YAML documents (.yaml/.yml) or a JSON stream (.json)."""
    text = data.decode()
    if name.endswith((".yaml", ".yml")):
        return [d for d in yaml.safe_load_all(text) if d]
    decoder, pos = json.JSONDecoder(), 0
    objects: list[dict] = []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return objects
        obj, pos = decoder.raw_decode(text, pos)
        objects.append(obj)


def read_catalog(ref: str, tls_verify: bool = False) -> dict[str, list[dict]]:
    """{package: FBC objects} of the catalog image at *ref* (docker reference without scheme), pulled
    with skopeo, layers applied in order with whiteouts, from the directory its label names."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["skopeo", "copy", f"--src-tls-verify={str(tls_verify).lower()}", f"docker://{ref}", f"dir:{tmp}"],
            check=True,
            capture_output=True,
            env={**os.environ},
        )
        manifest = json.loads(Path(tmp, "manifest.json").read_text())
        config = json.loads(Path(tmp, manifest["config"]["digest"].split(":", 1)[1]).read_text())
        root = (config.get("config", {}).get("Labels") or {})[CONFIGS_LABEL].strip("/")
        files: dict[str, bytes] = {}
        for layer in manifest["layers"]:
            raw = Path(tmp, layer["digest"].split(":", 1)[1]).read_bytes()
            raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                for member in tar.getmembers():
                    path = member.name[2:] if member.name.startswith("./") else member.name.lstrip("/")
                    head, _, base = path.rpartition("/")
                    if base == ".wh..wh..opq":
                        files = {p: d for p, d in files.items() if not p.startswith(head + "/")}
                    elif base.startswith(".wh."):
                        gone = f"{head}/{base[4:]}" if head else base[4:]
                        files = {p: d for p, d in files.items() if p != gone and not p.startswith(gone + "/")}
                    elif member.isfile():
                        handle = tar.extractfile(member)
                        files[path] = handle.read() if handle else b""
    catalog: dict[str, list[dict]] = {}
    for path, data in sorted(files.items()):
        if path.startswith(root + "/") and path.endswith((".json", ".yaml", ".yml")):
            for obj in parse_fbc(path, data):
                package = obj.get("name") if obj.get("schema") == "olm.package" else obj.get("package")
                catalog.setdefault(str(package), []).append(obj)
    return catalog


def bundle_versions(catalog: dict[str, list[dict]], package: str) -> set[str]:
    """Versions of the olm.bundle objects of *package* in a catalog read by read_catalog."""
    versions = set()
    for obj in catalog.get(package, []):
        if obj.get("schema") == "olm.bundle":
            for prop in obj.get("properties", []):
                if prop.get("type") == "olm.package":
                    versions.add(prop["value"]["version"])
    return versions


def channel_entries(catalog: dict[str, list[dict]], package: str) -> dict[str, set[str]]:
    """{channel: entry bundle names} of *package*."""
    return {
        o["name"]: {e["name"] for e in o.get("entries", [])} for o in catalog.get(package, []) if o.get("schema") == "olm.channel"
    }


# -- bundle files shaped like the published ones (discovery tests) ---------------------------------


def dockerfile_configmap(images: tuple[str, ...]) -> bytes:
    """A ConfigMap whose value is a Dockerfile (the Serverless Logic operator's builder config): the
    images of its FROM lines are pulled by the operator; a stage name is not an image."""
    stages = (
        [f"FROM {images[0]} AS builder", "RUN make"] + [f"FROM --platform=linux/amd64 {i}" for i in images[1:]] + ["FROM builder"]
    )
    data = {"Dockerfile": "\n".join(stages) + "\nCOPY --from=builder /app /app\n", "note": "plain text, not YAML"}
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "builder-config"}, "data": data}
    ).encode()


def templated_configmap(images: tuple[str, ...], *, broken: bool = False) -> bytes:
    """The RHDH operator's `rhdh-plugin-deps` shape: a value holding several YAML documents with
    `{{backstage-ns}}` placeholders; *broken* adds a value that looks like YAML and cannot be read."""
    docs = [
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: dep{i}\n  namespace: {{{{backstage-ns}}}}\n"
        f"spec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: {image}\n"
        for i, image in enumerate(images)
    ]
    data = {"deps.yaml": "---\n".join(docs)}
    if broken:
        data["broken.yaml"] = "kind: Secret\nmetadata: [unclosed\n  name: x\n"
    return yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rhdh-plugin-deps"}, "data": data}
    ).encode()


def tabbed_csv(image: str, annotation_image: str) -> bytes:
    """A CSV whose text has a tab after a key's colon (as published CRDs and CSVs do, accepted by
    Go's YAML parser); its containerImage annotation may name another registry than its deployment."""
    return (
        "apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\nmetadata:\n  name: x.v1.0.0\n"
        f"  annotations:\n    description:\tAn operator with a tab\n    containerImage: {annotation_image}\n"
        "spec:\n  install:\n    spec:\n      deployments:\n        - name: op\n          spec:\n            template:\n"
        f"              spec:\n                containers:\n                  - name: manager\n                    image: {image}\n"
    ).encode()
