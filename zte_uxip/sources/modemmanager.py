"""The ModemManager backend: `mmcli -J` (JSON) with argument lists, never a shell.

Why mmcli and not D-Bus directly: the agent stays free of a D-Bus library (RSS budget), and
mmcli's JSON is a documented, stable output. Every value is type-checked; mmcli writes "--"
for unknown, which maps to absent. Object paths read from the JSON go back to mmcli only as a
validated decimal index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

from ..errors import SourceError
from . import cellnorm as n

MMCLI_TIMEOUT_S = 5.0
MAX_OUTPUT_BYTES = 1024 * 1024
_PATH = re.compile(r"/org/freedesktop/ModemManager1/(Modem|SIM|Bearer)/([0-9]{1,6})")

REGISTRATION = {
    "home": "home", "roaming": "roaming", "searching": "searching", "denied": "denied",
    "unknown": "unknown", "idle": "not_registered", "home-sms-only": "home",
    "roaming-sms-only": "roaming", "emergency-only": "not_registered",
    "home-csfb-not-preferred": "home", "roaming-csfb-not-preferred": "roaming",
    "attached-rlos": "not_registered",
}
_GSM = {"gsm", "gsm-compact", "gprs", "edge"}
_UMTS = {"umts", "hsdpa", "hsupa", "hspa", "hspa-plus"}
_LTE = {"lte", "lte-cat-m", "lte-nb-iot"}


def available() -> bool:
    return shutil.which("mmcli") is not None


def running(proc: str = "/proc") -> bool:
    """Is a ModemManager process alive? `auto` asks this before calling mmcli, because mmcli
    on a bus where ModemManager is installed but stopped would D-Bus-activate it."""
    try:
        pids = [e for e in os.listdir(proc) if e.isdigit()]
    except OSError:
        return False
    for pid in pids:
        try:
            with open(f"{proc}/{pid}/comm", "rb") as fh:
                if fh.read(32).strip() == b"ModemManager":
                    return True
        except OSError:
            continue
    return False


def mmcli(*args: str) -> dict[str, Any]:
    """Run `mmcli ARGS -J` and return the parsed JSON object."""
    exe = shutil.which("mmcli")
    if exe is None:
        raise SourceError("mm: mmcli not installed")
    try:
        r = subprocess.run([exe, *args, "-J"], capture_output=True, timeout=MMCLI_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise SourceError(f"mm: mmcli {' '.join(args)}: no answer within {MMCLI_TIMEOUT_S:g} s") from None
    except OSError as e:
        raise SourceError(f"mm: mmcli: {e.strerror}") from None
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(f"mm: mmcli {' '.join(args)}: {(msg[-1] if msg else 'failed')[:160]}")
    return parse_json(r.stdout, " ".join(args))


def parse_json(data: bytes, what: str) -> dict[str, Any]:
    """Strict: UTF-8, one JSON object, bounded size."""
    if len(data) > MAX_OUTPUT_BYTES:
        raise SourceError(f"mm: mmcli {what}: output larger than {MAX_OUTPUT_BYTES} bytes")
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise SourceError(f"mm: mmcli {what}: not JSON ({str(e)[:60]})") from None
    if not isinstance(obj, dict):
        raise SourceError(f"mm: mmcli {what}: not a JSON object")
    return obj


def _get(obj: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def _str(obj: Any, *keys: str) -> str | None:
    v = _get(obj, *keys)
    if not isinstance(v, str) or v in ("--", ""):
        return None
    return v


def path_index(path: Any, kind: str) -> str | None:
    """'/org/freedesktop/ModemManager1/SIM/3' -> '3' (only for the expected object kind)."""
    if not isinstance(path, str):
        return None
    m = _PATH.fullmatch(path)
    return m.group(2) if m and m.group(1) == kind else None


def parse_modem_list(obj: dict[str, Any]) -> list[str]:
    paths = obj.get("modem-list")
    if not isinstance(paths, list):
        raise SourceError("mm: mmcli -L: no modem-list")
    return [i for i in (path_index(p, "Modem") for p in paths) if i is not None]


def rat_of(techs: Any) -> str | None:
    if not isinstance(techs, list) or not all(isinstance(t, str) for t in techs):
        return None
    s = set(techs)
    if "5gnr" in s:
        return "nr5g-nsa" if s & _LTE else "nr5g-sa"
    if s & _LTE:
        return "lte"
    if s & _UMTS:
        return "umts"
    if s & _GSM:
        return "gsm"
    return None


def parse_modem(obj: dict[str, Any]) -> dict[str, Any]:
    """`mmcli -m N -J` -> cellular fields."""
    m = obj.get("modem")
    if not isinstance(m, dict):
        raise SourceError("mm: mmcli -m: no modem object")
    g, p3 = m.get("generic"), m.get("3gpp")
    out: dict[str, Any] = {
        "manufacturer": n.text(_str(g, "manufacturer")),
        "model": n.text(_str(g, "model")),
        "firmware": n.text(_str(g, "revision")),
        "imei": n.digits(_str(p3, "imei") or _str(g, "equipment-identifier"), 14, 17),
        "rat": rat_of(_get(g, "access-technologies")),
        "operator_name": n.text(_str(p3, "operator-name")),
        "registration": REGISTRATION.get(_str(p3, "registration-state") or ""),
    }
    out.update(n.plmn_fields(_str(p3, "operator-code")))
    ps = _str(p3, "packet-service-state")
    if ps in ("attached", "detached"):
        out["attached"] = ps == "attached"
    nums = _get(g, "own-numbers")
    if isinstance(nums, list) and nums and isinstance(nums[0], str) and re.fullmatch(r"\+?[0-9]{3,20}", nums[0]):
        out["msisdn"] = nums[0]
    return n.with_roaming(n.clean(out))


def parse_sim(obj: dict[str, Any]) -> dict[str, Any]:
    props = _get(obj, "sim", "properties")
    if not isinstance(props, dict):
        raise SourceError("mm: mmcli -i: no sim properties")
    iccid = _str(props, "iccid")
    return n.clean({
        "imsi": n.digits(_str(props, "imsi"), 6, 15),
        "iccid": iccid.rstrip("Ff") if iccid and re.fullmatch(r"[0-9]{18,20}[Ff]?", iccid) else None,
    })


def parse_signal(obj: dict[str, Any]) -> dict[str, Any]:
    """`--signal-get`: the LTE block (values like "-96.00"), else 5G, UMTS, GSM RSSI."""
    sig = _get(obj, "modem", "signal")
    if not isinstance(sig, dict):
        raise SourceError("mm: mmcli --signal-get: no signal object")
    out: dict[str, Any] = {}
    for tech in ("lte", "5g"):
        b = sig.get(tech)
        rsrp = n.float_in(_str(b, "rsrp"), *n.RSRP_DBM)
        if rsrp is None:
            continue
        out["rsrp_dbm"] = round(rsrp)
        out["rsrq_db"] = n.float_in(_str(b, "rsrq"), *n.RSRQ_DB)
        out["sinr_db"] = n.float_in(_str(b, "snr"), *n.SINR_DB)
        rssi = n.float_in(_str(b, "rssi"), *n.RSSI_DBM)
        out["rssi_dbm"] = None if rssi is None else round(rssi)
        break
    if "rssi_dbm" not in out or out["rssi_dbm"] is None:
        for tech in ("umts", "gsm"):
            rssi = n.float_in(_str(sig.get(tech), "rssi"), *n.RSSI_DBM)
            if rssi is not None:
                out["rssi_dbm"] = round(rssi)
                break
    return n.clean(out)


def parse_location(obj: dict[str, Any]) -> dict[str, Any]:
    """`--location-get`: the 3GPP block (hex LAC/TAC/CID, as the network gives them)."""
    loc = _get(obj, "modem", "location", "3gpp")
    if not isinstance(loc, dict):
        return {}
    return n.clean({
        "lac": n.hex_id(_str(loc, "lac"), 4),
        "tac": n.hex_id(_str(loc, "tac"), 6),
        "cell_id": n.hex_id(_str(loc, "cid"), 9),
    })


def parse_bearer_apn(obj: dict[str, Any]) -> dict[str, Any]:
    b = obj.get("bearer")
    if not isinstance(b, dict):
        raise SourceError("mm: mmcli -b: no bearer object")
    apn = n.text(_str(b, "properties", "apn"))
    return {"apn": apn} if apn else {}


def first_modem() -> str | None:
    mods = parse_modem_list(mmcli("-L"))
    return mods[0] if mods else None


def query_mm(index: str | None) -> dict[str, Any]:
    """The modem's fields; optional parts (SIM, signal, location, bearer) cost only themselves."""
    if index is None:
        index = first_modem()
        if index is None:
            raise SourceError("mm: ModemManager knows no modem")
    if not index.isdigit():
        raise SourceError(f"mm: bad modem index {index!r}")
    raw = mmcli("-m", index)
    out = parse_modem(raw)
    g = _get(raw, "modem", "generic")
    sim = path_index(_get(g, "sim"), "SIM")
    parts: list[tuple[tuple[str, ...], Any]] = [
        (("-m", index, "--signal-get"), parse_signal),
        (("-m", index, "--location-get"), parse_location),
    ]
    if sim is not None:
        parts.insert(0, (("-i", sim), parse_sim))
    bearers = _get(g, "bearers")
    for b in bearers if isinstance(bearers, list) else []:
        bi = path_index(b, "Bearer")
        if bi is not None:
            parts.append((("-b", bi), parse_bearer_apn))
            break
    for args, parse in parts:
        try:
            for k, v in parse(mmcli(*args)).items():
                out.setdefault(k, v)
        except SourceError:
            continue  # e.g. location or signal not enabled: those fields stay absent
    out["backend"] = "mm"
    return out
