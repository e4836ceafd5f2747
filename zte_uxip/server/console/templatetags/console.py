"""Filters for times and sizes; all return plain text (autoescaped by the template)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django import template

register = template.Library()


def utc(ts: Any) -> str:
    if not isinstance(ts, int) or isinstance(ts, bool):
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def ago(ts: Any, now: Any) -> str:
    if not isinstance(ts, int) or not isinstance(now, int):
        return ""
    return f"{duration(max(0, now - ts))} ago"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def evidence_items(row: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in row.items() if k != "ts" and v is not None]


def role_names(user: Any) -> str:
    from ..roles import roles_of

    return ", ".join(sorted(roles_of(user))) or "no role"


for _f in (utc, duration, ago, pretty_json, evidence_items):
    register.filter(_f.__name__, _f)
register.simple_tag(role_names, name="role_names")
