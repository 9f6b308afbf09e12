"""npm plugin mirroring: pull tarballs with verified integrity, publish them to a local npm server.

Public API (used by `mirrorkit npm`, `pack`, `push` and `verify`)::

    pull_packages(specs, out_dir, *, settings=None, jobs=4, progress=None) -> PullReport
    read_index(dir) -> NpmIndex
    publish_packages(dir_or_index, registry_url, *, token=None, jobs=4, npmrc=None) -> PublishReport
    check_served(index, registry_url, *, token=None) -> list[ServedCheck]
    NpmSettings.load(registry=None, token=None, npmrc=None) -> NpmSettings
"""

from mirrorkit.npm.index import IndexEntry, NpmIndex, read_index, write_index
from mirrorkit.npm.npmrc import NpmSettings
from mirrorkit.npm.publish import PublishReport, PublishResult, ServedCheck, check_served, publish_packages
from mirrorkit.npm.pull import PullReport, PullResult, pull_packages
from mirrorkit.npm.spec import PackageName, PackageSpec, PinnedPackage

__all__ = [
    "IndexEntry",
    "NpmIndex",
    "NpmSettings",
    "PackageName",
    "PackageSpec",
    "PinnedPackage",
    "PublishReport",
    "PublishResult",
    "PullReport",
    "PullResult",
    "ServedCheck",
    "check_served",
    "publish_packages",
    "pull_packages",
    "read_index",
    "write_index",
]
