"""AT reply parsers: exact values from the 27.007 and vendor manual formats, and hostile input
(any text, binary-ish noise, wrong types, oversized fields) -> normalised fields or one SourceError."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zte_uxip.errors import SourceError
from zte_uxip.sources import at_parse as p
from zte_uxip.sources import cellnorm
from zte_uxip.wire.schema import CELLULAR, Kind

FIELDS = {f.name: f for f in CELLULAR.children}


def assert_schema_values(out: dict) -> None:
    """Every field a parser returns is a schema field with a value of the schema's type."""
    for k, v in out.items():
        f = FIELDS[k]
        if f.kind is Kind.UINT:
            assert isinstance(v, int) and not isinstance(v, bool) and v >= 0, (k, v)
        elif f.kind is Kind.INT:
            assert isinstance(v, int) and not isinstance(v, bool), (k, v)
        elif f.kind is Kind.FIXED:
            assert isinstance(v, int | float) and not isinstance(v, bool), (k, v)
        elif f.kind is Kind.BOOL:
            assert isinstance(v, bool), (k, v)
        else:
            assert isinstance(v, str) and v and len(v) <= 64, (k, v)
    if "rat" in out:
        assert out["rat"] in cellnorm.RATS
    if "registration" in out:
        assert out["registration"] in cellnorm.REGISTRATIONS


# --- exact values ---------------------------------------------------------------------------


def test_cops_numeric_and_name():
    assert p.parse_cops(['+COPS: 0,2,"310260",7']) == {"plmn": "310260", "mcc": "310", "mnc": "260", "rat": "lte"}
    assert p.parse_cops(['+COPS: 0,2,"26201",13']) == {"plmn": "26201", "mcc": "262", "mnc": "01", "rat": "nr5g-nsa"}
    assert p.parse_cops(['+COPS: 0,0,"T-Mobile",2']) == {"operator_name": "T-Mobile", "rat": "umts"}
    assert p.parse_cops(["+COPS: 0"]) == {}  # not registered: nothing known


def test_cops_rejects_non_numeric_plmn():
    with pytest.raises(SourceError, match=r"\+COPS"):
        p.parse_cops(['+COPS: 0,2,"T-Mobile",7'])


def test_creg_query_form_extended():
    out = p.parse_creg(['+CEREG: 2,1,"2B67","01A2D101",7'], "+CEREG")
    assert out == {"registration": "home", "tac": 0x2B67, "cell_id": 0x01A2D101, "rat": "lte"}


def test_creg_unsolicited_form_in_place_of_reply():
    out = p.parse_creg(['+CEREG: 5,"2B67","01A2D101",7'], "+CEREG")
    assert out == {"registration": "roaming", "tac": 0x2B67, "cell_id": 0x01A2D101, "rat": "lte"}
    assert p.parse_creg(["+CEREG: 2"], "+CEREG") == {"registration": "searching"}


def test_creg_lac_for_cs_and_ps_domains_and_5g_nci():
    assert p.parse_creg(['+CREG: 2,1,"1A2B","0C1D",0'], "+CREG") == {
        "registration": "home", "lac": 0x1A2B, "cell_id": 0x0C1D, "rat": "gsm"}
    assert p.parse_creg(['+CGREG: 2,5,"1A2B","0C1D2E",2'], "+CGREG")["lac"] == 0x1A2B
    assert p.parse_creg(['+CREG: 2,1,"1A2B","0C1D"'], "+CREG")["lac"] == 0x1A2B  # no AcT: legacy LAC
    # E-UTRAN <AcT>: 27.007 says the <lac> of +CREG/+CGREG is then the TAC
    assert p.parse_creg(['+CGREG: 2,1,"2B67","01A2D101",7'], "+CGREG") == {
        "registration": "home", "tac": 0x2B67, "cell_id": 0x01A2D101, "rat": "lte"}
    out = p.parse_creg(['+C5GREG: 2,1,"0000C3","123456789",11'], "+C5GREG")
    assert out["cell_id"] == 0x123456789 and out["tac"] == 0xC3 and out["rat"] == "nr5g-sa"


def test_creg_all_f_location_is_unknown_not_a_number():
    assert p.parse_creg(['+CEREG: 2,1,"FFFF","FFFFFFFF",7'], "+CEREG") == {"registration": "home", "rat": "lte"}


def test_creg_stat_mapping():
    expect = {0: "not_registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}
    for stat, reg in expect.items():
        assert p.parse_creg([f"+CGREG: 0,{stat}"], "+CGREG") == {"registration": reg}
    with pytest.raises(SourceError):
        p.parse_creg(["+CGREG: 0,42"], "+CGREG")


@pytest.mark.parametrize(("n", "dbm"), [(0, -113), (1, -111), (22, -69), (31, -51)])
def test_csq(n, dbm):
    assert p.parse_csq([f"+CSQ: {n},99"]) == {"rssi_dbm": dbm}


@pytest.mark.parametrize("n", [99, 32, -1])
def test_csq_unknown_is_absent(n):
    assert p.parse_csq([f"+CSQ: {n},99"]) == {}


def test_cesq_lte_and_unknown():
    assert p.parse_cesq(["+CESQ: 99,99,255,255,24,45"]) == {"rsrq_db": -8.0, "rsrp_dbm": -96}
    assert p.parse_cesq(["+CESQ: 99,99,255,255,0,97"]) == {"rsrq_db": -20.0, "rsrp_dbm": -44}
    assert p.parse_cesq(["+CESQ: 40,0,255,255,255,255"]) == {}


def test_apn_prefers_active_context():
    apns = p.parse_cgdcont(['+CGDCONT: 1,"IP","","0.0.0.0",0,0', '+CGDCONT: 2,"IPV4V6","web.op","",0,0',
                            '+CGDCONT: 3,"IP","ims"'])
    assert apns == {2: "web.op", 3: "ims"}
    assert p.choose_apn(apns, p.parse_cgact(["+CGACT: 2,0", "+CGACT: 3,1"])) == {"apn": "ims"}
    assert p.choose_apn(apns, []) == {"apn": "web.op"}


def test_identities():
    assert p.parse_imei(["356938035643809"]) == {"imei": "356938035643809"}
    assert p.parse_imei(["+CGSN: 356938035643809"]) == {"imei": "356938035643809"}
    assert p.parse_imsi(["310260123456789"]) == {"imsi": "310260123456789"}
    assert p.parse_iccid(["+CCID: 89012601234567890123"]) == {"iccid": "89012601234567890123"}
    assert p.parse_iccid(["+QCCID: 8901260123456789012F"]) == {"iccid": "8901260123456789012"}
    assert p.parse_cnum(['+CNUM: "Me","+15551230001",145']) == {"msisdn": "+15551230001"}
    assert p.parse_cnum(['+CNUM: "","",129']) == {}
    with pytest.raises(SourceError):
        p.parse_imei(["ERRORISH"])


def test_crsm_iccid_nibble_swap():
    assert p.parse_crsm_iccid(['+CRSM: 144,0,"981062103254769810F2"']) == {"iccid": "8901260123456789012"}
    with pytest.raises(SourceError, match="SIM status 106,130"):
        p.parse_crsm_iccid(['+CRSM: 106,130,""'])


@given(st.text("0123456789", min_size=18, max_size=20))
def test_crsm_iccid_roundtrip(iccid):
    padded = iccid + ("F" if len(iccid) % 2 else "")
    swapped = "".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2))
    assert p.parse_crsm_iccid([f'+CRSM: 144,0,"{swapped}"']) == {"iccid": iccid}


def test_qeng_lte_single_line():
    out = p.parse_qeng(['+QENG: "servingcell","NOCONN","LTE","FDD",214,01,7676A09,188,6300,20,3,3,603,'
                        "-104,-9,-78,11,23,-32768,20"])
    assert out == {"rat": "lte", "plmn": "21401", "mcc": "214", "mnc": "01", "cell_id": 0x7676A09, "pci": 188,
                   "earfcn": 6300, "band": "B20", "tac": 0x603, "rsrp_dbm": -104, "rsrq_db": -9.0,
                   "rssi_dbm": -78, "sinr_db": -17.8}


def test_qeng_nsa_and_sa():
    nsa = p.parse_qeng(['+QENG: "servingcell","NOCONN"',
                        '+QENG: "LTE","FDD",262,01,B7A1C05,386,1300,3,5,5,C3,-95,-11,-64,124,11,-32768,-32768',
                        '+QENG: "NR5G-NSA",262,01,881,-92,25,-11,627264,78,12,1'])
    assert nsa["rat"] == "nr5g-nsa" and nsa["sinr_db"] == 4.8 and nsa["cell_id"] == 0xB7A1C05
    sa = p.parse_qeng(['+QENG: "servingcell","NOCONN","NR5G-SA","TDD",262,01,12345678A,505,3A,630000,78,12,'
                       "-88,-11,14,1,-"])
    assert sa == {"rat": "nr5g-sa", "plmn": "26201", "mcc": "262", "mnc": "01", "cell_id": 0x12345678A,
                  "pci": 505, "tac": 0x3A, "earfcn": 630000, "band": "n78", "rsrp_dbm": -88, "rsrq_db": -11.0,
                  "sinr_db": 14.0}


def test_qeng_wcdma_and_gsm():
    assert p.parse_qeng(['+QENG: "servingcell","NOCONN","WCDMA",460,01,A1B2,1234567,10663,170,1,-92,-6,-,-,-,-,-']) == {
        "rat": "umts", "plmn": "46001", "mcc": "460", "mnc": "01", "lac": 0xA1B2, "cell_id": 0x1234567}
    assert p.parse_qeng(['+QENG: "servingcell","NOCONN","GSM",262,02,1F4,5A3B,40,62,-,-75,255,255,0,38,38,1,-,-,-,-,'
                         '-,-,-,-,-,"-"'])["cell_id"] == 0x5A3B


def test_qeng_no_service_is_nothing_and_short_is_error():
    assert p.parse_qeng(['+QENG: "servingcell","SEARCH"']) == {}
    with pytest.raises(SourceError, match="LTE"):
        p.parse_qeng(['+QENG: "servingcell","NOCONN","LTE","FDD",262'])


def test_huawei_hcsq_and_sysinfoex():
    assert p.parse_hcsq(['^HCSQ: "LTE",45,41,151,25']) == {"rssi_dbm": -76, "rsrp_dbm": -100, "sinr_db": 10.0,
                                                           "rsrq_db": -7.5}
    assert p.parse_hcsq(['^HCSQ: "LTE",255,255,255,255']) == {}
    assert p.parse_hcsq(['^HCSQ: "NOSERVICE"']) == {}
    assert p.parse_sysinfoex(['^SYSINFOEX: 2,3,1,1,,6,"LTE",101,"LTE"']) == {
        "registration": "roaming", "roaming": True, "rat": "lte"}
    assert p.parse_sysinfoex(['^SYSINFOEX: 2,3,0,1,,3,"WCDMA",41,"HSPA+"'])["rat"] == "umts"


def test_zte():
    assert p.parse_zpas(['+ZPAS: "LTE","CS_PS"']) == {"rat": "lte"}
    assert p.parse_zpas(['+ZPAS: "No Service","CS_ONLY"']) == {}
    assert p.parse_zcellinfo(["+ZCELLINFO: 203238975, 77, LTE B3, 1650"]) == {
        "cell_id": 203238975, "pci": 77, "band": "B3", "earfcn": 1650}
    assert p.parse_zrssi(["+ZRSSI: 71,1000,1000"]) == {"rssi_dbm": -71}
    assert p.parse_zrssi(["+ZRSSI: 999,1000,1000"]) == {}


def test_zrssi_lte_and_3g_forms_are_told_apart_by_values_not_model():
    # LTE (MF286D-class): RSRP, RSRQ, RSSI, SINR; fractional RSRQ
    assert p.parse_zrssi(["+ZRSSI: -97,-11.5,-66,9.4"]) == {"rsrp_dbm": -97, "rsrq_db": -11.5, "rssi_dbm": -66,
                                                           "sinr_db": 9.4}
    assert p.parse_zrssi(["+ZRSSI: 97,11.5,66,-3"]) == {"rsrp_dbm": -97, "rsrq_db": -11.5, "rssi_dbm": -66,
                                                       "sinr_db": -3.0}  # signs dropped
    # 3G: RSSI, Ec/Io, RSCP -- three fields, or four that do not fit the LTE ranges
    assert p.parse_zrssi(["+ZRSSI: 79,9,87"]) == {"rssi_dbm": -79}
    assert p.parse_zrssi(["+ZRSSI: 71,1000,1000,0"]) == {"rssi_dbm": -71}
    assert p.parse_zrssi(["+ZRSSI: -97,-11.5,-66,99"]) == {"rsrp_dbm": -97, "rsrq_db": -11.5, "rssi_dbm": -66}
    with pytest.raises(SourceError, match="not a number"):
        p.parse_zrssi(["+ZRSSI: -97,x,-66,9"])


def test_zcellinfo_decimal_and_cereg_hex_give_the_same_cell():
    z = p.parse_zcellinfo(["+ZCELLINFO: 28492756, 291, LTE B3, 1300"])
    c = p.parse_creg(['+CEREG: 2,1,"2F1A","1B2C3D4",7'], "+CEREG")
    assert z["cell_id"] == c["cell_id"] == 0x1B2C3D4
    ca = p.parse_zcainfo(["+ZCAINFO: 291,3,12058,1300,20.0"])
    assert ca["tac"] == c["tac"] == 0x2F1A
    # 2G/3G form: LAC and cell id, decimal, against +CREG's hex
    u = p.parse_zcellinfo(["+ZCELLINFO: 41969, 186395966, UMTS B1, 10812"])
    r = p.parse_creg(['+CREG: 2,1,"A3F1","B1C2D3E",2'], "+CREG")
    assert u == {"lac": r["lac"], "cell_id": r["cell_id"]}
    assert p.parse_zcellinfo(["+ZCELLINFO: 0, 0, No Service, 0"]) == {}


def test_zcainfo_primary_cell_and_aggregated_bands():
    assert p.parse_zcainfo(["+ZCAINFO: 291,3,12058,1300,20.0;140,0,32,10020,20.0;211,0,7,3175,15.0"]) == {
        "pci": 291, "band": "B3", "tac": 12058, "earfcn": 1300, "ca_bands": "B3+B32+B7"}
    assert p.parse_zcainfo(["+ZCAINFO: 0,0,0,0,0"]) == {}  # 0: no primary cell
    assert p.parse_zcainfo([]) == {}
    with pytest.raises(SourceError, match="at least 5"):
        p.parse_zcainfo(["+ZCAINFO: 1,2"])


def test_zpas_names_of_every_generation():
    assert p.parse_zpas(['+ZPAS: "GPRS/EDGE","CS_ONLY"']) == {"rat": "gsm"}  # ModemManager's MF626 sample
    assert p.parse_zpas(['+ZPAS: "HSPA+","CS_PS"']) == {"rat": "umts"}
    assert p.parse_zpas(['+ZPAS: "Limited Service","CS_PS"']) == {}


GSTATUS = [
    "!GSTATUS:",
    "Current Time:  4527\t\tTemperature: 38",
    "System mode:   LTE        \tPS state:    Attached",
    "LTE band:      B20     \tLTE bw:      10 MHz",
    "LTE Rx chan:   6300\t\tLTE Tx chan: 24300",
    "EMM state:     Registered     \tNormal Service",
    "PCC RxM RSSI:  -72\t\tRSRP (dBm):  -103",
    "PCC RxD RSSI:  -75\t\tRSRP (dBm):  -106",
    "Tx Power:      --\t\tTAC:         07D0 (2000)",
    "RSRQ (dB):     -12.4\t\tCell ID:     01A2B3C4 (27440068)",
    "SINR (dB):      6.2",
]


def test_sierra_gstatus():
    assert p.parse_gstatus(GSTATUS) == {"rat": "lte", "attached": True, "band": "B20", "earfcn": 6300,
                                        "rsrp_dbm": -103, "rsrq_db": -12.4, "sinr_db": 6.2, "rssi_dbm": -72,
                                        "tac": 2000, "cell_id": 0x01A2B3C4}


def test_sierra_gstatus_partial_table_leaves_the_rest_unknown():
    assert p.parse_gstatus(["!GSTATUS:", "System mode:   WCDMA \tPS state:    Detached"]) == {
        "rat": "umts", "attached": False}


def test_field_splitting_keeps_commas_in_quotes():
    assert p.split_fields('1,"a,b",3', "x") == ["1", '"a,b"', "3"]
    with pytest.raises(SourceError, match="unterminated"):
        p.split_fields('1,"abc', "x")
    with pytest.raises(SourceError, match="more than"):
        p.split_fields("," * 100, "x")


# --- hostile input: every parser, any lines ----------------------------------------------

LINE_PARSERS = [p.parse_cops, p.parse_csq, p.parse_cesq, p.parse_cgatt, p.parse_imei, p.parse_imsi,
                p.parse_iccid, p.parse_crsm_iccid, p.parse_cnum, p.parse_qeng, p.parse_hcsq, p.parse_sysinfoex,
                p.parse_zpas, p.parse_zcellinfo, p.parse_zrssi, p.parse_zcainfo, p.parse_gstatus,
                lambda ls: p.parse_creg(ls, "+CEREG"), lambda ls: p.parse_creg(ls, "+CREG"),
                lambda ls: p.parse_creg(ls, "+C5GREG"),
                lambda ls: p.choose_apn(p.parse_cgdcont(ls), p.parse_cgact(ls)),
                lambda ls: {"model": v} if (v := p.parse_ident(ls, "+CGMM")) else {}]
PREFIXES = ["+COPS: ", "+CSQ: ", "+CESQ: ", "+CGATT: ", "+CGSN: ", "+CCID: ", "+CRSM: ", "+CNUM: ", "+QENG: ",
            '+QENG: "servingcell","NOCONN","LTE",', '+QENG: "LTE",', "^HCSQ: ", '^HCSQ: "LTE",', "^SYSINFOEX: ",
            "+ZPAS: ", "+ZCELLINFO: ", "+ZRSSI: ", "+ZCAINFO: ", "+ZCELLINFO: 1, 2, LTE B3,",
            "!GSTATUS: ", "+CEREG: ", "+CEREG: 2,", "+CREG: ", "+C5GREG: ",
            "+CGDCONT: ", "+CGACT: ", "", "RSRP (dBm): ", "System mode: "]
# Printable ASCII (what the channel lets through) with the characters that matter most.
ATOMS = st.one_of(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
                  st.sampled_from(['"', ",", "255", "99", "-32768", "FFFFFFFF", "0x", "\t", "  ", "1e9",
                                   "99999999999999999999", '"LTE"', "-", "B", "(", ")"]))
LINE = st.builds(lambda pre, parts: pre + "".join(parts), st.sampled_from(PREFIXES), st.lists(ATOMS, max_size=20))


@settings(max_examples=400, deadline=None)
@given(st.lists(LINE, max_size=5), st.sampled_from(range(len(LINE_PARSERS))))
def test_every_parser_answers_fields_or_one_source_error(lines, which):
    try:
        out = LINE_PARSERS[which](lines)
    except SourceError as e:
        msg = str(e)
        assert msg and "\n" not in msg and len(msg) < 200
        return
    assert_schema_values(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=4))
def test_arbitrary_unicode_never_escapes_as_another_exception(lines):
    for parse in LINE_PARSERS:
        try:
            assert_schema_values(parse(lines))
        except SourceError:
            pass


@given(st.integers(-1000, 1000))
def test_csq_range_property(n):
    out = p.parse_csq([f"+CSQ: {n},99"])
    assert out == ({"rssi_dbm": -113 + 2 * n} if 0 <= n <= 31 else {})


@given(st.integers(0, 2**36 - 1))
def test_hex_ids_roundtrip(v):
    text = f"{v:X}"
    got = cellnorm.hex_id(text, 9)
    if v == 0 or v == (1 << (4 * len(text))) - 1:
        assert got is None
    else:
        assert got == v


# --- the AT channel (line framing) on arbitrary byte streams -------------------------------


class ScriptedPort:
    """A RawPort that plays back chunks, then stays silent (sleeping like a real read would)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.written: list[bytes] = []

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)[:max_bytes]
        time.sleep(min(timeout_s, 0.005))
        return b""

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def discard_input(self) -> None:
        return None

    def close(self) -> None:
        return None


BYTES = st.one_of(st.binary(max_size=700), st.sampled_from([b"\r\n", b"\r", b"\n", b"OK", b"\r\nOK\r\n", b"ERROR",
                                                            b"+CME ERROR: 10", b"AT+CSQ", b"+CSQ: 22,99", b"\x00",
                                                            b"\xff" * 600, b"A" * 513]))


@settings(max_examples=250, deadline=None)
@given(st.lists(BYTES, max_size=12))
def test_channel_frames_any_byte_stream_into_bounded_lines_or_one_error(chunks):
    from zte_uxip.sources import at

    chan = at.AtChannel(ScriptedPort(chunks), budget_s=1.0)
    t0 = time.monotonic()
    try:
        lines = chan.command("AT+CSQ", timeout_s=0.03)
    except SourceError as e:
        assert "\n" not in str(e)
    else:
        for ln in lines:
            assert ln and len(ln) <= at.LINE_MAX_BYTES and ln.upper() != "AT+CSQ"
            assert all(" " <= c <= "~" or c == "\t" for c in ln)
    assert time.monotonic() - t0 < 0.5
