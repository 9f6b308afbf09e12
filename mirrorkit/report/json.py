"""Machine-readable report: stable keys, sorted, failures first (a format other tools can parse)."""

from __future__ import annotations

import json as _json
from typing import Any

from mirrorkit.report.model import Report

FORMAT = "mirrorkit-report/v1"


def to_dict(report: Report) -> dict[str, Any]:
    s = report.summary
    return {
        "format": FORMAT,
        "title": report.title,
        "ok": report.ok,
        "summary": {"passed": s.passed, "failed": s.failed, "warnings": s.warnings, "total": s.total},
        "bundle": {
            "manifest_sha256": report.identity.manifest_sha256,
            "profile": report.identity.profile,
            "created": report.identity.created,
            "path": report.identity.path,
        },
        "signer_fingerprint": report.signer_fingerprint,
        "groups": [
            {"group": name, "passed": g.passed, "failed": g.failed, "warnings": g.warnings}
            for name, g in report.group_summaries()
        ],
        "items": [
            {
                "category": i.category,
                "subject": i.subject,
                "status": i.status.value,
                "expected": i.expected,
                "actual": i.actual,
                "detail": i.detail,
                "group": i.group,
            }
            for i in report.ordered_items()
        ],
    }


def render(report: Report) -> str:
    return _json.dumps(to_dict(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
