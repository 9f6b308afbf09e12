"""Session fixtures: real services on 127.0.0.1, started once, stopped at the end.

Under CI=true a service that cannot start fails the run (a missing service must never look like a
pass); elsewhere the tests that need it are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.services.process import ServiceUnavailable
from tests.services.registry import LocalRegistry, start_registry
from tests.services.tools import BIN as TOOLS_BIN
from tests.services.tools import find_tool
from tests.services.verdaccio import LocalVerdaccio, start_verdaccio

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The real tools setup.sh built (helm, opm) come first on PATH, so that everything the tests start
# (mirrorkit itself, the oc-mirror test double) runs the same pinned binaries a user would install.
os.environ["PATH"] = f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"


def service_missing(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"required test service unavailable under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def registry_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LocalRegistry]]:
    """Start extra registries (e.g. a source and a target); all are stopped at session end."""
    started: list[LocalRegistry] = []

    def make(**kwargs: object) -> LocalRegistry:
        try:
            reg = start_registry(tmp_path_factory.mktemp("registry"), **kwargs)  # type: ignore[arg-type]
        except ServiceUnavailable as exc:
            service_missing(str(exc))
        started.append(reg)
        return reg

    yield make
    for reg in started:
        reg.stop()


@pytest.fixture(scope="session")
def registry(registry_factory: Callable[..., LocalRegistry]) -> LocalRegistry:
    """The shared source registry; tests use their own repository names to stay independent."""
    return registry_factory()


@pytest.fixture(scope="session")
def verdaccio_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LocalVerdaccio]]:
    started: list[LocalVerdaccio] = []

    def make(**kwargs: object) -> LocalVerdaccio:
        try:
            server = start_verdaccio(tmp_path_factory.mktemp("verdaccio"), **kwargs)  # type: ignore[arg-type]
        except ServiceUnavailable as exc:
            service_missing(str(exc))
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def verdaccio(verdaccio_factory: Callable[..., LocalVerdaccio]) -> LocalVerdaccio:
    return verdaccio_factory()


@pytest.fixture(scope="session")
def npm_token(verdaccio: LocalVerdaccio) -> str:
    return verdaccio.add_user("mirrorkit-test", "mirrorkit-test-pass")


@pytest.fixture(scope="session")
def skopeo() -> str:
    path = shutil.which("skopeo")
    if not path:
        service_missing("skopeo is not installed; run scripts/test.sh (it installs the Debian package)")
    return str(path)


def _real_tool(name: str) -> Path:
    path = find_tool(name)
    if path is None:
        service_missing(f"{name} is not installed; run scripts/setup.sh (it builds the version pinned in scripts/tools.env)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    """The real helm (scripts/tools.env pins it); mirrorkit plan and the double render charts with it."""
    return _real_tool("helm")


@pytest.fixture(scope="session")
def opm_bin() -> Path:
    """The real opm: every catalog the tests build must pass `opm validate`."""
    return _real_tool("opm")


@pytest.fixture
def cli_run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the mirrorkit CLI in-process; returns (exit code, stdout, stderr)."""
    from mirrorkit.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="session")
def oc_mirror_double() -> Path:
    """The oc-mirror test double (tests/ocmirror_double/oc-mirror); see its README: it is not oc-mirror."""
    return Path(__file__).parent / "ocmirror_double" / "oc-mirror"
