"""Pure parsers for AT command replies (no I/O, so they can be property-tested).

Each parser takes the information lines of one reply (final result code and echo already
removed) and returns normalised `cellular` fields. A reply that is present but malformed raises
SourceError with one line; a value that is absent, out of range or a 3GPP "unknown" code
(99, 255) is simply left out. References: 3GPP TS 27.007 (standard commands) and the vendors'
AT manuals (Quectel EC2x/RM5xx +QENG, Huawei ^HCSQ/^SYSINFOEX, ZTE +ZPAS/+ZCELLINFO/+ZRSSI,
Sierra !GSTATUS).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..errors import SourceError
from . import cellnorm as n

MAX_FIELDS = 48
Fields = dict[str, Any]


def payloads(lines: Iterable[str], prefix: str) -> list[str]:
    """The text after `PREFIX:` of every line that starts with it (case-insensitive)."""
    p = prefix.upper() + ":"
    return [ln[len(p):].strip() for ln in lines if ln.upper().startswith(p)]


def split_fields(payload: str, what: str) -> list[str]:
    """Comma-separated fields, commas inside double quotes kept. Quotes are kept on the field
    (see ``unq``) because some replies are told apart by whether a field is quoted."""
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in payload:
        if ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == "," and not quoted:
            out.append("".join(cur).strip())
            cur = []
            if len(out) >= MAX_FIELDS:
                raise SourceError(f"{what}: more than {MAX_FIELDS} fields")
        else:
            cur.append(ch)
    if quoted:
        raise SourceError(f"{what}: unterminated quoted string")
    out.append("".join(cur).strip())
    return out


def unq(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1]
    return field


def _int(field: str, what: str) -> int:
    v = n.int_in(unq(field), -(2**31), 2**31)
    if v is None:
        raise SourceError(f"{what}: {field[:20]!r} is not an integer")
    return v


def _one(lines: Iterable[str], prefix: str, what: str, min_fields: int) -> list[str] | None:
    """Fields of the last `PREFIX:` line, or None when the reply has none."""
    ps = payloads(lines, prefix)
    if not ps:
        return None
    f = split_fields(ps[-1], what)
    if len(f) < min_fields:
        raise SourceError(f"{what}: expected at least {min_fields} fields, got {len(f)}")
    return f


# --- 3GPP TS 27.007 -----------------------------------------------------------------------


def parse_cops(lines: list[str]) -> Fields:
    """+COPS: <mode>[,<format>,<oper>[,<AcT>]]. Format 2 is the numeric PLMN, 0 the long name."""
    f = _one(lines, "+COPS", "+COPS", 1)
    if f is None:
        return {}
    _int(f[0], "+COPS mode")
    out: Fields = {}
    if len(f) >= 3:
        fmt = _int(f[1], "+COPS format")
        oper = unq(f[2])
        if fmt == 2 and oper:
            plmn = n.plmn_fields(oper)
            if not plmn:
                raise SourceError(f"+COPS: {oper[:20]!r} is not a numeric PLMN")
            out.update(plmn)
        elif fmt in (0, 1):
            out["operator_name"] = n.text(oper)
    if len(f) >= 4 and unq(f[3]):
        out["rat"] = n.ACT_RAT.get(_int(f[3], "+COPS AcT"))
    return n.clean(out)


def parse_creg(lines: list[str], prefix: str) -> Fields:
    """+CREG/+CGREG/+CEREG/+C5GREG, query form `<n>,<stat>[,<lac|tac>,<ci>[,<AcT>...]]` or the
    unsolicited form `<stat>[,<lac|tac>,<ci>[,<AcT>]]` that may arrive in its place. The two are
    told apart by the second field: quoted (a location) or absent means unsolicited."""
    ps = payloads(lines, prefix)
    if not ps:
        return {}
    what = prefix
    f = split_fields(ps[-1], what)
    if len(f) >= 2 and not f[1].startswith('"') and f[1] != "":
        f = f[1:]  # drop <n>
    stat = _int(f[0], f"{what} stat")
    out: Fields = {"registration": n.STAT_REGISTRATION.get(stat)}
    if out["registration"] is None:
        raise SourceError(f"{what}: unknown <stat> {stat}")
    if len(f) >= 4 and unq(f[3]):
        out["rat"] = n.ACT_RAT.get(_int(f[3], f"{what} AcT"))
    if len(f) >= 3:
        # +CREG/+CGREG <lac> is a LAC on GERAN/UTRAN but the TAC when <AcT> is E-UTRAN or NR
        # (TS 27.007); +CEREG/+C5GREG always give a TAC.
        is_tac = prefix in ("+CEREG", "+C5GREG") or out.get("rat") in ("lte", "nr5g-nsa", "nr5g-sa")
        out["tac" if is_tac else "lac"] = n.hex_id(unq(f[1]), 6)
        out["cell_id"] = n.hex_id(unq(f[2]), 9)
    return n.clean(out)


def parse_csq(lines: list[str]) -> Fields:
    """+CSQ: <rssi>,<ber>; rssi 0..31 -> -113 + 2n dBm, 99 unknown."""
    f = _one(lines, "+CSQ", "+CSQ", 2)
    if f is None:
        return {}
    v = _int(f[0], "+CSQ rssi")
    return {"rssi_dbm": -113 + 2 * v} if 0 <= v <= 31 else {}


def parse_cesq(lines: list[str]) -> Fields:
    """+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>. RSRQ n (0..34) -> n/2 - 20 dB,
    RSRP n (0..97) -> n - 141 dBm (the lower edge of each 3GPP interval), 255 unknown."""
    f = _one(lines, "+CESQ", "+CESQ", 6)
    if f is None:
        return {}
    rsrq, rsrp = _int(f[4], "+CESQ rsrq"), _int(f[5], "+CESQ rsrp")
    out: Fields = {}
    if 0 <= rsrq <= 34:
        out["rsrq_db"] = rsrq / 2 - 20
    if 0 <= rsrp <= 97:
        out["rsrp_dbm"] = rsrp - 141
    return out


def parse_cgdcont(lines: list[str]) -> dict[int, str]:
    """+CGDCONT: <cid>,<PDP_type>,<APN>,... -> {cid: apn} for contexts with an APN."""
    out: dict[int, str] = {}
    for p in payloads(lines, "+CGDCONT"):
        f = split_fields(p, "+CGDCONT")
        if len(f) < 3:
            raise SourceError(f"+CGDCONT: expected at least 3 fields, got {len(f)}")
        apn = n.text(unq(f[2]))
        if apn:
            out[_int(f[0], "+CGDCONT cid")] = apn
    return out


def parse_cgact(lines: list[str]) -> list[int]:
    """+CGACT: <cid>,<state> lines -> the active cids."""
    active = []
    for p in payloads(lines, "+CGACT"):
        f = split_fields(p, "+CGACT")
        if len(f) < 2:
            raise SourceError("+CGACT: expected 2 fields")
        if _int(f[1], "+CGACT state") == 1:
            active.append(_int(f[0], "+CGACT cid"))
    return active


def choose_apn(apns: dict[int, str], active: list[int]) -> Fields:
    """The APN of the first active context, else of the lowest-numbered defined one."""
    for cid in active:
        if cid in apns:
            return {"apn": apns[cid]}
    return {"apn": apns[min(apns)]} if apns else {}


def parse_cgatt(lines: list[str]) -> Fields:
    f = _one(lines, "+CGATT", "+CGATT", 1)
    if f is None:
        return {}
    v = _int(f[0], "+CGATT")
    return {"attached": v == 1} if v in (0, 1) else {}


# Unsolicited result codes without a prefix: never mistaken for a bare reply (model, IMEI).
BARE_URCS = frozenset({"RING", "RDY", "CALL READY", "SMS READY", "PB DONE", "NORMAL POWER DOWN",
                       "POWERED DOWN", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE"})


def _bare(lines: list[str], prefixes: tuple[str, ...]) -> str | None:
    """A reply that is a bare value (`860000000000001`) or `PREFIX: value`."""
    for ln in lines:
        for p in prefixes:
            if ln.upper().startswith(p.upper() + ":"):
                return unq(ln[len(p) + 1:].strip())
    for ln in lines:
        if ln and ln[0] not in "+^!$#*" and ln.upper() not in BARE_URCS:
            return unq(ln.strip())
    return None


def parse_imei(lines: list[str]) -> Fields:
    """+CGSN -> IMEI (15 digits) or IMEISV (16)."""
    v = _bare(lines, ("+CGSN",))
    if v is None:
        return {}
    imei = n.digits(v, 14, 17)
    if imei is None:
        raise SourceError("+CGSN: not an IMEI")
    return {"imei": imei}


def parse_imsi(lines: list[str]) -> Fields:
    v = _bare(lines, ("+CIMI",))
    if v is None:
        return {}
    imsi = n.digits(v, 6, 15)
    if imsi is None:
        raise SourceError("+CIMI: not an IMSI")
    return {"imsi": imsi}


_ICCID = re.compile(r"[0-9]{18,20}[0-9Ff]?")


def parse_iccid(lines: list[str]) -> Fields:
    """+CCID / +ICCID / +QCCID: the ICCID in reading order (some pad with F). Huawei's ^ICCID
    is nibble-swapped like EF_ICCID, so it is not accepted here."""
    v = _bare(lines, ("+CCID", "+ICCID", "+QCCID"))
    if v is None:
        return {}
    if not _ICCID.fullmatch(v):
        raise SourceError("+CCID: not an ICCID")
    return {"iccid": v.rstrip("Ff")}


def parse_crsm_iccid(lines: list[str]) -> Fields:
    """+CRSM: <sw1>,<sw2>,"<EF_ICCID hex>" (AT+CRSM=176,12258,0,0,10). EF_ICCID stores the
    digits BCD with the nibbles of each byte swapped (TS 102.221): '981032...' -> '890123...'."""
    f = _one(lines, "+CRSM", "+CRSM", 3)
    if f is None:
        return {}
    sw1, sw2 = _int(f[0], "+CRSM sw1"), _int(f[1], "+CRSM sw2")
    if (sw1, sw2) != (144, 0):
        raise SourceError(f"+CRSM: SIM status {sw1},{sw2}")
    raw = unq(f[2])
    if not re.fullmatch(r"[0-9A-Fa-f]{18,20}", raw) or len(raw) % 2:
        raise SourceError("+CRSM: EF_ICCID is not BCD")
    swapped = "".join(raw[i + 1] + raw[i] for i in range(0, len(raw), 2)).rstrip("Ff")
    if not re.fullmatch(r"[0-9]{18,20}", swapped):
        raise SourceError("+CRSM: EF_ICCID is not BCD")
    return {"iccid": swapped}


def parse_cnum(lines: list[str]) -> Fields:
    """+CNUM: [<alpha>],<number>,<type>: the first number (the SIM may hold none)."""
    f = _one(lines, "+CNUM", "+CNUM", 3)
    if f is None:
        return {}
    num = unq(f[1])
    if not re.fullmatch(r"\+?[0-9]{3,20}", num):
        return {}
    return {"msisdn": num}


def parse_ident(lines: list[str], prefix: str) -> str | None:
    """+CGMI / +CGMM / +CGMR: bare text or `PREFIX: text`, e.g. 'Quectel', 'EC25'."""
    v = _bare(lines, (prefix,))
    if v and v.upper().startswith("REVISION:"):
        v = v[9:].strip()
    return n.text(v)


# --- Quectel ------------------------------------------------------------------------------

_QUECTEL_RAT = {"GSM": "gsm", "WCDMA": "umts", "LTE": "lte", "NR5G-SA": "nr5g-sa"}


def _q_lte(f: list[str]) -> Fields:
    """is_tdd,MCC,MNC,cellID,PCID,earfcn,band,UL_bw,DL_bw,TAC,RSRP,RSRQ,RSSI,SINR,..."""
    if len(f) < 14:
        raise SourceError(f"+QENG LTE: expected at least 14 fields, got {len(f)}")
    out: Fields = n.mcc_mnc(unq(f[1]), unq(f[2]))
    out.update(
        cell_id=n.hex_id(unq(f[3]), 8),
        pci=n.int_in(f[4], 0, 503),
        earfcn=n.int_in(f[5], 0, 262143),
        band=_band("B", f[6]),
        tac=n.hex_id(unq(f[9]), 4),
        rsrp_dbm=n.int_in(f[10], *n.RSRP_DBM),
        rsrq_db=n.float_in(f[11], *n.RSRQ_DB),
        rssi_dbm=n.int_in(f[12], *n.RSSI_DBM),
    )
    # EC2x manual: SINR in 1/5 dB steps, 0..250 -> -20..+30 dB.
    sinr = n.int_in(f[13], 0, 250)
    out["sinr_db"] = None if sinr is None else round(sinr / 5 - 20, 1)
    return out


def _band(prefix: str, field: str) -> str | None:
    b = n.int_in(unq(field), 1, 512)
    return None if b is None else f"{prefix}{b}"


def parse_qeng(lines: list[str]) -> Fields:
    """AT+QENG="servingcell": one line for GSM/WCDMA/LTE/NR5G-SA, or a `"servingcell",<state>`
    line followed by `"LTE",...` and `"NR5G-NSA",...` lines in EN-DC (NSA) mode."""
    ps = payloads(lines, "+QENG")
    if not ps:
        return {}
    out: Fields = {}
    for p in ps:
        f = split_fields(p, "+QENG")
        kind = unq(f[0]).upper()
        if kind == "SERVINGCELL":
            if len(f) < 2:
                raise SourceError("+QENG: servingcell without a state")
            if len(f) < 3:
                continue  # NSA header: the cells follow on their own lines
            rat = unq(f[2]).upper()
            rest = f[3:]
            out["rat"] = _QUECTEL_RAT.get(rat)
            if rat in ("GSM", "WCDMA") and len(rest) >= 4:
                # MCC,MNC,LAC,cellID,... (the rest differs between the two)
                out.update(n.mcc_mnc(unq(rest[0]), unq(rest[1])))
                out.update(lac=n.hex_id(unq(rest[2]), 4), cell_id=n.hex_id(unq(rest[3]), 8))
            elif rat == "LTE":
                out.update(_q_lte(rest))
            elif rat == "NR5G-SA":
                # duplex,MCC,MNC,cellID,PCID,TAC,ARFCN,band,NR_DL_bw,RSRP,RSRQ,SINR,...
                if len(rest) < 12:
                    raise SourceError("+QENG NR5G-SA: too few fields")
                out.update(n.mcc_mnc(unq(rest[1]), unq(rest[2])))
                out.update(cell_id=n.hex_id(unq(rest[3]), 9), pci=n.int_in(rest[4], 0, 1007),
                           tac=n.hex_id(unq(rest[5]), 6), earfcn=n.int_in(rest[6], 0, 3279165),
                           band=_band("n", rest[7]), rsrp_dbm=n.int_in(rest[9], *n.RSRP_DBM),
                           rsrq_db=n.float_in(rest[10], *n.RSRQ_DB), sinr_db=n.float_in(rest[11], *n.SINR_DB))
        elif kind == "LTE":
            out.update(_q_lte(f[1:]))
            out.setdefault("rat", "lte")
        elif kind == "NR5G-NSA":
            out["rat"] = "nr5g-nsa"
    return n.clean(out)


# --- Huawei -------------------------------------------------------------------------------


def parse_hcsq(lines: list[str]) -> Fields:
    """^HCSQ: "LTE",<rssi>,<rsrp>,<sinr>,<rsrq> (Huawei AT manual: rssi n -> -121+n dBm,
    rsrp n -> -141+n dBm, sinr n -> -20.2+0.2n dB, rsrq n -> -20+0.5n dB; 255 unknown).
    "WCDMA"/"GSM" carry only rssi here; "NOSERVICE" carries nothing."""
    f = _one(lines, "^HCSQ", "^HCSQ", 1)
    if f is None:
        return {}
    mode = unq(f[0]).upper()
    vals = [_int(x, "^HCSQ") for x in f[1:]]
    out: Fields = {}
    if mode in ("GSM", "WCDMA", "LTE") and vals and 1 <= vals[0] <= 96:
        out["rssi_dbm"] = -121 + vals[0]
    if mode == "LTE":
        if len(vals) < 4:
            raise SourceError("^HCSQ LTE: expected 4 values")
        rsrp, sinr, rsrq = vals[1:4]
        out["rsrp_dbm"] = -141 + rsrp if 1 <= rsrp <= 97 else None
        out["sinr_db"] = round(-20.2 + 0.2 * sinr, 1) if 1 <= sinr <= 251 else None
        out["rsrq_db"] = -20 + 0.5 * rsrq if 1 <= rsrq <= 34 else None
    return n.clean(out)


_HUAWEI_RAT = {"GSM": "gsm", "GPRS": "gsm", "EDGE": "gsm", "WCDMA": "umts", "HSPA": "umts",
               "HSPA+": "umts", "HSDPA": "umts", "HSUPA": "umts", "TD-SCDMA": "umts", "LTE": "lte",
               "NR": "nr5g-sa", "EN-DC": "nr5g-nsa"}


def parse_sysinfoex(lines: list[str]) -> Fields:
    """^SYSINFOEX: <srv_status>,<srv_domain>,<roam_status>,<sim_state>,<lock_state>,<sysmode>,
    <sysmode_name>,<submode>,<submode_name>: service, roaming and the RAT by name."""
    f = _one(lines, "^SYSINFOEX", "^SYSINFOEX", 7)
    if f is None:
        return {}
    srv, roam = _int(f[0], "^SYSINFOEX srv_status"), _int(f[2], "^SYSINFOEX roam_status")
    out: Fields = {}
    if srv == 2:
        out["registration"] = "roaming" if roam == 1 else "home"
    elif srv == 0:
        out["registration"] = "not_registered"
    sub = unq(f[8]).upper() if len(f) >= 9 else ""
    out["rat"] = _HUAWEI_RAT.get(sub) or _HUAWEI_RAT.get(unq(f[6]).upper())
    return n.with_roaming(n.clean(out))


# --- ZTE ----------------------------------------------------------------------------------
# Forms from ModemManager's zte plugin (+ZPAS) and luci-app-3ginfo-lite's scripts for the 19d2
# devices (+ZRSSI, +ZCELLINFO, +ZCAINFO); see tests/fixtures/at/README.md.

_ZTE_RAT = {"GSM": "gsm", "GPRS": "gsm", "EDGE": "gsm", "GPRS/EDGE": "gsm", "UMTS": "umts", "WCDMA": "umts",
            "HSDPA": "umts", "HSUPA": "umts", "HSPA+": "umts", "HSPA": "umts", "HSDPA/HSUPA": "umts",
            "DC-HSPA+": "umts", "TD-SCDMA": "umts", "LTE": "lte", "LTE-A": "lte", "LTE CA": "lte",
            "ENDC": "nr5g-nsa", "EN-DC": "nr5g-nsa", "NR5G-NSA": "nr5g-nsa", "NR5G": "nr5g-sa",
            "NR5G-SA": "nr5g-sa", "NR": "nr5g-sa"}


def parse_zpas(lines: list[str]) -> Fields:
    """+ZPAS: "LTE","PS_ONLY" / "GPRS/EDGE","CS_ONLY" -> rat ('No Service', 'Limited Service' -> nothing)."""
    f = _one(lines, "+ZPAS", "+ZPAS", 1)
    if f is None:
        return {}
    return n.clean({"rat": _ZTE_RAT.get(unq(f[0]).strip().upper())})


def parse_zcellinfo(lines: list[str]) -> Fields:
    """+ZCELLINFO: <cell id>, <PCI>, LTE B<band>, <EARFCN> in LTE; <LAC>, <cell id>, <RAT text>,
    <channel> in 2G/3G. Decimal numbers, so the cell id equals +CEREG's hex one once parsed."""
    f = _one(lines, "+ZCELLINFO", "+ZCELLINFO", 4)
    if f is None:
        return {}
    kind = unq(f[2]).strip().upper()
    m = re.fullmatch(r"LTE B([0-9]{1,3})", kind)
    if m:
        return n.clean({
            "cell_id": n.int_in(f[0], 1, 2**28 - 2),
            "pci": n.int_in(f[1], 0, 503),
            "band": f"B{int(m.group(1))}",
            "earfcn": n.int_in(f[3], 0, 262143),
        })
    if re.match(r"(UMTS|WCDMA|GSM|DCS|PCS|EGSM|TD-SCDMA)\b", kind):
        return n.clean({"lac": n.int_in(f[0], 1, 0xFFFE), "cell_id": n.int_in(f[1], 1, 0xFFFFFFE)})
    return {}


def _zrssi_lte(vals: list[float]) -> Fields | None:
    """RSRP, RSRQ, RSSI, SINR when the values fit those ranges (signed, or magnitudes)."""
    rsrp, rsrq, rssi, sinr = vals[:4]
    if not (44 <= abs(rsrp) <= 156 and 0 <= abs(rsrq) <= 43 and 20 <= abs(rssi) <= 120):
        return None
    magnitudes = rsrp > 0  # some firmwares drop the signs: then RSRQ is a magnitude too
    return n.clean({
        "rsrp_dbm": n.int_in(-int(round(abs(rsrp))), *n.RSRP_DBM),
        "rsrq_db": n.float_in(-abs(rsrq) if magnitudes else rsrq, *n.RSRQ_DB),
        "rssi_dbm": n.int_in(int(round(-abs(rssi))), *n.RSSI_DBM),
        "sinr_db": n.float_in(sinr, *n.SINR_DB),
    })


def parse_zrssi(lines: list[str]) -> Fields:
    """+ZRSSI in its two forms, told apart by field count and value ranges, not by model:
    3G `<rssi>,<ecio>,<rscp>` (magnitudes: 71 -> -71 dBm; Ec/Io and RSCP have no field here), and
    LTE `<rsrp>,<rsrq>,<rssi>,<sinr>` (-97,-11.5,-66,9.4: fractional RSRQ and SINR)."""
    f = _one(lines, "+ZRSSI", "+ZRSSI", 1)
    if f is None:
        return {}
    vals: list[float] = []
    for x in f:
        v = n.float_in(unq(x), -100000.0, 100000.0)
        if v is None:
            raise SourceError(f"+ZRSSI: {x[:20]!r} is not a number")
        vals.append(v)
    if len(vals) >= 4:
        lte = _zrssi_lte(vals)
        if lte is not None:
            return lte
    rssi = abs(vals[0])
    return {"rssi_dbm": -int(round(rssi))} if 20 <= rssi <= 120 else {}


def parse_zcainfo(lines: list[str]) -> Fields:
    """+ZCAINFO: <PCI>,<band>,<TAC>,<EARFCN>,<bw MHz>[;<PCI>,-,<band>,<EARFCN>,<bw>]... : the
    primary cell (TAC decimal) and the aggregated bands. 0 means none; an empty reply is no CA."""
    ps = payloads(lines, "+ZCAINFO")
    if not ps:
        return {}
    f = split_fields(ps[-1].replace(";", ","), "+ZCAINFO")
    if len(f) < 5:
        raise SourceError(f"+ZCAINFO: expected at least 5 fields, got {len(f)}")
    band = n.int_in(f[1], 1, 512)
    if band is None:
        return {}  # no primary cell (all 0)
    out: Fields = {
        "pci": n.int_in(f[0], 0, 503),
        "band": f"B{band}",
        "tac": n.int_in(f[2], 1, 0xFFFFFE),
        "earfcn": n.int_in(f[3], 1, 262143),
    }
    bands = [f"B{band}"]
    for i in range(5, len(f) - 4, 5):
        sb = n.int_in(f[i + 2], 1, 512)
        if sb:
            bands.append(f"B{sb}")
    if len(bands) >= 2:
        out["ca_bands"] = "+".join(bands)
    return n.clean(out)


# --- Sierra -------------------------------------------------------------------------------

_GSTATUS_PAIR = re.compile(r"([A-Za-z][A-Za-z0-9 ()/]*?):\s+(\S+(?: \S+)*?)(?=\t|\s{2,}|$)")
_SIERRA_RAT = {"GSM": "gsm", "WCDMA": "umts", "HSPA": "umts", "LTE": "lte", "NR5G": "nr5g-sa",
               "ENDC": "nr5g-nsa", "EN-DC": "nr5g-nsa"}


def gstatus_pairs(lines: list[str]) -> dict[str, str]:
    """!GSTATUS replies are a table of `Label: value` pairs, two per line, tab-separated.
    The first occurrence of a label wins (the PCC RxM antenna before RxD)."""
    pairs: dict[str, str] = {}
    for ln in lines:
        if ln.upper().startswith("!GSTATUS:"):
            ln = ln[9:]
        for m in _GSTATUS_PAIR.finditer(ln):
            pairs.setdefault(m.group(1).strip(), m.group(2).strip())
    return pairs


def parse_gstatus(lines: list[str]) -> Fields:
    if not any(ln.upper().startswith("!GSTATUS") for ln in lines):
        return {}
    kv = gstatus_pairs(lines)
    if not kv:
        raise SourceError("!GSTATUS: no `label: value` pairs")
    out: Fields = {"rat": _SIERRA_RAT.get(kv.get("System mode", "").upper())}
    ps = kv.get("PS state", "").lower()
    if ps in ("attached", "detached"):
        out["attached"] = ps == "attached"
    band = re.fullmatch(r"B([0-9]{1,3})", kv.get("LTE band", ""))
    out["band"] = f"B{int(band.group(1))}" if band else None
    out["earfcn"] = n.int_in(kv.get("LTE Rx chan"), 0, 262143)
    out["rsrp_dbm"] = n.int_in(kv.get("RSRP (dBm)"), *n.RSRP_DBM)
    out["rsrq_db"] = n.float_in(kv.get("RSRQ (dB)"), *n.RSRQ_DB)
    out["sinr_db"] = n.float_in(kv.get("SINR (dB)"), *n.SINR_DB)
    out["rssi_dbm"] = n.int_in(kv.get("PCC RxM RSSI"), *n.RSSI_DBM)
    tac = kv.get("TAC", "").split(" ")[0]
    out["tac"] = n.hex_id(tac, 4) if tac else None
    cid = kv.get("Cell ID", "").split(" ")[0]
    out["cell_id"] = n.hex_id(cid, 8) if cid else None
    return n.clean(out)
