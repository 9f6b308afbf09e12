"""The npm side of the benchmark: a local Verdaccio holding N packages, and a clean npm client environment.

The packages are published with the real npm client (tests/services/npmpkg.py), so both contenders
read what a real registry would serve.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.services.npmpkg import make_tarball, npm_publish
from tests.services.verdaccio import LocalVerdaccio, start_verdaccio


@dataclass
class BenchSource:
    """A running Verdaccio holding the benchmark packages; call `stop()` when done."""

    server: LocalVerdaccio
    specs: list[str]
    total_bytes: int

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.stop()


def setup_source(workdir: Path, *, count: int = 20, size: int = 1_000_000, publishers: int = 4) -> BenchSource:
    """Start Verdaccio under *workdir* and publish *count* packages of about *size* bytes with real npm."""
    server = start_verdaccio(workdir / "verdaccio")
    token = server.add_user("bench", "bench-pass")
    tarballs = [make_tarball(f"@bench/plugin-{i:02d}", "1.0.0", payload_size=size) for i in range(count)]

    def publish(i: int) -> None:
        npm_publish(server.url, token, tarballs[i], workdir / "publish" / str(i))

    with ThreadPoolExecutor(max_workers=publishers) as pool:
        list(pool.map(publish, range(count)))
    return BenchSource(server, [f"{t.name}@{t.version}" for t in tarballs], sum(len(t.data) for t in tarballs))


def npm_env(workdir: Path) -> dict[str, str]:
    """Environment for the npm client: an empty user config under *workdir*, no notifier/fund/audit calls."""
    npmrc = workdir / "empty.npmrc"
    npmrc.write_text("")
    return {
        **os.environ,
        "npm_config_userconfig": str(npmrc),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }
