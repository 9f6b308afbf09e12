"""Machine-readable report: stable keys, sorted, failures first (a format other tools can parse).

Everything the Markdown and HTML renderings show is here too (header, root causes, carried
content), from the same model methods; ``tests/test_report_renderings.py`` holds them to that.
"""

from __future__ import annotations

import json as _json
from typing import Any

from mirrorkit.report.model import CheckItem, Report

FORMAT = "mirrorkit-report/v1"


def _item(i: CheckItem) -> dict[str, str]:
    return {
        "category": i.category,
        "subject": i.subject,
        "status": i.status.value,
        "expected": i.expected,
        "actual": i.actual,
        "detail": i.detail,
        "group": i.group,
        "cause": i.cause,
    }


def to_dict(report: Report) -> dict[str, Any]:
    s, p = report.summary, report.provenance
    return {
        "format": FORMAT,
        "title": report.title,
        "ok": report.ok,
        "summary": {
            "passed": s.passed,
            "failed": s.failed,
            "warnings": s.warnings,
            "not_checked": s.not_checked,
            "consequences": s.consequences,
            "total": s.total,
            "text": s.text,
        },
        "bundle": {
            "manifest_sha256": report.identity.manifest_sha256,
            "profile": report.identity.profile,
            "created": report.identity.created,
            "path": report.identity.path,
        },
        "provenance": {
            "checked_at": p.checked_at,
            "host": p.host,
            "user": p.user,
            "mirrorkit_version": p.mirrorkit_version,
            "oc_mirror_version": p.oc_mirror_version,
            "oc_mirror_is_test_double": p.oc_mirror_is_double,
            "targets": list(report.targets()),
        },
        "header": [{"label": label, "value": value} for label, value in report.header()],
        "signer_fingerprint": report.signer_fingerprint,
        "attachments": list(report.attachments),
        "root_causes": [
            {
                "item": _item(rc.item),
                "consequences": [_item(i) for i in rc.consequences],
                "not_checked": [i.subject for i in rc.not_checked],
            }
            for rc in report.root_causes()
        ],
        "carried": [
            {
                "title": sec.title,
                "rows": [{"name": r.name, "reference": r.reference, "size": r.size, "result": r.result} for r in sec.rows],
            }
            for sec in report.carried_sections()
        ],
        "groups": [
            {
                "group": name,
                "passed": g.passed,
                "failed": g.all_failed,
                "warnings": g.warnings,
                "not_checked": g.not_checked,
            }
            for name, g in report.group_summaries()
        ],
        "items": [_item(i) for i in report.ordered_items()],
    }


def render(report: Report) -> str:
    return _json.dumps(to_dict(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
