"""End to end: `zte-uxip sample --once --modem at:/dev/pts/N` against the modem simulator prints
the cellular fields exactly, and no IMEI/IMSI/ICCID/MSISDN in clear anywhere in its output."""

from __future__ import annotations

import json
import re
import time

import pytest
from conftest import zte_uxip
from modemsim import EXPECTED, IDENTIFIERS, ModemSim

from zte_uxip.collectors import COLLECTORS, Context
from zte_uxip.collectors import cellular as cell

PSEUDONYMISED = ("imei", "imsi", "iccid", "msisdn")


def assert_no_identifier(*outputs: bytes) -> None:
    for out in outputs:
        for ident in IDENTIFIERS:
            assert ident.encode() not in out, f"{ident} in clear"


@pytest.mark.parametrize("dialect", sorted(EXPECTED))
def test_sample_once_prints_cellular_fields_for_each_dialect(dialect):
    with ModemSim(dialect) as sim:
        r = zte_uxip("sample", "--once", "--modem", f"at:{sim.path}", timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert_no_identifier(r.stdout, r.stderr)
    got = json.loads(r.stdout)["cellular"]
    expected = {k: v for k, v in EXPECTED[dialect].items() if k not in PSEUDONYMISED}
    assert {k: v for k, v in got.items() if k not in PSEUDONYMISED} == expected
    for k in PSEUDONYMISED:  # present, as a keyed hash (8 bytes, hex in JSON)
        assert re.fullmatch(r"[0-9a-f]{16}", got[k]), (k, got[k])


def test_sample_cbor_carries_no_identifier_in_clear():
    with ModemSim("quectel") as sim:
        r = zte_uxip("sample", "--once", "--format", "cbor", "--modem", f"at:{sim.path}", timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert_no_identifier(r.stdout, r.stderr)
    d = zte_uxip("decode", input=r.stdout)
    assert d.returncode == 0 and json.loads(d.stdout)["cellular"]["plmn"] == "26201"


def test_location_withdrawn_drops_cell_fields(tmp_path):
    toggle = tmp_path / "enabled"
    toggle.write_text("enabled=1\nlocation=0\n")
    for name in ("ca.pem", "c.pem", "c.key"):
        (tmp_path / name).write_text("x")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[broker]\nhost = "h"\nca_file = "{tmp_path}/ca.pem"\ncert_file = "{tmp_path}/c.pem"\n'
                   f'key_file = "{tmp_path}/c.key"\n[consent]\ntoggle_file = "{toggle}"\n'
                   f'[privacy]\nsecret_file = "{tmp_path}/secret"\n')
    with ModemSim("standard") as sim:
        r = zte_uxip("sample", "--once", "--config", str(cfg), "--modem", f"at:{sim.path}", timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    got = json.loads(r.stdout)["cellular"]
    assert not {"cell_id", "tac", "lac", "pci"} & set(got)
    assert got["plmn"] == "310260" and got["rsrp_dbm"] == -96


def test_hostile_modem_sample_finishes_with_cellular_absent():
    with ModemSim("standard", hostile="binary") as sim:
        t0 = time.monotonic()
        r = zte_uxip("sample", "--once", "--modem", f"at:{sim.path}", timeout=60)
        elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr.decode()
    assert "cellular" not in json.loads(r.stdout)
    assert b"cellular: at: the modem does not answer" in r.stderr
    assert elapsed < 10


def test_modem_none_means_no_cellular_section():
    r = zte_uxip("sample", "--once", "--modem", "none")
    assert r.returncode == 0 and "cellular" not in json.loads(r.stdout)


def test_auto_without_any_modem_is_quick_and_absent(monkeypatch):
    # This machine has no modem: no cdc-wdm, no ttyUSB/ttyACM answering, ModemManager not running.
    monkeypatch.setattr(cell, "AT_GLOBS", ())
    monkeypatch.setattr(cell, "QMI_GLOB", "/nonexistent/cdc-wdm*")
    c = COLLECTORS["cellular"](Context(modem_spec="auto"))
    t0 = time.monotonic()
    assert c.collect() is None
    assert time.monotonic() - t0 < 6
    t0 = time.monotonic()
    assert c.collect() is None  # re-probe is rate-limited: the second call costs nothing
    assert time.monotonic() - t0 < 0.01


def test_auto_finds_an_at_port_and_remembers_it(monkeypatch):
    with ModemSim("huawei") as sim:
        monkeypatch.setattr(cell, "AT_GLOBS", (sim.path,))
        monkeypatch.setattr(cell, "QMI_GLOB", "/nonexistent/cdc-wdm*")
        monkeypatch.setattr("zte_uxip.sources.modemmanager.available", lambda: False)
        c = cell.CellularCollector(Context(modem_spec="auto"))
        assert c.collect()["plmn"] == "23415"
        n = len(sim.commands)
        assert c.collect()["plmn"] == "23415"
        assert sim.commands[n] == "ATE0"  # straight to the query: no second probe ("AT")
