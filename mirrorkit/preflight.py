"""Push's pre-flight: every target answers, accepts us and has room, before anything is written.

Why: push writes to three places (the registry, the npm server, the local disk) in that order and
takes minutes per step. Found late, an unreachable npm server or a refused token leaves a registry
full of images and no plugins; found here, it is one line and nothing was written anywhere.

Each probe is read-only or refused by the server before it stores anything:

* registry: ``/v2/`` reached and the credentials accepted (basic auth checked, a bearer token
  granted) for the target repository (:meth:`mirrorkit.oci.client.OciClient.check_login`);
* npm server: reachable, and the token given is one it knows (``/-/whoami`` names a user);
* npm body size: a body as large as the largest publish is sent as *invalid JSON* to a probe
  package name: a server whose limit is too small answers 413 (nothing is stored either way);
* disk: oc-mirror unpacks the archives into its cache (the archives' size), push copies the archives
  into its work folder while hashing them (the archives' size again; a parts-only bundle: its whole
  payload, reassembled) and the npm tarballs; needs on one file system are added up, and a failure
  says how much each folder needs.

The probes use a short retry policy (2 attempts, 5 s to connect), so a dead target costs seconds.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import requests

from mirrorkit.bundle import layout
from mirrorkit.bundle.manifest import Manifest
from mirrorkit.bundle.snapshot import archive_entries
from mirrorkit.errors import MirrorkitError, NpmError
from mirrorkit.http import RetryPolicy, raise_for_transient, retrying
from mirrorkit.report.model import CheckItem, Status
from mirrorkit.sizes import human
from mirrorkit.textutil import clip

PROBE_REPOSITORY = "mirrorkit-preflight"
PROBE_PACKAGE = "mirrorkit-preflight-probe"
PREFLIGHT_POLICY = RetryPolicy(attempts=2, backoff=0.5, max_backoff=1.0, timeout=(5.0, 30.0))
_P, _F, _W = Status.PASSED, Status.FAILED, Status.WARNING


@dataclass(frozen=True, kw_only=True)
class Targets:
    """What push is about to write to."""

    registry: str
    npm_registry: str
    authfile: Path | None = None
    tls_verify: bool = True
    npm_token: str | None = field(default=None, repr=False)
    npmrc: Path | None = None
    cache_dir: Path
    output: Path
    work: Path | None = None  # push's private work folder (default: the output folder)
    parts_only: bool = False  # the bundle is carried as parts: its whole payload is reassembled in work


def publish_body_size(tarball_size: int) -> int:
    """An upper bound of the PUT body ``npm publish`` sends for a tarball: base64 plus the document."""
    return 4 * -(-tarball_size // 3) + 64 * 1024


def _existing(path: Path) -> Path:
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def _free(path: Path) -> int:
    return shutil.disk_usage(_existing(path)).free


@dataclass(frozen=True)
class Need:
    """Room one step of push takes in one folder, and the option that moves it elsewhere."""

    what: str
    folder: Path
    size: int
    option: str


def disk_needs(manifest: Manifest, targets: Targets) -> list[Need]:
    """What push writes locally: oc-mirror unpacks the archives into its cache; push copies the
    archives (hashed while copied: oc-mirror reads only verified bytes) into its work folder, or
    reassembles the whole payload there from a parts-only bundle; the npm tarballs are copied too."""
    # a delta's archives are completed with the blobs they leave to the base before oc-mirror unpacks them
    archives = sum(e.size for e in archive_entries(manifest)) + sum(
        b.size for b in (manifest.base.blobs if manifest.base else ())
    )
    tarballs = sum(f.size for f in manifest.files if f.path.startswith(layout.NPM_DIR + "/"))
    work = targets.work or targets.output
    copies = (
        Need("reassembled bundle", work, sum(f.size for f in manifest.files), "--output")
        if targets.parts_only
        else Need("verified copy of the archives", work, archives, "--output")
    )
    needs = [
        Need("oc-mirror cache (unpacked archives)", targets.cache_dir, archives, "--cache-dir"),
        copies,
        Need("npm copies, install files", targets.output, tarballs, "--output"),
    ]
    return [n for n in needs if n.size]


def disk_items(manifest: Manifest, targets: Targets) -> list[CheckItem]:
    """One item per file system push writes to: the needs of every folder on it, added up."""
    by_device: dict[int, list[Need]] = {}
    for need in disk_needs(manifest, targets):
        by_device.setdefault(_existing(need.folder).stat().st_dev, []).append(need)
    items = []
    for needs in by_device.values():
        total = sum(n.size for n in needs)
        free = _free(needs[0].folder)
        ok = free >= total
        parts = "; ".join(f"{n.what} {n.folder}: {human(n.size)}" for n in needs)
        options = " or ".join(sorted({n.option for n in needs}))
        items.append(
            CheckItem(
                "preflight",
                f"disk ({options}): {', '.join(dict.fromkeys(str(n.folder) for n in needs))}",
                f"at least {total} bytes free ({human(total)}: {parts})",
                f"{free} bytes free ({human(free)})",
                _P if ok else _F,
                "" if ok else f"free {human(total - free)} more there, or choose {options} on a larger disk",
            )
        )
    return items


def registry_item(targets: Targets) -> CheckItem:
    from mirrorkit.bundle.targets import target_root
    from mirrorkit.oci.client import OciClient

    root = target_root(targets.registry)
    subject = f"registry {root}"
    try:
        # http vs https decided as the oc-mirror run it precedes will (--dest-tls-verify=<tls_verify>):
        # https only when TLS is verified, even on loopback; else https unverified, then http
        client = OciClient(targets.authfile, tls_verify=targets.tls_verify, policy=PREFLIGHT_POLICY, loopback_http=False)
        how = client.check_login(f"{root}/{PROBE_REPOSITORY}:probe")
    except MirrorkitError as exc:
        return CheckItem("preflight", subject, "reachable and accepting the credentials", "refused", _F, clip(str(exc)))
    return CheckItem("preflight", subject, "reachable and accepting the credentials", how, _P)


def npm_items(manifest: Manifest, targets: Targets) -> list[CheckItem]:
    from mirrorkit.npm.client import NpmClient, server_message, strip_credentials
    from mirrorkit.npm.npmrc import NpmSettings, normalise_registry

    registry = normalise_registry(targets.npm_registry)
    shown = strip_credentials(registry).rstrip("/")
    try:
        settings = NpmSettings.load(registry=registry, token=targets.npm_token, npmrc=targets.npmrc)
    except MirrorkitError as exc:
        return [CheckItem("preflight", f"npm server {shown}", "credentials readable", "refused", _F, clip(str(exc)))]
    client = NpmClient(settings, policy=PREFLIGHT_POLICY)
    base = registry.rstrip("/")
    whoami = f"{base}/-/whoami"
    headers = client.headers(whoami)

    def get() -> requests.Response:
        return raise_for_transient(client.session.get(whoami, headers=headers, timeout=PREFLIGHT_POLICY.timeout))

    items = []
    try:
        resp = retrying(
            get,
            what=f"reach npm server {shown}",
            error=NpmError,
            policy=PREFLIGHT_POLICY,
            hint=lambda failure: f"{failure.hint} (--target-npm)",
        )
    except MirrorkitError as exc:
        return [CheckItem("preflight", f"npm server {shown}", "reachable", "unreachable", _F, client.redact(clip(str(exc))))]
    try:
        user = resp.json().get("username") if resp.status_code == 200 else None
    except (ValueError, AttributeError):
        user = None
    detail = server_message(resp) if resp.status_code != 200 else ""
    resp.close()
    if "Authorization" not in headers:
        items.append(
            CheckItem(
                "preflight",
                f"npm token for {shown}",
                "a token to publish with",
                "none given",
                _W,
                "publishing works only if the server allows anonymous publishes; give --npm-token, NPM_TOKEN or --npmrc",
            )
        )
    elif user:
        items.append(CheckItem("preflight", f"npm token for {shown}", "accepted", f"accepted (user {clip(str(user), 80)})", _P))
    else:
        items.append(
            CheckItem(
                "preflight",
                f"npm token for {shown}",
                "accepted",
                "refused",
                _F,
                client.redact(
                    clip(
                        f"the server does not recognise the token (/-/whoami answered HTTP {resp.status_code}"
                        f"{': ' + detail if detail else ''}); give a valid --npm-token (or NPM_TOKEN, or the //host/:_authToken "
                        f"line in --npmrc)"
                    )
                ),
            )
        )
    sizes = {f.path: f.size for f in manifest.files}
    biggest = max((sizes.get(p.file, 0) for p in manifest.npm), default=0)
    if biggest:
        items.append(_body_size_item(client, base, shown, publish_body_size(biggest), headers))
    return items


def _body_size_item(client: object, base: str, shown: str, size: int, headers: dict[str, str]) -> CheckItem:
    from mirrorkit.npm.client import NpmClient

    assert isinstance(client, NpmClient)
    subject = f"npm server {shown} body size limit"
    expected = f"accepts a {size}-byte publish"
    sent = {**headers, "Content-Type": "application/json"}

    def put() -> requests.Response:  # whitespace only: invalid JSON, so nothing can be stored
        return raise_for_transient(
            client.session.put(f"{base}/{PROBE_PACKAGE}", data=b" " * size, headers=sent, timeout=PREFLIGHT_POLICY.timeout)
        )

    try:
        resp = retrying(put, what=f"probe the body size limit of {shown}", error=NpmError, policy=PREFLIGHT_POLICY)
    except MirrorkitError as exc:
        return CheckItem("preflight", subject, expected, "error", _F, client.redact(clip(str(exc))))
    status = resp.status_code
    resp.close()
    if status == 413:
        return CheckItem(
            "preflight",
            subject,
            expected,
            "refused as too large (HTTP 413)",
            _F,
            "raise the server's body size limit (Verdaccio: 'max_body_size: 100mb' in config.yaml, then "
            "restart it; a reverse proxy in front may have its own, e.g. nginx client_max_body_size)",
        )
    return CheckItem("preflight", subject, expected, f"accepted (HTTP {status} to a deliberately invalid body)", _P)


def preflight(manifest: Manifest, targets: Targets) -> list[CheckItem]:
    """Every pre-flight item (see the module docstring); push writes nothing when one failed."""
    items = disk_items(manifest, targets)
    if manifest.images:
        items.append(registry_item(targets))
    if manifest.npm:
        items += npm_items(manifest, targets)
    return items


__all__ = ["PREFLIGHT_POLICY", "Targets", "preflight", "publish_body_size"]
