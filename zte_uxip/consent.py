"""Consent: what the owner's toggle file says, read strictly.

The WebUI / ZTELink app writes the file. ``1``/``on``/``true``/``enabled`` means opted in;
``0``, absent, empty, unreadable, half-written or anything else means opted out. It may instead
hold ``key=value`` lines (``enabled``, ``location``, ``policy_version``); one malformed line
makes the whole file "opted out", because a half-written file must never count as consent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TRUE_WORDS = frozenset({"1", "on", "true", "enabled", "yes"})
FALSE_WORDS = frozenset({"0", "off", "false", "disabled", "no"})
MAX_TOGGLE_BYTES = 4096
_POLICY_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


@dataclass(frozen=True)
class ConsentState:
    enabled: bool
    location: bool = True
    policy_version: str | None = None


OPTED_OUT = ConsentState(enabled=False, location=False)


def parse_toggle(text: str) -> ConsentState:
    body = text.strip()
    if body.lower() in TRUE_WORDS:
        return ConsentState(enabled=True)
    if "=" not in body:
        return OPTED_OUT
    values: dict[str, str] = {}
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or key not in ("enabled", "location", "policy_version") or key in values:
            return OPTED_OUT
        if key != "policy_version" and value.lower() not in TRUE_WORDS | FALSE_WORDS:
            return OPTED_OUT
        if key == "policy_version" and not _POLICY_RE.fullmatch(value):
            return OPTED_OUT
        values[key] = value
    if values.get("enabled", "").lower() not in TRUE_WORDS:
        return OPTED_OUT
    return ConsentState(
        enabled=True,
        location=values.get("location", "1").lower() in TRUE_WORDS,
        policy_version=values.get("policy_version"),
    )


def read_toggle(path: str) -> ConsentState:
    """The consent in force now; any problem reading the file means opted out."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TOGGLE_BYTES + 1)
    except OSError:
        return OPTED_OUT
    if len(data) > MAX_TOGGLE_BYTES:
        return OPTED_OUT
    try:
        return parse_toggle(data.decode("utf-8"))
    except UnicodeDecodeError:
        return OPTED_OUT
