"""Pure mapping of a ZTE WebUI data-service answer (`goform_get_cmd_process`, a JSON object of
strings) onto the normalised `cellular` names the AT, ModemManager and QMI backends give.

No I/O here, so it can be property-tested. Every value is checked against its documented range
or form and left out otherwise: firmwares answer "" for what they do not know, and some answer
other types than strings; neither may reach the snapshot. Field names and value forms come from
public integrations and recorded answers (see tests/fixtures/goform/*.toml for each source).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from . import cellnorm as n

# One GET asks for all of these (multi_data=1). Unknown names are answered with "" by the
# firmware, so one list serves every generation.
CELL_FIELDS = (
    "network_type", "sub_network_type", "network_provider", "network_provider_fullname", "rmcc", "rmnc",
    "cell_id", "lte_pci", "lte_rsrp", "lte_rsrq", "lte_snr", "lte_rssi", "rssi", "lte_band",
    "wan_active_band", "wan_active_channel", "lte_ca_pcell_band", "lte_ca_scell_band",
    "Z5g_rsrp", "Z5g_rsrq", "Z5g_SINR", "nr5g_pci", "nr5g_cell_id", "nr5g_action_band", "nr5g_action_channel",
    "detail_cell_id", "detail_cell_pci", "detail_cell_rsrq", "detail_cell_rssi", "detail_cell_sinr",
    "ppp_status", "simcard_roam", "signalbar", "modem_main_state", "wan_apn", "cr_version",
    "imei", "sim_imsi", "ziccid", "msisdn",
)
SESSION_FIELDS = ("loginfo", "psw_fail_num_str", "login_lock_time")
QUERY_FIELDS = CELL_FIELDS + SESSION_FIELDS

# What some firmwares show before a login (the header icons) and what they blank until then.
DATA_FIELDS = ("network_type", "lte_rsrp", "rssi", "Z5g_rsrp", "signalbar", "network_provider")
SIGNAL_FIELDS = ("lte_rsrp", "lte_rssi", "rssi", "Z5g_rsrp", "detail_cell_rssi", "cell_id", "nr5g_pci",
                 "rmcc")

_RAT = {
    "GSM": "gsm", "GPRS": "gsm", "EDGE": "gsm", "G": "gsm", "E": "gsm", "2G": "gsm",
    "UMTS": "umts", "WCDMA": "umts", "HSPA": "umts", "HSPA+": "umts", "HSDPA": "umts", "HSUPA": "umts",
    "DC-HSPA+": "umts", "DC_HSPA+": "umts", "TD-SCDMA": "umts", "3G": "umts", "H": "umts", "H+": "umts",
    "LTE": "lte", "4G": "lte", "LTE_A": "lte", "LTE-A": "lte", "LTE+": "lte", "LTE_CA": "lte", "4G+": "lte",
    "ENDC": "nr5g-nsa", "EN-DC": "nr5g-nsa", "LTE-NSA": "nr5g-nsa", "NSA": "nr5g-nsa", "5G_NSA": "nr5g-nsa",
    "SA": "nr5g-sa", "NR5G_SA": "nr5g-sa", "5G_SA": "nr5g-sa", "NR": "nr5g-sa", "NR5G": "nr5g-sa",
}
_NO_SERVICE = ("NO_SERVICE", "NO SERVICE", "LIMITED_SERVICE", "LIMITED SERVICE", "LIMITED")

# MCCs whose networks use 3-digit MNCs (ITU-T E.212): the firmware's `rmnc` drops leading
# zeros ("3" for Vodafone CZ 230 03), so the width comes from the country.
_MNC3_MCC = frozenset({302, 310, 311, 312, 313, 314, 315, 316, 334, 338, 342, 344, 346, 348, 354, 356,
                       358, 360, 365, 366, 376, 405, 708, 722, 732, 750})


def _str(answer: dict[str, Any], key: str) -> str | None:
    """The answer's value for key if it is a non-empty string, else None (wrong types too)."""
    v = answer.get(key)
    if not isinstance(v, str):
        return None
    v = v.strip()
    return v or None


def plmn_from(mcc: str | None, mnc: str | None) -> dict[str, str]:
    c = n.digits(mcc, 3, 3)
    m = n.digits(mnc, 1, 3)
    if c is None or m is None:
        return {}
    width = 3 if int(c) in _MNC3_MCC else 2
    if len(m) > width:
        return n.mcc_mnc(c, m) if len(m) == 3 else {}
    return n.mcc_mnc(c, m.zfill(width))


def rat_of(network_type: str | None) -> str | None:
    if network_type is None:
        return None
    return _RAT.get(network_type.strip().upper().replace(" ", "_"))


def _band(value: str | None, prefix: str) -> str | None:
    """'20', 'B20', 'LTE BAND 20', 'n78', '78' -> 'B20' / 'n78'."""
    if value is None:
        return None
    m = re.fullmatch(r"(?:LTE\s*BAND\s*|NR5?G?\s*BAND\s*|[BbNn])?\s*([0-9]{1,3})", value.strip())
    if not m or not 1 <= int(m.group(1)) <= 512:
        return None
    return f"{prefix}{int(m.group(1))}"


def _bands(value: str | None, prefix: str) -> list[str]:
    """A list of bands as the CA fields give them ('3,7' or '3;7')."""
    if value is None:
        return []
    out = []
    for part in re.split(r"[,;+ ]+", value)[:8]:
        b = _band(part, prefix)
        if b:
            out.append(b)
    return out


def _dec(value: str | None, lo: int, hi: int) -> int | None:
    return n.int_in(value, lo, hi) if value is not None else None


def _fl(value: str | None, rng: tuple[float, float]) -> float | None:
    return n.float_in(value, *rng) if value is not None else None


def _dbm(value: str | None, rng: tuple[int, int]) -> int | None:
    """An integer dBm value; some firmwares send '-102.0'."""
    f = _fl(value, (float(rng[0]), float(rng[1])))
    return None if f is None else int(round(f))


def _nr(answer: dict[str, Any]) -> dict[str, Any]:
    """The NR leg: Z5g_* signal (MC801A/MC888 naming), nr5g_* cell."""
    return n.clean({
        "rsrp_dbm": _dbm(_str(answer, "Z5g_rsrp"), n.RSRP_DBM),
        "rsrq_db": _fl(_str(answer, "Z5g_rsrq"), n.RSRQ_DB),
        "sinr_db": _fl(_str(answer, "Z5g_SINR"), n.SINR_DB),
        "pci": _dec(_str(answer, "nr5g_pci"), 0, 1007),
        "cell_id": n.hex_id(_str(answer, "nr5g_cell_id"), 9),
        "band": _band(_str(answer, "nr5g_action_band"), "n"),
        "arfcn": _dec(_str(answer, "nr5g_action_channel"), 0, 3279165),
    })


def map_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """One answer -> normalised cellular fields (unknown values absent)."""
    out: dict[str, Any] = {"backend": "goform"}
    nt = _str(answer, "network_type")
    rat = rat_of(nt)
    if rat is None and nt is not None and nt.upper().replace(" ", "_") in _NO_SERVICE:
        out["registration"] = "not_registered"
    out["rat"] = rat
    out.update(plmn_from(_str(answer, "rmcc"), _str(answer, "rmnc")))
    out["operator_name"] = n.text(_str(answer, "network_provider_fullname") or _str(answer, "network_provider"))

    lte = {
        "cell_id": n.hex_id(_str(answer, "cell_id"), 8),
        "pci": _dec(_str(answer, "lte_pci"), 0, 503),
        "rsrp_dbm": _dbm(_str(answer, "lte_rsrp"), n.RSRP_DBM),
        "rsrq_db": _fl(_str(answer, "lte_rsrq") or _str(answer, "detail_cell_rsrq"), n.RSRQ_DB),
        "sinr_db": _fl(_str(answer, "lte_snr") or _str(answer, "detail_cell_sinr"), n.SINR_DB),
        "rssi_dbm": _dbm(_str(answer, "lte_rssi") or _str(answer, "rssi") or _str(answer, "detail_cell_rssi"),
                         n.RSSI_DBM),
        "band": _band(_str(answer, "lte_band") or _str(answer, "lte_ca_pcell_band"), "B")
        or (_band(_str(answer, "wan_active_band"), "B") if "LTE" in (_str(answer, "wan_active_band") or "")
            else None),
        "earfcn": _dec(_str(answer, "wan_active_channel"), 0, 262143) if rat in ("lte", "nr5g-nsa") else None,
    }
    if lte["cell_id"] is None:  # ZXIC pocket routers: detail_cell_id, decimal
        lte["cell_id"] = _dec(_str(answer, "detail_cell_id"), 1, 2**28 - 2)
    if lte["pci"] is None:
        lte["pci"] = _dec(_str(answer, "detail_cell_pci"), 0, 503)
    nr = _nr(answer)
    if rat == "nr5g-sa":
        # SA: the main values are NR's (DESIGN.md); the LTE fields are stale or empty.
        out.update(rsrp_dbm=nr.get("rsrp_dbm"), rsrq_db=nr.get("rsrq_db"), sinr_db=nr.get("sinr_db"),
                   pci=nr.get("pci"), cell_id=nr.get("cell_id"), band=nr.get("band"), earfcn=nr.get("arfcn"))
    else:
        out.update(lte)
        if rat == "nr5g-nsa" and nr:
            out["nr"] = nr
    if rat in ("lte", "nr5g-nsa"):
        ca = _bands(_str(answer, "lte_ca_pcell_band"), "B") + _bands(_str(answer, "lte_ca_scell_band"), "B")
        if len(ca) >= 2:
            out["ca_bands"] = "+".join(ca)

    roam = (_str(answer, "simcard_roam") or "").lower()
    if rat is not None and roam in ("home", "internal", "international", "roaming"):
        out["registration"] = "home" if roam == "home" else "roaming"
    if _str(answer, "ppp_status") in ("ppp_connected", "ipv6_connected", "ipv4_ipv6_connected"):
        out["attached"] = True
    out["signal_bars"] = _dec(_str(answer, "signalbar"), 0, 5)
    out["apn"] = n.text(_str(answer, "wan_apn"))
    out["firmware"] = n.text(_str(answer, "cr_version"))
    out["imei"] = n.digits(_str(answer, "imei"), 14, 17)
    out["imsi"] = n.digits(_str(answer, "sim_imsi"), 6, 15)
    iccid = _str(answer, "ziccid")
    out["iccid"] = iccid.rstrip("Ff") if iccid and re.fullmatch(r"[0-9]{18,20}[Ff]?", iccid) else None
    msisdn = _str(answer, "msisdn")
    out["msisdn"] = msisdn if msisdn and re.fullmatch(r"\+?[0-9]{3,20}", msisdn) else None
    return n.with_roaming(n.clean(out))


def has_data(answer: dict[str, Any]) -> bool:
    """Did the firmware give any cellular data (it blanks everything when it wants a login)?"""
    return any(_str(answer, k) for k in DATA_FIELDS)


def wants_login(answer: dict[str, Any]) -> bool:
    """Not logged in, and the signal and cell fields blanked: a login would show them. (Many
    firmwares show the network type and bars before a login, and only those.)"""
    return answer.get("loginfo") != "ok" and not any(_str(answer, k) for k in SIGNAL_FIELDS)


# --- login generations ----------------------------------------------------------------------
# service.js of the stock WebUI: WEB_ATTR_IF_SUPPORT_SHA256 "2": SHA256(SHA256(pw) + LD),
# "1": SHA256(Base64(pw)), else Base64(pw); its SHA256 helper returns upper-case hex.


def _sha256_upper(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest().upper()


def encode_password(password: str, generation: str, ld: str = "") -> str:
    if generation == "ld-sha256":
        return _sha256_upper(_sha256_upper(password) + ld)
    b64 = base64.b64encode(password.encode("utf-8")).decode("ascii")
    if generation == "sha256-base64":
        return _sha256_upper(b64)
    return b64


def generation_from_config_js(text: str) -> str:
    """The login generation a firmware's js/config/config.js declares (no LD salt offered)."""
    m = re.search(r"WEB_ATTR_IF_SUPPORT_SHA256\s*[:=]\s*\"?([0-9])", text)
    if m and m.group(1) == "2":
        return "ld-sha256"
    if m and m.group(1) == "1":
        return "sha256-base64"
    return "base64"


LD_FORM = re.compile(r"[0-9A-Fa-f]{8,128}")
