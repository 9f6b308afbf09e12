"""One report model, three renderings: JSON for machines, Markdown for a change ticket, HTML for people.

Every check mirrorkit runs (bundle verification, target-side checks after push) produces
:class:`CheckItem` values collected in one :class:`Report`; the renderers never decide anything,
they only present the same items (failures first) with the same summary.
"""

from __future__ import annotations

from mirrorkit.report.model import BundleIdentity, CheckItem, Report, RootCause, Status, Summary
from mirrorkit.report.write import write_reports

__all__ = ["BundleIdentity", "CheckItem", "Report", "RootCause", "Status", "Summary", "write_reports"]
