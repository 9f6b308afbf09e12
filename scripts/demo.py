"""The main job end to end, on local services this script starts and stops itself.

connected side:  source registry (an FBC operator catalog with its bundles, chart and additional
                 images), a Helm chart repository over HTTP, a source npm server (the plugins)
                 -> mirrorkit keygen, mirrorkit profiles show, mirrorkit plan, mirrorkit pack, mirrorkit verify
bastion side:    target registry + target npm server (empty)
                 -> mirrorkit push (verifies first), mirrorkit verify --target-registry --target-npm
both at once:    mirrorkit sync (mirror to mirror, no bundle) into the same targets under another prefix
Run it with scripts/demo.sh (which installs what is needed first).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.services.orchestrator import fill_orchestrator_sources, write_orchestrator_profile  # noqa: E402
from tests.services.registry import start_registry  # noqa: E402
from tests.services.tools import BIN as TOOLS_BIN  # noqa: E402
from tests.services.tools import refusal  # noqa: E402
from tests.services.verdaccio import start_verdaccio  # noqa: E402

DOUBLE = ROOT / "tests" / "ocmirror_double"


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(*args: str, env: dict[str, str], check: bool = True) -> int:
    print("$ mirrorkit " + " ".join(args), flush=True)
    code = subprocess.run([sys.executable, "-m", "mirrorkit", *args], env=env).returncode
    if check and code != 0:
        raise SystemExit(f"demo: 'mirrorkit {args[0]}' exited {code}")
    return code


def tool_version(argv: list[str], env: dict[str, str]) -> str:
    """The last line a tool prints for its version (or why it could not say)."""
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run: {exc}"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[-1] if lines else f"exit {proc.returncode}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "demo-out", help="where bundle, keys and reports go [demo-out/]")
    args = parser.parse_args()
    out: Path = args.out.absolute()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    services = Path(tempfile.mkdtemp(prefix="mirrorkit-demo-"))
    env = dict(os.environ)
    # the real tools scripts/setup.sh built (helm, opm, and oc-mirror where the Go module proxy served it)
    env["PATH"] = f"{TOOLS_BIN}{os.pathsep}{env.get('PATH', '')}"
    real = env.get("MIRRORKIT_OC_MIRROR") or shutil.which("oc-mirror", path=env["PATH"])
    if real:
        print(f"demo: using the real oc-mirror {real}: {tool_version([real, 'version'], env)}")
    else:
        why = refusal("oc-mirror") or "it is not installed on this machine"
        print(
            "demo: the real oc-mirror could not be built here (" + why + "),\n"
            "      so this demo uses mirrorkit's oc-mirror TEST DOUBLE (tests/ocmirror_double: it copies images\n"
            "      with skopeo and renders charts with the real helm like oc-mirror would; it is not oc-mirror)"
        )
        env["PATH"] = f"{DOUBLE}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        print(f"demo: oc-mirror version: {tool_version([str(DOUBLE / 'oc-mirror'), 'version'], env)}")
    helm = shutil.which("helm", path=env["PATH"])
    print(
        f"demo: helm {helm}: {tool_version([helm, 'version', '--short'], env) if helm else 'NOT INSTALLED (chart images not predicted)'}"
    )
    started = []
    try:
        step("starting local services on 127.0.0.1")
        src_reg = start_registry(services / "source-registry")
        started.append(src_reg)
        dst_reg = start_registry(services / "target-registry")
        started.append(dst_reg)
        src_npm = start_verdaccio(services / "source-npm")
        started.append(src_npm)
        dst_npm = start_verdaccio(services / "target-npm")
        started.append(dst_npm)
        print(f"source registry {src_reg.host}, target registry {dst_reg.host}")
        print(f"source npm {src_npm.url}, target npm {dst_npm.url}")
        content = fill_orchestrator_sources(
            src_reg.host, src_npm.url, src_npm.add_user("publisher", "demo-pass"), services / "sources"
        )
        started.append(content)
        profile = write_orchestrator_profile(content, out / "rhdh-orchestrator-demo.yaml")
        print(
            f"demo content: an operator catalog ({len(content.catalog.bundles)} bundles in "
            f"{len(content.catalog.packages)} packages), a Helm repository at {content.helm.url}, "
            f"{len(content.npm_packages)} npm plugins"
        )
        bundle, install, key = out / "bundle", out / "install", out / "demo-key"

        step("connected host: what the profile carries, the plan, a signing key, pack, verify")
        run("profiles", "show", str(profile), env=env)
        run("plan", "--profile", str(profile), "--no-tls-verify", "-q", env=env)
        run("keygen", "-o", str(key), env=env)
        run(
            "pack",
            "--profile",
            str(profile),
            "--install",
            "helm",
            "--output",
            str(bundle),
            "--sign-key",
            f"{key}.pem",
            "--no-tls-verify",
            "--split-size",
            "1MiB",
            env=env,
        )
        run("verify", str(bundle), "--verify-key", f"{key}.pub", "--report", str(out / "bundle-report"), env=env)

        def push_to(folder: Path, source: Path, *extra: str) -> None:
            run(
                "push",
                str(source),
                "--target-registry",
                f"{dst_reg.host}/rhdh",
                "--target-npm",
                dst_npm.url,
                "--verify-key",
                f"{key}.pub",
                "--output",
                str(folder),
                "--no-tls-verify",
                *extra,
                env=env,
            )

        step("bastion host: push (verifies first), then verify the targets")
        env["NPM_TOKEN"] = dst_npm.add_user("bastion", "demo-pass")
        push_to(install, bundle)
        run(
            "verify",
            str(bundle),
            "--verify-key",
            f"{key}.pub",
            "--target-registry",
            f"{dst_reg.host}/rhdh",
            "--target-npm",
            dst_npm.url,
            "--no-tls-verify",
            "--report",
            str(out / "target-report"),
            env=env,
        )

        step("the Operator flow: the same profile packed with --install operator, pushed to its own folder")
        operator_bundle, operator_install = out / "bundle-operator", out / "install-operator"
        run(
            "pack",
            "--profile",
            str(profile),
            "--install",
            "operator",
            "--output",
            str(operator_bundle),
            "--sign-key",
            f"{key}.pem",
            "--no-tls-verify",
            "-q",
            env=env,
        )
        push_to(operator_install, operator_bundle, "-q")

        step("an upgrade: the Helm-flow bundle pushed for a cluster that runs 1.7 (push --upgrade-from 1.7)")
        upgrade_install = out / "install-upgrade"
        push_to(upgrade_install, bundle, "--upgrade-from", "1.7", "-q")

        step("a partially disconnected site: sync (mirror to mirror, no bundle) into the same registry under /rhdh-sync")
        sync_install = out / "install-sync"
        run(
            "sync",
            "--profile",
            str(profile),
            "--install",
            "helm",
            "--target-registry",
            f"{dst_reg.host}/rhdh-sync",
            "--target-npm",
            dst_npm.url,
            "--output",
            str(sync_install),
            "--no-tls-verify",
            "-q",
            env=env,
        )

        step("done")
        print(f"install runbook: {install / 'INSTALL.md'} (Helm flow)")
        print(f"                 {operator_install / 'INSTALL.md'} (Operator flow)")
        print(f"                 {upgrade_install / 'INSTALL.md'} (upgrade from 1.7, Helm flow)")
        print(f"                 {sync_install / 'INSTALL.md'} (Helm flow, written by sync)")
        print(
            f"install files:   {install}/values.yaml, {install}/dynamic-plugins.yaml, {install}/charts/, "
            f"{install}/cluster-resources/"
        )
        print(f"HTML report:     {install / 'report.html'}")
        return 0
    finally:
        for service in reversed(started):
            service.stop()
        shutil.rmtree(services, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
