"""`pip install .` into a clean virtualenv gives a working `mirrorkit` with its profiles, and nothing of tests/."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.integration


def run(*args: str | Path, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kw)


def test_install_into_clean_venv(tmp_path):
    wheels = tmp_path / "wheels"
    built = run(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "-w", wheels, ROOT)
    assert built.returncode == 0, built.stderr[-2000:]
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    ours = sorted(wheels.glob("mirrorkit-*.whl"))
    assert len(ours) == 1
    installed = run(
        py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--find-links", wheels, ours[0]
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    exe = env_dir / "bin" / "mirrorkit"
    version = run(exe, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("mirrorkit ")
    helped = run(exe, "--help", cwd=tmp_path)
    assert helped.returncode == 0 and "pack" in helped.stdout and "verify" in helped.stdout
    profiles = run(exe, "profiles", cwd=tmp_path)
    assert profiles.returncode == 0 and "rhdh-orchestrator-1.8" in profiles.stdout
    built_isc = run(exe, "imageset", "build", "--profile", "rhdh-orchestrator-1.8", cwd=tmp_path)
    assert built_isc.returncode == 0 and "logic-operator-rhel8" in built_isc.stdout
    missing = run(exe, "imageset", "validate", "no-such-file.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    listing = run(py, "-m", "pip", "show", "-f", "mirrorkit")
    assert "ocmirror_double" not in listing.stdout and "tests/" not in listing.stdout
