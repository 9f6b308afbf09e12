"""The bundle's CycloneDX SBOM: written by seal, valid CycloneDX 1.6, agreeing with the manifest,
deterministic, signed with it, checked by verify, handed out by `mirrorkit sbom`."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from cyclonedx.schema import OutputFormat, SchemaVersion
from cyclonedx.validation import make_schemabased_validator

from mirrorkit.bundle import ImageEntry, Manifest, NpmPackage, generate_keypair, layout, reassemble, seal_bundle, verify_bundle
from mirrorkit.bundle.sbom import check_sbom, content_manifest, expected_components, serial_number
from mirrorkit.npm.index import IndexEntry, NpmIndex, write_index
from mirrorkit.report.model import Status

CREATED = "2026-05-01T12:00:00Z"
ISC = "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror: {}\n"
D = {c: "sha256:" + c * 64 for c in "abcdef"}
CHART = "charts/redhat-developer-hub-1.8.2.tgz"


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def images() -> list[ImageEntry]:
    """One image of every kind, with the provenance pack records."""
    return [
        ImageEntry("quay.io/janus-idp/backstage-showcase:latest", D["a"], "mirror.local/janus-idp/backstage-showcase"),
        ImageEntry(
            "registry.redhat.io/rhdh/rhdh-hub-rhel9:1.8",
            D["b"],
            "mirror.local/rhdh/rhdh-hub-rhel9",
            kind="helm",
            package="redhat-developer-hub",
            version="1.8.2",
        ),
        ImageEntry(
            "registry.redhat.io/rhdh/rhdh-operator-bundle",
            D["c"],
            "mirror.local/rhdh/rhdh-operator-bundle",
            kind="operator",
            package="rhdh",
            version="1.8.0",
            bundle="rhdh-operator.v1.8.0",
        ),
        ImageEntry(
            "registry.redhat.io/rhdh/rhdh-rhel9-operator",
            D["d"],
            "mirror.local/rhdh/rhdh-rhel9-operator",
            kind="operator",
            package="rhdh",
            version="1.8.0",
            bundle="rhdh-operator.v1.8.0",
        ),
        ImageEntry(
            "registry.redhat.io/redhat/redhat-operator-index:v4.19",
            D["e"],
            "mirror.local/redhat/redhat-operator-index",
            kind="catalog",
        ),
    ]


def oc_mirror_archive(chart: bytes) -> bytes:
    """A small archive in oc-mirror's layout: working-dir/ holds the chart it pulled (verify checks
    that charts/ hands out those very bytes)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in (
            (f"working-dir/helm/charts/{CHART.rsplit('/', 1)[1]}", chart),
            ("working-dir/filler", b"archive" * 3000),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def payload(root: Path) -> dict[str, bytes]:
    root.mkdir(parents=True, exist_ok=True)
    chart = b"chart archive" * 50
    files = {
        layout.ISC: ISC.encode(),
        "images/mirror_000001.tar": oc_mirror_archive(chart),
        "npm/red-hat-developer-hub-backstage-plugin-orchestrator-1.8.0.tgz": b"tarball one" * 100,
        "npm/backstage-plugin-notifications-0.5.0.tgz": b"tarball two" * 100,
        CHART: chart,
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    write_index(
        NpmIndex(
            root / "npm",
            tuple(
                IndexEntry(
                    p.name,
                    p.version,
                    p.integrity,
                    hashlib.sha1(files[p.file]).hexdigest(),
                    len(files[p.file]),
                    p.file.removeprefix("npm/"),
                    f"test://{p.name}",
                )
                for p in npm(files)
            ),
        )
    )
    return files


def npm(files: dict[str, bytes]) -> list[NpmPackage]:
    orch = "npm/red-hat-developer-hub-backstage-plugin-orchestrator-1.8.0.tgz"
    notif = "npm/backstage-plugin-notifications-0.5.0.tgz"
    return [
        NpmPackage("@red-hat-developer-hub/backstage-plugin-orchestrator", "1.8.0", sri(files[orch]), orch),
        NpmPackage("backstage-plugin-notifications", "0.5.0", sri(files[notif]), notif),
    ]


def seal(root: Path, key: Path | None = None, *, fresh: bool = True, **kw) -> Manifest:
    """Seal the test payload (written afresh unless *fresh* is false, to seal a changed one)."""
    files = payload(root) if fresh else {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.tgz")}
    return seal_bundle(
        root,
        profile="rhdh-orchestrator-1.8",
        imageset_config=ISC,
        oc_mirror_version="4.19.0",
        npm=npm(files),
        images=images(),
        created=CREATED,
        sign_key=key,
        cache_file=False,
        progress=False,
        **kw,
    )


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public, _ = generate_keypair(tmp_path / "keys" / "k")
    return private, public


@pytest.fixture()
def bundle(tmp_path: Path, keys) -> Path:
    root = tmp_path / "bundle"
    seal(root, keys[0])
    return root


def sbom_doc(root: Path) -> dict:
    return json.loads((root / layout.SBOM).read_text())


def manifest_of(root: Path) -> Manifest:
    return Manifest.from_bytes((root / layout.MANIFEST).read_bytes())


def rehash_manifest(root: Path) -> None:
    """What a forger does after editing a file: re-hash it into the manifest (not re-signed)."""
    m = manifest_of(root)
    files = tuple(
        type(f)(f.path, (root / f.path).stat().st_size, hashlib.sha256((root / f.path).read_bytes()).hexdigest()) for f in m.files
    )
    forged = Manifest(m.created, m.mirrorkit_version, m.oc_mirror_version, m.profile, m.imageset_config, files, m.npm, m.images)
    (root / layout.MANIFEST).write_bytes(forged.to_bytes())


def edit_sbom(root: Path, edit) -> None:
    doc = sbom_doc(root)
    edit(doc)
    (root / layout.SBOM).write_text(json.dumps(doc, indent=2) + "\n")
    rehash_manifest(root)


def sbom_failures(report) -> list:
    return [i for i in report.failures() if i.category == "sbom"]


def assert_sbom_agrees(root: Path) -> dict:
    """The bundle's SBOM validates against the CycloneDX 1.6 JSON schema (the library's validator), has
    one component per image, npm package and chart archive of the manifest, and verify's SBOM check
    passes (every purl and hash as the manifest says). test_e2e runs it on the demo's real bundle."""
    text = (root / layout.SBOM).read_text()
    assert make_schemabased_validator(OutputFormat.JSON, SchemaVersion.V1_6).validate_str(text) is None
    m, doc = manifest_of(root), json.loads(text)
    kinds = [next((p["value"] for p in c.get("properties", []) if p["name"] == "mirrorkit:kind"), "") for c in doc["components"]]
    assert len([c for c in doc["components"] if c["type"] == "container"]) == len(m.images)
    assert len([c for c in doc["components"] if c["type"] == "library"]) == len(m.npm)
    assert kinds.count("chart") >= len([f for f in m.files if f.path.startswith(layout.CHARTS_DIR + "/")])
    assert [i.status for i in check_sbom(root, m)] == [Status.PASSED]
    return doc


# -- what seal writes ---------------------------------------------------------------------------------


def test_sbom_is_valid_cyclonedx_1_6_json_and_listed_so_the_signature_covers_it(bundle: Path, keys):
    assert_sbom_agrees(bundle)
    text = (bundle / layout.SBOM).read_text()
    m = manifest_of(bundle)
    entry = m.file(layout.SBOM)
    assert entry is not None and entry.sha256 == hashlib.sha256(text.encode()).hexdigest()
    report = verify_bundle(bundle, verify_key=keys[1], progress=False)
    assert report.ok, report.failures()
    assert [i.status for i in report.items if i.category == "sbom"] == [Status.PASSED]


def test_components_match_the_manifest_in_count_purl_and_hashes(bundle: Path):
    m, doc = manifest_of(bundle), sbom_doc(bundle)
    assert doc["specVersion"] == "1.6" and doc["serialNumber"] == serial_number(m).urn
    comps = {c["bom-ref"]: c for c in doc["components"]}
    by_type: dict[str, list] = {}
    for c in doc["components"]:
        by_type.setdefault(c["type"], []).append(c)
    # 5 images, 2 npm packages, 1 chart archive, 1 operator bundle (its two images hang under it)
    assert len(by_type["container"]) == len(m.images) == 5
    assert len(by_type["library"]) == len(m.npm) == 2
    assert len(by_type["application"]) == 2 and len(comps) == 9
    for image in m.images:
        c = next(
            c
            for c in by_type["container"]
            if {"name": "mirrorkit:source", "value": image.source} in c["properties"]
            and {"name": "mirrorkit:kind", "value": image.kind} in c["properties"]
        )
        assert c["hashes"] == [{"alg": "SHA-256", "content": image.digest.removeprefix("sha256:")}]
        assert c["purl"].startswith(f"pkg:oci/{image.source.split(':')[0].rsplit('/', 1)[-1]}@{image.digest}?repository_url=")
    showcase = next(c for c in by_type["container"] if "backstage-showcase" in c["purl"])
    assert showcase["purl"] == (
        f"pkg:oci/backstage-showcase@{D['a']}?repository_url=quay.io/janus-idp/backstage-showcase&tag=latest"
    )
    for pkg in m.npm:
        c = comps[f"npm:{pkg.name}@{pkg.version}"]
        data = (bundle / pkg.file).read_bytes()
        hashes = {h["alg"]: h["content"] for h in c["hashes"]}
        assert hashes == {
            "SHA-512": hashlib.sha512(data).hexdigest(),
            "SHA-1": hashlib.sha1(data).hexdigest(),
            "SHA-256": m.file(pkg.file).sha256,
        }
        assert base64.b64encode(bytes.fromhex(hashes["SHA-512"])).decode() == pkg.integrity.removeprefix("sha512-")
    orch = comps["npm:@red-hat-developer-hub/backstage-plugin-orchestrator@1.8.0"]
    assert orch["group"] == "@red-hat-developer-hub" and orch["name"] == "backstage-plugin-orchestrator"
    assert orch["purl"] == "pkg:npm/%40red-hat-developer-hub/backstage-plugin-orchestrator@1.8.0"
    chart = comps["chart:redhat-developer-hub@1.8.2"]
    assert chart["hashes"] == [{"alg": "SHA-256", "content": m.file(CHART).sha256}]
    operator = comps["operator-bundle:rhdh-operator.v1.8.0"]
    assert (operator["name"], operator["version"]) == ("rhdh", "1.8.0")
    catalog = next(c for c in by_type["container"] if {"name": "mirrorkit:kind", "value": "catalog"} in c["properties"])
    # top level: the bundle with its tools; dependencies: bundle -> top level, chart/operator -> their images
    meta = doc["metadata"]
    assert meta["component"]["name"] == "rhdh-orchestrator-1.8" and meta["timestamp"].startswith("2026-05-01T12:00:00")
    assert {(t["name"], t["version"]) for t in meta["tools"]["components"]} == {
        ("mirrorkit", m.mirrorkit_version),
        ("oc-mirror", "4.19.0"),
    }
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    assert deps["bundle"] == {
        "chart:redhat-developer-hub@1.8.2",
        "operator-bundle:rhdh-operator.v1.8.0",
        catalog["bom-ref"],
        showcase["bom-ref"],
        *(f"npm:{p.name}@{p.version}" for p in m.npm),
    }
    assert len(deps["chart:redhat-developer-hub@1.8.2"]) == 1
    assert all("#helm" in r for r in deps["chart:redhat-developer-hub@1.8.2"])
    assert len(deps["operator-bundle:rhdh-operator.v1.8.0"]) == 2
    assert set(expected_components(m)) == set(comps)


def test_same_content_gives_the_same_bytes_other_content_another_serial(tmp_path: Path):
    seal(tmp_path / "one")
    seal(tmp_path / "two")
    first = (tmp_path / "one" / layout.SBOM).read_bytes()
    assert (tmp_path / "two" / layout.SBOM).read_bytes() == first
    seal(tmp_path / "one")  # re-seal in place: the old SBOM is not described by the new one
    assert (tmp_path / "one" / layout.SBOM).read_bytes() == first
    assert (tmp_path / "one" / layout.MANIFEST).read_bytes() == (tmp_path / "two" / layout.MANIFEST).read_bytes()
    assert "sbom.cdx.json" not in first.decode()
    (tmp_path / "two" / "images" / "mirror_000001.tar").write_bytes(b"other archive")
    seal(tmp_path / "two", fresh=False)
    assert sbom_doc(tmp_path / "two")["serialNumber"] != sbom_doc(tmp_path / "one")["serialNumber"]


def test_discovered_images_hang_under_their_bundle_and_a_twice_listed_image_stays_twice(tmp_path: Path):
    root = tmp_path / "b"
    files = payload(root)
    extra = [
        ImageEntry(
            "registry.redhat.io/rhdh/postgresql-15:1",
            D["f"],
            "mirror.local/rhdh/postgresql-15",
            kind="additional",
            package="rhdh",
            version="1.8.0",
            bundle="rhdh-operator.v1.8.0",
        ),
        ImageEntry("quay.io/janus-idp/backstage-showcase:latest", D["a"], "other.local/janus-idp/backstage-showcase"),
    ]
    seal_bundle(
        root, imageset_config=ISC, npm=npm(files), images=images() + extra, created=CREATED, cache_file=False, progress=False
    )
    doc = assert_sbom_agrees(root)
    deps = {d["ref"]: set(d.get("dependsOn", [])) for d in doc["dependencies"]}
    assert len(deps["operator-bundle:rhdh-operator.v1.8.0"]) == 3
    assert any("postgresql-15" in r for r in deps["operator-bundle:rhdh-operator.v1.8.0"])
    showcases = [c for c in doc["components"] if c["name"] == "quay.io/janus-idp/backstage-showcase"]
    assert len(showcases) == 2 and len({c["bom-ref"] for c in showcases}) == 2


def test_a_bundle_without_images_or_packages_still_has_a_valid_sbom(tmp_path: Path):
    root = tmp_path / "b"
    (root / "images").mkdir(parents=True)
    (root / "images" / "mirror_000001.tar").write_bytes(b"x")
    seal_bundle(root, cache_file=False, progress=False)
    text = (root / layout.SBOM).read_text()
    assert make_schemabased_validator(OutputFormat.JSON, SchemaVersion.V1_6).validate_str(text) is None
    assert verify_bundle(root, progress=False).ok


def test_split_bundle_carries_the_sbom_in_its_parts(tmp_path: Path, keys):
    root = tmp_path / "split"
    seal(root, keys[0], split_size=8 * 1024)
    parts_only = tmp_path / "parts-only"
    parts_only.mkdir()
    for name in (layout.MANIFEST, layout.SIGNATURE, layout.PARTS_DIR):
        src = root / name
        shutil.copytree(src, parts_only / name) if src.is_dir() else shutil.copy2(src, parts_only / name)
    report = reassemble(parts_only, tmp_path / "tree", verify_key=keys[1], progress=False)
    assert report.ok and [i.status for i in report.items if i.category == "sbom"] == [Status.PASSED]
    assert (tmp_path / "tree" / layout.SBOM).read_bytes() == (root / layout.SBOM).read_bytes()


# -- what verify catches ------------------------------------------------------------------------------


def test_changed_image_digest_in_the_sbom_fails_verify_naming_the_image(bundle: Path, keys):
    def edit(doc):
        c = next(c for c in doc["components"] if "rhdh-hub-rhel9" in c["bom-ref"])
        c["hashes"][0]["content"] = "0" * 64

    edit_sbom(bundle, edit)
    report = verify_bundle(bundle, progress=False)  # manifest re-hashed: only the SBOM check can tell
    [item] = sbom_failures(report)
    assert not report.ok and "registry.redhat.io/rhdh/rhdh-hub-rhel9:1.8" in item.subject
    assert "0" * 64 in item.actual and D["b"].removeprefix("sha256:") in item.expected and "hashes" in item.detail
    with_key = verify_bundle(bundle, verify_key=keys[1], progress=False)
    assert not with_key.ok and "signature" in {i.category for i in with_key.failures()}


def test_sbom_edited_after_sealing_fails_the_file_check_too(bundle: Path):
    doc = sbom_doc(bundle)
    c = next(c for c in doc["components"] if c["bom-ref"].startswith("npm:backstage-plugin-notifications"))
    c["hashes"] = [h for h in c["hashes"] if h["alg"] != "SHA-512"]
    (bundle / layout.SBOM).write_text(json.dumps(doc))
    report = verify_bundle(bundle, progress=False)
    failed = {(i.category, i.subject) for i in report.failures()}
    assert ("file", layout.SBOM) in failed
    assert ("sbom", "npm package backstage-plugin-notifications@0.5.0") in failed


def test_missing_extra_and_foreign_components_fail(bundle: Path):
    def edit(doc):
        doc["components"] = [c for c in doc["components"] if not c["bom-ref"].startswith("chart:")]
        doc["components"].append({"type": "container", "name": "evil", "bom-ref": "image:evil.example/x@sha256:" + "9" * 64})
        doc["serialNumber"] = "urn:uuid:00000000-0000-4000-8000-000000000000"

    edit_sbom(bundle, edit)
    items = {(i.subject, i.actual) for i in sbom_failures(verify_bundle(bundle, progress=False))}
    assert ("Helm chart redhat-developer-hub 1.8.2", "missing") in items
    assert ("image:evil.example/x@sha256:" + "9" * 64, "present") in items
    assert ("sbom.cdx.json serialNumber", "urn:uuid:00000000-0000-4000-8000-000000000000") in items


def test_manifest_forged_without_rewriting_the_sbom_is_caught_by_its_serial(bundle: Path):
    archive = bundle / "images" / "mirror_000001.tar"
    archive.write_bytes(b"replaced archive")
    rehash_manifest(bundle)
    [item] = sbom_failures(verify_bundle(bundle, progress=False))
    assert item.subject == "sbom.cdx.json serialNumber" and "another bundle" in item.detail


def test_sbom_that_is_not_cyclonedx_is_refused(bundle: Path):
    (bundle / layout.SBOM).write_text('{"bomFormat": "SPDX"}')
    rehash_manifest(bundle)
    [item] = sbom_failures(verify_bundle(bundle, progress=False))
    assert item.actual == "refused" and "SPDX" in item.detail


def test_bundle_sealed_before_sboms_gets_a_warning_not_a_failure(bundle: Path):
    m = manifest_of(bundle)
    old = content_manifest(m)  # as sealed before bundles carried an SBOM
    (bundle / layout.SBOM).unlink()
    [item] = check_sbom(bundle, old)
    assert item.status is Status.WARNING and "re-pack" in item.detail


# -- mirrorkit sbom -----------------------------------------------------------------------------------


def test_cli_prints_the_sealed_json_byte_for_byte(cli_run, bundle: Path, keys):
    code, out, err = cli_run("sbom", bundle, "--verify-key", keys[1])
    assert code == 0, err
    assert out == (bundle / layout.SBOM).read_text()


def test_cli_writes_xml_that_validates_against_the_1_6_schema(cli_run, bundle: Path, tmp_path: Path):
    out_file = tmp_path / "out" / "bundle.cdx.xml"
    code, out, err = cli_run("sbom", bundle, "--format", "xml", "-o", out_file)
    assert code == 0 and out == "" and str(out_file) in err
    xml = out_file.read_text()
    assert make_schemabased_validator(OutputFormat.XML, SchemaVersion.V1_6).validate_str(xml) is None
    assert D["b"].removeprefix("sha256:") in xml and "pkg:npm/%40red-hat-developer-hub/backstage-plugin-orchestrator@1.8.0" in xml
    assert xml.count("<component type=") == 9 + 1 + 2  # the components, the bundle itself, the two tools


def test_cli_refuses_a_tampered_sbom_an_unsigned_manifest_and_output_inside_the_bundle(cli_run, bundle: Path, tmp_path):
    code, _, err = cli_run("sbom", bundle, "-o", bundle / "copy.json")
    assert code == 2 and "inside the bundle" in err
    other = generate_keypair(tmp_path / "other")[1]
    code, _, err = cli_run("sbom", bundle, "--verify-key", other)
    assert code == 1 and "not signed by" in err
    (bundle / layout.SBOM).write_text((bundle / layout.SBOM).read_text().replace(D["a"][7:], "1" * 64))
    code, out, err = cli_run("sbom", bundle)
    assert code == 1 and out == "" and "does not match the manifest" in err and "mirrorkit verify" in err


def test_cli_on_a_bundle_without_sbom_says_to_repack(cli_run, bundle: Path):
    m = manifest_of(bundle)
    old = content_manifest(m)  # as sealed before bundles carried an SBOM
    (bundle / layout.MANIFEST).write_bytes(old.to_bytes())
    code, _, err = cli_run("sbom", bundle)
    assert code == 1 and "carries no sbom.cdx.json" in err and "Re-pack" in err
    code, _, err = cli_run("sbom", bundle.parent / "nothing")
    assert code == 2 and "not a mirrorkit bundle" in err


def test_html_report_links_the_sbom(cli_run, bundle: Path, tmp_path: Path, keys):
    code, _, _ = cli_run("verify", bundle, "--verify-key", keys[1], "--report", tmp_path / "rep")
    html = (tmp_path / "rep" / "report.html").read_text()
    # relative: the SBOM is copied beside the report, so the link survives attaching both to a ticket
    assert code == 0 and 'href="sbom.cdx.json"' in html and "file://" not in html
    assert (tmp_path / "rep" / layout.SBOM).read_bytes() == (bundle / layout.SBOM).read_bytes()


def test_no_secret_reaches_the_sbom(tmp_path: Path, monkeypatch):
    """The SBOM is built from the manifest and tarball bytes only: the ImageSetConfiguration (which may
    name private registries), auth files and tokens in the environment never reach it."""
    token = "npm_S3cr3tT0kenValue1234567890"
    monkeypatch.setenv("NPM_TOKEN", token)
    monkeypatch.setenv("MIRRORKIT_NPM_TOKEN", token)
    root = tmp_path / "b"
    files = payload(root)
    (root / "auth.json").write_text(
        json.dumps({"auths": {"quay.io": {"auth": base64.b64encode(b"u:" + token.encode()).decode()}}})
    )
    seal_bundle(
        root, profile="p", imageset_config=ISC + f"# {token}\n", npm=npm(files), images=images(), cache_file=False, progress=False
    )
    text = (root / layout.SBOM).read_text()
    from mirrorkit.redact import redact

    assert token not in text and "auths" not in text and "ImageSetConfiguration" not in text and redact(text) == text
    assert os.environ["NPM_TOKEN"] == token  # (the fixture really set it)
