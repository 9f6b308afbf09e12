"""A target registry that dies in the middle of a push, on real local services (issue 14, Faults).

push must give up within a bounded time (README, Security model, Faults), say how many retries were
made, write its report, and a re-run against the registry restarted on the same storage must finish
the job. oc-mirror is the test double (it copies with skopeo and passes ``--retry-times`` on);
OC_MIRROR_DOUBLE_SLEEP slows it down so the registry can be stopped while images are still to come.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from mirrorkit.bundle.manifest import Manifest
from mirrorkit.oci.reference import ImageReference
from mirrorkit.push import PUSH_RETRY_TIMES
from tests.services.registry import start_registry
from tests.test_e2e import World, mirrorkit, world  # noqa: F401 - the packed demo bundle (module fixture)

pytestmark = pytest.mark.integration

#: What the test allows between the registry's death and push's exit. The README documents the
#: measured bound (oc-mirror's retries per remaining image plus the final check's short give-up).
GIVE_UP_BOUND_S = 60.0

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def _repositories(host: str) -> list[str]:
    try:
        return requests.get(f"http://{host}/v2/_catalog", timeout=5).json().get("repositories", [])
    except (requests.RequestException, ValueError):
        return []


def _present(host: str, source: str, digest: str) -> bool:
    repo = ImageReference.parse(source).repository
    resp = requests.head(f"http://{host}/v2/mirror/{repo}/manifests/{digest}", headers={"Accept": ACCEPT}, timeout=30)
    return resp.status_code == 200


def test_registry_dying_mid_push_fails_in_bounded_time_and_rerun_completes(
    world: World,
    registry_factory,
    verdaccio_factory,
    tmp_path,
):
    target, target_npm = registry_factory(), verdaccio_factory()
    env = {**world.env, "NPM_TOKEN": target_npm.add_user("bastion", "pw-bastion"), "OC_MIRROR_DOUBLE_SLEEP": "1"}
    out = tmp_path / "install"
    manifest = Manifest.from_bytes((world.bundle / "manifest.json").read_bytes())
    assert len(manifest.images) >= 4, "the demo bundle must have images left to copy when the registry dies"

    def push_args(host: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "mirrorkit",
            "push",
            str(world.bundle),
            "--target-registry",
            f"{host}/mirror",
            "--target-npm",
            target_npm.url,
            "--verify-key",
            str(world.pub),
            "--output",
            str(out),
            "--no-tls-verify",
        ]

    proc = subprocess.Popen(push_args(target.host), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not _repositories(target.host):  # the first image has landed: the push is under way
            assert proc.poll() is None, "push ended before the registry could be stopped: " + "".join(proc.communicate())
            assert time.monotonic() < deadline, "push never reached the target registry"
            time.sleep(0.2)
        target.stop()
        died = time.monotonic()
        stdout, stderr = proc.communicate(timeout=GIVE_UP_BOUND_S + 120)
        took = time.monotonic() - died
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = stdout + stderr
    print(f"push gave up {took:.1f}s after the registry died")  # the README's bound is measured from this
    assert proc.returncode != 0, text
    assert took < GIVE_UP_BOUND_S, f"push took {took:.1f}s to give up after the registry died:\n{text}"
    errors = [line for line in stderr.splitlines() if line.startswith("mirrorkit: error:")]
    assert len(errors) == 1, stderr
    print(errors[0])
    assert f"retried each image {PUSH_RETRY_TIMES} times" in errors[0], errors[0]
    assert "gave up after" in errors[0] and " s" in errors[0], errors[0]
    assert f"retries up to {PUSH_RETRY_TIMES} times per image" in stderr, "the loading step must announce the retry budget"
    report = json.loads((out / "report.json").read_text())
    failed = [i for i in report["items"] if i["category"] == "push" and i["status"] == "failed"]
    assert failed and "gave up after" in failed[0]["detail"], failed

    # The registry is back (same storage, a new port): the same push, to the new host, completes it.
    again = start_registry(target.root)
    try:
        assert _repositories(again.host), "the restarted registry must still hold what was pushed before"
        rerun = subprocess.run(
            [*push_args(again.host), "-q"],
            env={**env, "OC_MIRROR_DOUBLE_SLEEP": "0"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        for image in manifest.images:
            assert _present(again.host, image.source, image.digest), f"{image.source} missing after the re-run"
        report = json.loads((out / "report.json").read_text())
        assert report["summary"]["failed"] == 0
    finally:
        again.stop()


def test_final_target_check_gives_up_on_a_dead_registry_once(registry_factory):
    """push's final check against a registry that died after the load: one retry cycle for the
    whole check (not one per image), and the failure says how many attempts over how long."""
    from mirrorkit.bundle.manifest import ImageEntry
    from mirrorkit.bundle.targets import image_checker
    from mirrorkit.push import TARGET_CHECK_POLICY

    dead = registry_factory()
    dead.stop()
    images = tuple(ImageEntry(f"quay.io/acme/app-{n}:1.0", "sha256:" + f"{n:064x}") for n in range(200))
    manifest = Manifest(created="2026-01-01T00:00:00Z", mirrorkit_version="test", images=images)
    started = time.monotonic()
    items = list(image_checker(f"{dead.host}/mirror", tls_verify=False, policy=TARGET_CHECK_POLICY)(manifest))
    took = time.monotonic() - started
    assert took < 10, f"the final check took {took:.1f}s against a dead registry"
    # one root cause: the registry, failed once, naming the retries; its 200 images "not checked" under it
    targets = [i for i in items if i.category == "target"]
    images = [i for i in items if i.category == "image"]
    assert len(targets) == 1 and targets[0].status.value == "failed" and "200 images not checked" in targets[0].detail
    assert "failed after 3 attempts over" in targets[0].detail, targets[0].detail
    assert len(images) == 200 and all(i.status.value == "not_checked" and i.cause == targets[0].key for i in images)
