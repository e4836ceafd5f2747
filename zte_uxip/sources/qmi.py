"""The QMI backend: `qmicli` on a cdc-wdm control device, argument lists only, text output parsed.

Why qmicli and not our own QMUX client: libqmi tracks every firmware's quirks and the agent
stays small; the price is one short-lived process per query (12 per sample). Each run is
time-boxed; a device that does not answer the first request ends the query at once. qmicli's
output is `Label: 'value'` lines nested by tabs; `parse_qmicli` turns them into a flat
{"Section/Label": value} map, and the field parsers read only labels they know.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

from ..errors import SourceError
from . import cellnorm as n
from .devnode import check_char_device

QMICLI_TIMEOUT_S = 4.0
QUERY_BUDGET_S = 12.0
MAX_OUTPUT_BYTES = 64 * 1024
MAX_LINES = 512
_LINE = re.compile(r"(\t*)\s*([^:'\t][^:']{0,80}?):\s*(?:'([^']{0,256})'.*)?$")
_TITLE = re.compile(r"([A-Za-z0-9][^:']{0,80})$")  # a section title without a colon

Kv = dict[str, str]


def available() -> bool:
    return shutil.which("qmicli") is not None


def parse_qmicli(text: str) -> Kv:
    """`\\tCurrent PLMN:\\n\\t\\tMCC: '262'` -> {"Current PLMN/MCC": "262"}. Headers without a
    value open a section; the `[/dev/...]` status line and unknown shapes are skipped."""
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise SourceError(f"qmicli: more than {MAX_LINES} lines of output")
    out: Kv = {}
    stack: list[tuple[int, str]] = []
    for raw in lines:
        if not raw.strip() or raw.startswith("["):  # the `[/dev/cdc-wdm0] Successfully ...` line
            continue
        m = _LINE.match(raw)
        if m is not None:
            depth, name, value = len(m.group(1)), m.group(2).strip(), m.group(3)
        elif _TITLE.fullmatch(raw):  # "Intrafrequency LTE Info"
            depth, name, value = 0, raw.strip(), None
        else:
            continue
        while stack and stack[-1][0] >= depth:
            stack.pop()
        key = "/".join([s for _, s in stack] + [name])
        if value is not None:
            out.setdefault(key, value)
        stack.append((depth, name))
    return out


def _num(value: str | None) -> str | None:
    """"-64 dBm" -> "-64"; "4.8 dB" -> "4.8"."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*([+-]?[0-9]{1,6}(?:\.[0-9]{1,3})?)\s*(?:dBm|dB)?\s*", value)
    return m.group(1) if m else None


_REG = {"not-registered": "not_registered", "not-registered-searching": "searching",
        "registration-denied": "denied", "unknown": "unknown"}


def parse_serving_system(kv: Kv) -> dict[str, Any]:
    """--nas-get-serving-system."""
    reg = kv.get("Registration state")
    if reg is None:
        raise SourceError("qmicli --nas-get-serving-system: no registration state")
    out: dict[str, Any] = {}
    if reg == "registered":
        roam = kv.get("Roaming status")
        out["registration"] = {"off": "home", None: None}.get(roam, "roaming")
    else:
        out["registration"] = _REG.get(reg)
    ps = kv.get("PS")
    if ps in ("attached", "detached"):
        out["attached"] = ps == "attached"
    radios = {v for k, v in kv.items() if k.startswith("Radio interfaces/[")}
    if "5gnr" in radios:
        out["rat"] = "nr5g-nsa" if "lte" in radios else "nr5g-sa"
    else:
        out["rat"] = next((r for r, name in (("lte", "lte"), ("umts", "umts"), ("gsm", "gsm")) if name in radios),
                          None)
    mcc = n.int_in(kv.get("Current PLMN/MCC"), 1, 999)
    mnc = n.int_in(kv.get("Current PLMN/MNC"), 0, 999)
    if mcc is not None and mnc is not None:
        pcs = kv.get("Full operator code info/MNC with PCS digit")
        width = 3 if pcs == "yes" or mnc > 99 else 2
        out.update(n.mcc_mnc(f"{mcc:03d}", f"{mnc:0{width}d}"))
    out["operator_name"] = n.text(kv.get("Current PLMN/Description"))
    out["lac"] = n.int_in(kv.get("3GPP location area code"), 1, 0xFFFD)
    out["cell_id"] = n.int_in(kv.get("3GPP cell ID"), 1, 0xFFFFFFFE)
    out["tac"] = n.int_in(kv.get("LTE tracking area code"), 1, 0xFFFD)
    return n.with_roaming(n.clean(out))


def parse_signal_info(kv: Kv) -> dict[str, Any]:
    """--nas-get-signal-info: the LTE block, else 5G, else WCDMA/GSM RSSI."""
    out: dict[str, Any] = {}
    for sec in ("LTE", "5G"):
        rsrp = n.int_in(_num(kv.get(f"{sec}/RSRP")), *n.RSRP_DBM)
        if rsrp is None:
            continue
        out.update(rsrp_dbm=rsrp, rsrq_db=n.float_in(_num(kv.get(f"{sec}/RSRQ")), *n.RSRQ_DB),
                   sinr_db=n.float_in(_num(kv.get(f"{sec}/SNR")), *n.SINR_DB),
                   rssi_dbm=n.int_in(_num(kv.get(f"{sec}/RSSI")), *n.RSSI_DBM))
        break
    if out.get("rssi_dbm") is None:
        for sec in ("WCDMA", "GSM"):
            rssi = n.int_in(_num(kv.get(f"{sec}/RSSI")), *n.RSSI_DBM)
            if rssi is not None:
                out["rssi_dbm"] = rssi
                break
    return n.clean(out)


def parse_rf_band(kv: Kv) -> dict[str, Any]:
    """--nas-get-rf-band-info: 'eutran-3' -> B3, 'nr5g-band-78' -> n78, channel -> EARFCN."""
    band = kv.get("Band Information/Active Band Class", "")
    m = re.fullmatch(r"eutran-([0-9]{1,3})", band) or re.fullmatch(r"nr5g-band-([0-9]{1,3})", band)
    out: dict[str, Any] = {}
    if m:
        out["band"] = ("B" if band.startswith("eutran") else "n") + str(int(m.group(1)))
        out["earfcn"] = n.int_in(kv.get("Band Information/Active Channel"), 0, 3279165)
    return n.clean(out)


def parse_cell_location(kv: Kv) -> dict[str, Any]:
    """--nas-get-cell-location-info: the LTE serving cell's PCI ("Serving Cell ID") and EARFCN."""
    sec = "Intrafrequency LTE Info"
    return n.clean({
        "pci": n.int_in(kv.get(f"{sec}/Serving Cell ID"), 0, 503),
        "earfcn": n.int_in(kv.get(f"{sec}/EUTRA Absolute RF Channel Number"), 0, 262143),
    })


def _one(label: str, name: str, check: Callable[[str | None], Any]) -> Callable[[Kv], dict[str, Any]]:
    """One labelled value, at top level or under a title line ("Default settings retrieved:")."""
    def parse(kv: Kv) -> dict[str, Any]:
        raw = kv.get(label)
        if raw is None:
            raw = next((v for k, v in kv.items() if k.count("/") == 1 and k.endswith("/" + label)), None)
        v = check(raw)
        return {name: v} if v else {}

    return parse


def _ids(kv: Kv) -> dict[str, Any]:
    return n.clean({"imei": n.digits(kv.get("IMEI"), 14, 17)})


def _iccid(value: str | None) -> str | None:
    return value.rstrip("Ff") if value and re.fullmatch(r"[0-9]{18,20}[Ff]?", value) else None


def _msisdn(value: str | None) -> str | None:
    return value if value and re.fullmatch(r"\+?[0-9]{3,20}", value) else None


QUERIES: tuple[tuple[str, Callable[[Kv], dict[str, Any]]], ...] = (
    ("--nas-get-serving-system", parse_serving_system),
    ("--nas-get-signal-info", parse_signal_info),
    ("--nas-get-rf-band-info", parse_rf_band),
    ("--nas-get-cell-location-info", parse_cell_location),
    ("--wds-get-default-settings=3gpp", _one("APN", "apn", n.text)),
    ("--dms-get-manufacturer", _one("Manufacturer", "manufacturer", n.text)),
    ("--dms-get-model", _one("Model", "model", n.text)),
    ("--dms-get-revision", _one("Revision", "firmware", n.text)),
    ("--dms-get-ids", _ids),
    ("--dms-uim-get-imsi", _one("IMSI", "imsi", lambda v: n.digits(v, 6, 15))),
    ("--dms-uim-get-iccid", _one("ICCID", "iccid", _iccid)),
    ("--dms-get-msisdn", _one("MSISDN", "msisdn", _msisdn)),
)


class _Silent(SourceError):
    pass


def _check_device(device: str) -> None:
    if not device.startswith("/dev/"):
        raise SourceError(f"qmi:{device}: not a /dev path")
    check_char_device("qmi", device)


def qmicli(device: str, action: str, timeout_s: float = QMICLI_TIMEOUT_S) -> Kv:
    exe = shutil.which("qmicli")
    if exe is None:
        raise SourceError("qmi: qmicli not installed")
    try:
        r = subprocess.run([exe, "-d", device, "--device-open-qmi", action], capture_output=True,
                           timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise _Silent(f"qmi:{device}: {action}: no answer within {timeout_s:g} s") from None
    except OSError as e:
        raise SourceError(f"qmi: qmicli: {e.strerror}") from None
    if len(r.stdout) > MAX_OUTPUT_BYTES:
        raise SourceError(f"qmi:{device}: {action}: output larger than {MAX_OUTPUT_BYTES} bytes")
    if r.returncode != 0:
        err = [ln for ln in r.stderr.decode("utf-8", "replace").splitlines() if ln.startswith("error:")]
        raise SourceError(f"qmi:{device}: {action}: {(err[-1] if err else 'failed')[:160]}")
    return parse_qmicli(r.stdout.decode("utf-8", "replace"))


def responds(device: str) -> bool:
    """For `auto`: does a QMI modem answer on this control device?"""
    try:
        _check_device(device)
        return bool(qmicli(device, "--dms-get-manufacturer", 2.0))
    except SourceError:
        return False


def query_qmi(device: str, budget_s: float = QUERY_BUDGET_S) -> dict[str, Any]:
    """All fields qmicli can give; a failing request costs only its fields, a silent device or
    one that fails every request is one SourceError."""
    _check_device(device)
    deadline = time.monotonic() + budget_s
    out: dict[str, Any] = {}
    errors: list[str] = []
    for action, parse in QUERIES:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            fields = parse(qmicli(device, action, min(QMICLI_TIMEOUT_S, left)))
        except _Silent:
            if not out:
                raise
            break
        except SourceError as e:
            errors.append(str(e))
            continue
        for k, v in fields.items():
            out.setdefault(k, v)
    if not out:
        raise SourceError(errors[0] if errors else f"qmi:{device}: no answer")
    out["backend"] = "qmi"
    return out
