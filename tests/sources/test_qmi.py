"""The `qmi` backend: the real qmicli (libqmi-utils) against a fake QMUX modem on a pty
(tests/qmisim.py), its recorded output (tests/fixtures/qmicli: qmicli's stdout against qmisim,
device path renamed), and hostile devices and text."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import zte_uxip
from hypothesis import given, settings
from hypothesis import strategies as st
from modemsim import IDENTIFIERS
from qmisim import EXPECTED, NAS, QmiSim

from zte_uxip.errors import SourceError
from zte_uxip.sources import qmi

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "qmicli"
needs_qmicli = pytest.mark.skipif(shutil.which("qmicli") is None,
                                  reason="needs qmicli (apt libqmi-utils; scripts/system-deps.sh installs it as root)")


def kv(name: str) -> dict:
    return qmi.parse_qmicli((FIX / f"{name}.txt").read_text())


def test_recorded_serving_system():
    assert qmi.parse_serving_system(kv("nas-get-serving-system")) == {
        "registration": "roaming", "roaming": True, "attached": True, "rat": "lte", "plmn": "26201", "mcc": "262",
        "mnc": "01", "operator_name": "Telekom.de", "lac": 0x1A2B, "cell_id": 0x01A2D101, "tac": 0x2B67}


def test_recorded_signal_band_ids():
    assert qmi.parse_signal_info(kv("nas-get-signal-info")) == {"rsrp_dbm": -95, "rsrq_db": -11.0, "sinr_db": 4.8,
                                                                "rssi_dbm": -64}
    assert qmi.parse_rf_band(kv("nas-get-rf-band-info")) == {"band": "B3", "earfcn": 1300}
    assert qmi._ids(kv("dms-get-ids")) == {"imei": "356938035643809"}
    assert dict(qmi.QUERIES)["--wds-get-default-settings=3gpp"](kv("wds-get-default-settings")) == {
        "apn": "fast.t-mobile.com"}
    assert qmi.parse_cell_location(kv("nas-get-cell-location-info")) == {"pci": 386, "earfcn": 1300}


def test_three_digit_mnc_and_not_registered():
    text = ("[/dev/cdc-wdm0] Successfully got serving system:\n\tRegistration state: 'registered'\n"
            "\tRoaming status: 'off'\n\tCurrent PLMN:\n\t\tMCC: '310'\n\t\tMNC: '260'\n"
            "\tFull operator code info:\n\t\tMCC: '310'\n\t\tMNC: '4'\n\t\tMNC with PCS digit: 'yes'\n")
    out = qmi.parse_serving_system(qmi.parse_qmicli(text))
    assert out["plmn"] == "310260" and out["registration"] == "home" and out["roaming"] is False
    searching = qmi.parse_serving_system(qmi.parse_qmicli("\tRegistration state: 'not-registered-searching'\n"))
    assert searching == {"registration": "searching"}
    with pytest.raises(SourceError, match="no registration state"):
        qmi.parse_serving_system({})


LABELS = st.sampled_from(["Registration state", "Roaming status", "PS", "Radio interfaces", "[0]", "Current PLMN",
                          "MCC", "MNC", "Description", "3GPP cell ID", "LTE tracking area code", "LTE", "RSRP", "SNR",
                          "Band Information", "Active Band Class", "Active Channel", "IMEI", "MNC with PCS digit",
                          "Intrafrequency LTE Info", "Serving Cell ID", "EUTRA Absolute RF Channel Number"])
VALUES = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["registered", "on", "off", "lte", "5gnr",
                                                                      "-95 dBm", "4.8 dB", "eutran-3", "nr5g-band-78",
                                                                      "4294967295", "65535", "-1", "yes"]))
LINE = st.builds(lambda d, lab, v: "\t" * d + lab + ":" + ("" if v is None else f" '{v}'"),
                 st.integers(0, 3), LABELS, VALUES)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(LINE, st.text(max_size=60)), max_size=25))
def test_any_qmicli_text_gives_fields_or_one_source_error(lines):
    text = "\n".join(lines)
    for parse in (qmi.parse_serving_system, qmi.parse_signal_info, qmi.parse_rf_band, qmi._ids,
                  qmi.parse_cell_location):
        try:
            out = parse(qmi.parse_qmicli(text))
        except SourceError as e:
            assert "\n" not in str(e)
            continue
        for v in out.values():
            assert isinstance(v, str | int | float | bool)


def test_oversized_qmicli_output_is_refused():
    with pytest.raises(SourceError, match="more than"):
        qmi.parse_qmicli("\tA: 'b'\n" * (qmi.MAX_LINES + 1))


@needs_qmicli
def test_real_qmicli_against_fake_modem_exact_fields():
    with QmiSim() as sim:
        assert qmi.query_qmi(sim.path) == EXPECTED
    services = {svc for svc, _ in sim.requests}
    assert services == {0, 1, 2, 3}  # CTL (client ids), WDS, DMS, NAS


@needs_qmicli
def test_failing_request_costs_only_its_fields():
    with QmiSim(hostile=f"error:{NAS}:{0x0024}") as sim:  # serving system: QMI error
        out = qmi.query_qmi(sim.path)
    assert not {"plmn", "registration", "cell_id", "tac", "lac"} & set(out)
    assert out["rsrp_dbm"] == -95 and out["imei"] == EXPECTED["imei"]


@needs_qmicli
@pytest.mark.parametrize("mode", ["silent", "garbage"])
def test_hostile_qmi_device_is_one_error_in_bounded_time(mode):
    with QmiSim(hostile=mode) as sim:
        t0 = time.monotonic()
        with pytest.raises(SourceError) as e:
            qmi.query_qmi(sim.path)
        elapsed = time.monotonic() - t0
    assert "\n" not in str(e.value) and str(e.value).startswith("qmi:")
    assert elapsed < qmi.QMICLI_TIMEOUT_S + 1.5 if mode == "silent" else elapsed < qmi.QUERY_BUDGET_S + 1


def test_device_path_is_checked_before_exec(tmp_path):
    with pytest.raises(SourceError, match="not a /dev path"):
        qmi.query_qmi("-v")
    with pytest.raises(SourceError, match="No such file"):
        qmi.query_qmi("/dev/cdc-wdm-none")


@needs_qmicli
def test_sample_once_with_qmi_spec_prints_fields_and_no_identifier():
    with QmiSim() as sim:
        r = zte_uxip("sample", "--once", "--modem", f"qmi:{sim.path}", timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    for ident in IDENTIFIERS:
        assert ident.encode() not in r.stdout + r.stderr
    got = json.loads(r.stdout)["cellular"]
    clear = {"imei", "imsi", "iccid", "msisdn"}
    assert {k: v for k, v in got.items() if k not in clear} == {k: v for k, v in EXPECTED.items() if k not in clear}
    assert clear <= set(got)


@needs_qmicli
def test_auto_probe_finds_a_qmi_device_when_no_modemmanager(monkeypatch):
    from zte_uxip.collectors import Context
    from zte_uxip.collectors import cellular as cell

    with QmiSim() as sim:
        monkeypatch.setattr(cell, "QMI_GLOB", sim.path)
        monkeypatch.setattr(cell, "AT_GLOBS", ())
        monkeypatch.setattr("zte_uxip.sources.modemmanager.available", lambda: False)
        c = cell.CellularCollector(Context(modem_spec="auto"))
        out = c.collect()
    assert out["backend"] == "qmi" and out["plmn"] == "26201"
