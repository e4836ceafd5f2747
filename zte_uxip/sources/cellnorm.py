"""Normalisation shared by the AT, ModemManager and QMI backends, so the three produce the same
`cellular` names and values for the same network state. Every helper returns None for a value
that is unknown or out of its documented range: unknown values are absent, never invented."""

from __future__ import annotations

import re
from typing import Any

RATS = ("gsm", "umts", "lte", "nr5g-nsa", "nr5g-sa")
REGISTRATIONS = ("home", "roaming", "searching", "denied", "unknown", "not_registered")

# 3GPP TS 27.007 <AcT> (+COPS, +CxREG) -> our rat.
ACT_RAT = {
    0: "gsm", 1: "gsm", 3: "gsm", 8: "gsm",
    2: "umts", 4: "umts", 5: "umts", 6: "umts",
    7: "lte", 9: "lte", 10: "lte",
    11: "nr5g-sa", 12: "nr5g-sa",
    13: "nr5g-nsa",
}

# 3GPP TS 27.007 <stat> of +CREG/+CGREG/+CEREG/+C5GREG -> our registration.
STAT_REGISTRATION = {
    0: "not_registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming",
    6: "home", 7: "roaming",  # registered for SMS only
    8: "not_registered",  # attached for emergency bearer services only
    9: "home", 10: "roaming",  # CSFB not preferred
    11: "not_registered",  # C5GREG: emergency services only
}

MAX_TEXT = 64
_TEXT = re.compile(r"[\x20-\x7e]{1,64}")
_DIGITS = re.compile(r"[0-9]+")


def text(value: Any) -> str | None:
    """A short printable-ASCII label (operator name, model, firmware), else None."""
    if not isinstance(value, str):
        return None
    s: str = value.strip()
    if not s or s in ("--", "unknown", "Unknown") or not _TEXT.fullmatch(s):
        return None
    return s


def digits(value: Any, lo: int, hi: int) -> str | None:
    """A string of lo..hi decimal digits (IMEI, IMSI, PLMN), else None."""
    if not isinstance(value, str):
        return None
    s: str = value.strip()
    if lo <= len(s) <= hi and _DIGITS.fullmatch(s):
        return s
    return None


def plmn_fields(plmn: Any) -> dict[str, str]:
    """'310260' -> plmn, mcc, mnc. MCC is 3 digits, MNC 2 or 3 (TS 23.003)."""
    p = digits(plmn, 5, 6)
    if p is None:
        return {}
    return {"plmn": p, "mcc": p[:3], "mnc": p[3:]}


def mcc_mnc(mcc: Any, mnc: Any) -> dict[str, str]:
    """Separate MCC and MNC strings (MNC keeps its leading zero: '01' is not '1')."""
    c, n = digits(mcc, 3, 3), digits(mnc, 2, 3)
    if c is None or n is None:
        return {}
    return {"plmn": c + n, "mcc": c, "mnc": n}


def hex_id(value: Any, max_digits: int) -> int | None:
    """A cell ID / LAC / TAC as the network gives it (hex string) -> integer. All-F means unknown."""
    if not isinstance(value, str):
        return None
    value = value.strip().strip('"')
    if value[:2] in ("0x", "0X"):
        value = value[2:]
    if not 1 <= len(value) <= max_digits or not re.fullmatch(r"[0-9A-Fa-f]+", value):
        return None
    n = int(value, 16)
    if n == 0 or n == (1 << (4 * len(value))) - 1:
        return None
    return n


def int_in(value: Any, lo: int, hi: int) -> int | None:
    """An integer inside the documented range, else None (covers 99/255 'unknown' codes)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,10}", value):
            return None
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        return None
    return value


def float_in(value: Any, lo: float, hi: float) -> float | None:
    """A decimal number inside a plausible physical range, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,6}(\.[0-9]{1,3})?", value):
            return None
        value = float(value)
    if not isinstance(value, int | float) or not lo <= value <= hi:
        return None
    return round(float(value), 1)


# Plausible physical ranges: a value outside is a parse error or a sentinel, not a measurement.
RSSI_DBM = (-120, -20)
RSRP_DBM = (-156, -31)
RSRQ_DB = (-43.0, 20.0)
SINR_DB = (-23.0, 40.0)


def clean(out: dict[str, Any]) -> dict[str, Any]:
    """Drop None values: the snapshot carries only what is known."""
    return {k: v for k, v in out.items() if v is not None}


def with_roaming(out: dict[str, Any]) -> dict[str, Any]:
    """roaming follows registration; unknown when not registered."""
    reg = out.get("registration")
    if reg == "roaming":
        out["roaming"] = True
    elif reg == "home":
        out["roaming"] = False
    return out
