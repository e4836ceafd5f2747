"""Failure classification on the device, for `link` and `selftest`: from what the collectors
and the transport already know, one finding per problem (``code`` and a short ``detail``).

Only codes and details leave the device here, never the raw values they were read from (the
WAN's addresses, say). Cellular facts are read by name where the modem backends provide them
(``registration``, ``attached``, ``apn``; ``sim_state``, ``reject_cause``, ``pdp_error`` when a
backend reports them), so a backend that learns more improves the classification without a
change here.
"""

from __future__ import annotations

import ctypes
from typing import Any

TIME_ERROR = 5  # adjtimex(2): the clock is not synchronised
_SIM_MISSING = ("absent", "missing", "not_inserted", "not inserted", "no_sim", "removed")
_SIM_LOCKED = ("pin", "puk", "locked")
_DNS_WORDS = ("name or service not known", "name resolution", "no address associated", "nodename nor servname")
_UNREACHABLE_WORDS = ("refused", "unreachable", "timed out", "no route", "reset", "closed before connack")


def clock_synced() -> bool | None:
    """The kernel's own word (adjtimex with no change requested): NTP has disciplined the clock.
    None where the call is not available."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
        state = int(libc.adjtimex(buf))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


def _finding(code: str, detail: str = "") -> dict[str, str]:
    return {"code": code, "detail": detail} if detail else {"code": code}


def cellular_findings(cell: Any) -> list[dict[str, str]]:
    if not isinstance(cell, dict):
        return []
    out: list[dict[str, str]] = []
    sim = str(cell.get("sim_state") or cell.get("sim") or "").lower()
    if any(w in sim for w in _SIM_MISSING):
        out.append(_finding("sim_missing", sim))
    elif any(w in sim for w in _SIM_LOCKED) and "ready" not in sim:
        out.append(_finding("sim_pin_locked", sim))
    reg = cell.get("registration")
    if reg == "denied":
        cause = cell.get("reject_cause")
        out.append(_finding("registration_denied", f"reject cause {cause}" if cause is not None else "cause unknown"))
    elif reg in ("searching", "not_registered") and not out:
        out.append(_finding("not_registered", str(reg)))
    pdp = str(cell.get("pdp_error") or "").lower()
    if "auth" in pdp:
        out.append(_finding("pdp_auth_failed", pdp[:80]))
    elif reg in ("home", "roaming") and not cell.get("apn") and cell.get("attached") is not True:
        out.append(_finding("no_apn", "registered, no APN and no data bearer"))
    return out


def wan_findings(wan: Any) -> list[dict[str, str]]:
    if not isinstance(wan, dict):
        return [_finding("no_wan", "no WAN interface known")]
    out: list[dict[str, str]] = []
    if wan.get("up") is False:
        last = wan.get("last_disconnect")
        cause = last.get("cause") if isinstance(last, dict) else None
        out.append(_finding("wan_down", str(cause or "")))
    if not wan.get("ipv4") and not wan.get("ipv6"):
        out.append(_finding("no_ip", f"no address on {wan.get('iface') or 'the WAN'}"))
    return out


def transport_findings(last_failure: str) -> list[dict[str, str]]:
    """The transport's last failed connection attempt (the one that brought this command in
    succeeded, so these are history: how the device got here)."""
    text = last_failure.lower()
    if not text:
        return []
    if any(w in text for w in _DNS_WORDS):
        return [_finding("dns_failure", last_failure[:120])]
    if "certificate" in text or "tls" in text:
        return [_finding("broker_tls_failed", last_failure[:120])]
    if any(w in text for w in _UNREACHABLE_WORDS):
        return [_finding("broker_unreachable", last_failure[:120])]
    return []


def findings(*, consent_enabled: bool, snapshot: dict[str, Any], last_failure: str,
             synced: bool | None) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    if not consent_enabled:
        out.append(_finding("consent_off"))
    out += cellular_findings(snapshot.get("cellular"))
    out += wan_findings(snapshot.get("wan"))
    out += transport_findings(last_failure)
    if synced is False:
        out.append(_finding("clock_not_synced", "the kernel reports the clock as unsynchronised"))
    return out
