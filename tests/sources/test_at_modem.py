"""The AT backend against the pty modem simulator: every dialect, echo on/off, URC and CR/LF
noise, and hostile modems that must cost bounded time and leave their fields absent."""

from __future__ import annotations

import fcntl
import os
import time

import pytest
from modemsim import EXPECTED, ModemSim

from zte_uxip.errors import SourceError
from zte_uxip.sources import at

DIALECTS = sorted(EXPECTED)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("echo", "sticky"), [(True, False), (False, False), (True, True)],
                         ids=["echo-then-ATE0", "no-echo", "echo-ignores-ATE0"])
def test_dialect_exact_fields(dialect, echo, sticky):
    for seed in (1, 2, 3):  # different URC / CR-LF noise interleavings
        with ModemSim(dialect, echo=echo, sticky_echo=sticky, seed=seed) as sim:
            assert at.query_at(sim.path) == EXPECTED[dialect]


def test_vendor_commands_sent_only_to_their_vendor():
    with ModemSim("standard") as sim:
        at.query_at(sim.path)
    assert not [c for c in sim.commands if c.startswith(("AT+QENG", "AT^", "AT+Z", "AT!"))]
    with ModemSim("huawei") as sim:
        at.query_at(sim.path)
    assert "AT^HCSQ?" in sim.commands and not [c for c in sim.commands if c.startswith("AT+QENG")]


@pytest.mark.parametrize("mode", ["silent", "binary", "endless", "cut"])
def test_hostile_modem_fails_in_bounded_time(mode):
    with ModemSim("standard", hostile=mode) as sim:
        t0 = time.monotonic()
        with pytest.raises(SourceError, match="does not answer"):
            at.query_at(sim.path)
        elapsed = time.monotonic() - t0
    # ATE0 and AT+CMEE=1 each time out after CMD_TIMEOUT_S; nothing else is tried.
    assert elapsed < at.MAX_SILENT_COMMANDS * at.CMD_TIMEOUT_S + 1.0
    assert 1 <= len(sim.commands) <= at.MAX_SILENT_COMMANDS  # nothing after two silent commands


@pytest.mark.parametrize("spoil", ["cut:AT+CSQ", "garbage:AT+CSQ"])
def test_one_spoiled_reply_costs_only_its_field(spoil):
    with ModemSim("standard", hostile=spoil) as sim:
        t0 = time.monotonic()
        out = at.query_at(sim.path)
        assert time.monotonic() - t0 < at.CMD_TIMEOUT_S + 1.0
    expected = dict(EXPECTED["standard"])
    del expected["rssi_dbm"]
    assert out == expected


def test_error_replies_cost_only_their_fields():
    with ModemSim("zte") as sim:  # +CEREG? and +C5GREG? answer ERROR on this modem
        out = at.query_at(sim.path)
    # no +CEREG: the TAC comes from +CGREG, whose <lac> is a TAC when <AcT> is E-UTRAN (7)
    assert "lac" not in out and out["tac"] == 0xA1B2


def test_query_budget_bounds_a_slow_modem(monkeypatch):
    monkeypatch.setattr(at, "QUERY_BUDGET_S", 0.3)
    with ModemSim("standard", hostile="cut:AT+CGMR") as sim:
        t0 = time.monotonic()
        out = at.query_at(sim.path, budget_s=0.3)
        assert time.monotonic() - t0 < 1.0
    assert out == {"backend": "at", "manufacturer": "Telit", "model": "LE910C4-EU"}  # the rest: out of time
    with ModemSim("standard", hostile="cut:AT+CGMI") as sim, pytest.raises(SourceError, match="no usable answer"):
        at.query_at(sim.path, budget_s=0.3)


def test_endless_line_is_capped_not_buffered():
    with ModemSim("standard", hostile="endless") as sim:
        port = at.SerialPort(sim.path)
        try:
            chan = at.AtChannel(port, budget_s=2)
            with pytest.raises(at.AtTimeout, match=r"AT\+CSQ"):
                chan.command("AT+CSQ", 0.5)
            assert chan.noise_lines >= 1  # the over-long line was dropped in LINE_MAX_BYTES pieces
        finally:
            port.close()


def test_port_held_by_another_process_is_one_clear_error():
    with ModemSim("standard") as sim:
        fd = os.open(sim.path, os.O_RDWR | os.O_NOCTTY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with pytest.raises(SourceError, match="port busy"):
                at.query_at(sim.path)
        finally:
            os.close(fd)


def test_missing_or_non_tty_device_is_one_clear_error(tmp_path):
    with pytest.raises(SourceError, match="No such file"):
        at.query_at("/dev/ttyUSB-none-here")
    f = tmp_path / "plain"
    f.write_text("x")
    with pytest.raises(SourceError, match="not a character device"):
        at.query_at(str(f))


def test_responds_is_quick_and_false_for_a_silent_port():
    with ModemSim("standard", hostile="silent") as sim:
        t0 = time.monotonic()
        assert at.responds(sim.path) is False
        assert time.monotonic() - t0 < 1.0
    with ModemSim("quectel") as sim:
        assert at.responds(sim.path) is True


def test_query_leaves_cops_in_its_default_long_name_format():
    with ModemSim("standard") as sim:
        sim.cops_format = 0
        at.query_at(sim.path)
        assert sim.cops_format == 0
    assert "AT+COPS=3,2" in sim.commands


def test_uucp_lock_file_of_a_live_process_means_busy(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setattr(at, "LOCK_DIRS", (str(tmp_path),))
    with ModemSim("standard") as sim:
        lock = tmp_path / f"LCK..{os.path.basename(sim.path)}"
        holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            lock.write_text(f"{holder.pid:10d}\n")  # pppd's ASCII format
            with pytest.raises(SourceError, match=f"port busy \\(locked by process {holder.pid}\\)"):
                at.query_at(sim.path)
        finally:
            holder.kill()
            holder.wait()
        # the holder is gone: a stale lock does not block
        assert at.query_at(sim.path)["plmn"] == "310260"
        lock.write_bytes(b"garbage\x00\xff")
        assert at.query_at(sim.path)["plmn"] == "310260"


def test_modem_that_vanishes_mid_query_is_one_quick_error():
    with ModemSim("standard", hostile="hangup") as sim:
        t0 = time.monotonic()
        with pytest.raises(SourceError, match="^at: "):
            at.query_at(sim.path)
        assert time.monotonic() - t0 < at.MAX_SILENT_COMMANDS * at.CMD_TIMEOUT_S + 1.0


def test_zte_unanswered_zcainfo_costs_only_its_own_timeout():
    with ModemSim("zte-5g") as sim:
        t0 = time.monotonic()
        out = at.query_at(sim.path)
        elapsed = time.monotonic() - t0
    assert sim.commands[-1] == "AT+ZCAINFO?"  # sent last, so its silence ends nothing else
    assert elapsed < at.CMD_TIMEOUT_S + 1.0
    assert out == EXPECTED["zte-5g"] and out["rat"] == "nr5g-nsa"  # +ZPAS "LTE" names only the anchor


def test_zte_urcs_between_commands_never_become_replies():
    """+ZUSIMR/+ZPASR floods before and after every reply (ModemManager disables the first
    because it can crash the device): the fields stay exact."""
    with ModemSim("zte-lte", seed=7) as sim:
        sim.rng.random = lambda: 0.0  # a URC at every chance
        assert at.query_at(sim.path) == EXPECTED["zte-lte"]
