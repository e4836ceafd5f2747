"""Small formatters for the human (non --json) output of the store verbs."""

from __future__ import annotations

import re
import time
from typing import Any

from .common import InputError

_DURATION = re.compile(r"^([1-9][0-9]{0,6})([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_DURATION_S = 3650 * 86400


def parse_duration(text: str) -> int:
    """``30d``, ``24h``, ``90m``, ``45s`` -> seconds; anything else is a one-line InputError."""
    m = _DURATION.match(text.strip())
    if not m:
        raise InputError(f"--since: {text!r} is not a duration (like 30d, 24h, 90m)")
    seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
    if seconds > MAX_DURATION_S:
        raise InputError(f"--since: {text!r} is longer than 3650 days")
    return seconds


def when(ts: int | None) -> str:
    """Unix seconds -> ``YYYY-MM-DD HH:MM:SS`` (UTC), or ``-``."""
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def num(v: Any, fmt: str = "{:g}") -> str:
    """A table cell: ``-`` for unknown (NULL), never an invented value."""
    if v is None or v == "":
        return "-"
    if isinstance(v, bool):
        return "up" if v else "DOWN"
    return fmt.format(v) if isinstance(v, int | float) else clean(str(v))


def clean(text: str) -> str:
    """Device-sent text for a terminal: control characters (escape sequences) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def rate(bps: Any) -> str:
    """Bits/s in a short human unit."""
    if bps is None:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if bps >= div:
            return f"{bps / div:.1f}{unit}"
    return f"{bps:.0f}"
