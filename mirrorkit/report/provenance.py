"""Who checked the bundle, where, when and with what: the header a change board signs against.

Collected once when a report is made (:meth:`Provenance.here`); the report layer does not look
anything up itself afterwards, so a report rendered later still says where it was checked.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import socket
from dataclasses import dataclass

#: What mirrorkit's oc-mirror test double says in ``oc-mirror version`` (tests/ocmirror_double).
TEST_DOUBLE_MARK = "mirrorkit-test-double"


@dataclass(frozen=True)
class Provenance:
    """When and where a report was made, by whom, with which tools, against which targets.

    *oc_mirror_version* is the oc-mirror that packed the bundle (recorded in its manifest): a bundle
    packed by the test double must say so loudly, it is not a real mirror."""

    checked_at: str = ""
    host: str = ""
    user: str = ""
    mirrorkit_version: str = ""
    oc_mirror_version: str = ""
    targets: tuple[str, ...] = ()

    @property
    def oc_mirror_is_double(self) -> bool:
        return TEST_DOUBLE_MARK in self.oc_mirror_version

    @property
    def oc_mirror_text(self) -> str:
        """The oc-mirror line as shown: unknown, real, or the test double spelled out."""
        if not self.oc_mirror_version:
            return "not recorded"
        if self.oc_mirror_is_double:
            return f"{self.oc_mirror_version}: TEST DOUBLE, NOT THE REAL OC-MIRROR (images were not mirrored by oc-mirror)"
        return self.oc_mirror_version

    @classmethod
    def here(cls, *, oc_mirror_version: str = "", targets: tuple[str, ...] = ()) -> Provenance:
        """This machine, this user, now, this mirrorkit."""
        from mirrorkit import __version__

        return cls(
            checked_at=_dt.datetime.now(_dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
            host=socket.gethostname(),
            user=_user(),
            mirrorkit_version=__version__,
            oc_mirror_version=oc_mirror_version,
            targets=targets,
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        return "unknown"
