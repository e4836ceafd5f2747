"""The `mm` backend: recorded mmcli JSON (ModemManager 1.20 in test mode), hostile JSON, and
live: a real ModemManager (`--test-enable --test-no-udev`) on a private D-Bus system bus,
driving the modem simulator over a unix socket, read with `zte-uxip sample --modem mm`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from modemsim import EXPECTED, IDENTIFIERS, ModemSim

from zte_uxip.errors import SourceError
from zte_uxip.sources import modemmanager as mm

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "mmcli"
# What ModemManager itself makes of the `standard` simulated modem (it reads LAC/CID from +CREG
# and signal from +CESQ, and reports no RSSI for LTE). ModemManager labels +CREG's area code
# "lac" even with <AcT> E-UTRAN, where TS 27.007 makes it the TAC: the mm backend reports what
# ModemManager reports, the AT backend follows 27.007. The APN comes from a bearer object, which
# the recorded fixtures do not have and the live test creates.
MM_EXPECTED = {
    "backend": "mm", "manufacturer": "Telit", "model": "LE910C4-EU", "firmware": "25.21.660",
    "imei": "356938035643809", "imsi": "310260123456789", "iccid": "8901260123456789012",
    "msisdn": "+15551230001", "rat": "lte", "operator_name": "T-Mobile", "registration": "home",
    "roaming": False, "plmn": "310260", "mcc": "310", "mnc": "260", "attached": True,
    "rsrp_dbm": -96, "rsrq_db": -8.0, "lac": 0x2B67, "cell_id": 0x01A2D101,
}


def load(name: str) -> dict:
    return json.loads((FIX / f"{name}.json").read_text())


def test_recorded_mmcli_output_parses_exactly():
    out = mm.parse_modem(load("modem"))
    out.update(mm.parse_sim(load("sim")))
    out.update(mm.parse_signal(load("signal")))
    for k, v in mm.parse_location(load("location")).items():
        out.setdefault(k, v)
    out["backend"] = "mm"
    assert out == MM_EXPECTED
    assert mm.parse_modem_list(load("list")) == ["0"]
    assert mm.parse_bearer_apn(load("bearer")) == {"apn": "fast.t-mobile.com"}


def test_mm_agrees_with_the_at_backend_on_every_shared_field():
    at_view = EXPECTED["standard"]
    for k, v in MM_EXPECTED.items():
        if k not in ("backend", "lac"):
            assert at_view[k] == v, k
    assert MM_EXPECTED["lac"] == at_view["tac"]  # same area code, labelled as described above


def test_unknown_markers_are_absent():
    obj = load("modem")
    obj["modem"]["3gpp"]["operator-code"] = "--"
    obj["modem"]["3gpp"]["registration-state"] = "--"
    obj["modem"]["generic"]["access-technologies"] = ["unknown"]
    out = mm.parse_modem(obj)
    assert not {"plmn", "mcc", "mnc", "registration", "roaming", "rat"} & set(out)


def test_rat_combinations():
    assert mm.rat_of(["lte", "5gnr"]) == "nr5g-nsa"
    assert mm.rat_of(["5gnr"]) == "nr5g-sa"
    assert mm.rat_of(["hspa-plus"]) == "umts"
    assert mm.rat_of(["edge"]) == "gsm"
    assert mm.rat_of("lte") is None


def test_object_paths_are_validated_before_reaching_mmcli():
    assert mm.path_index("/org/freedesktop/ModemManager1/SIM/3", "SIM") == "3"
    for bad in ("/org/freedesktop/ModemManager1/SIM/3; rm -rf /", "--help", "/org/freedesktop/ModemManager1/Modem/1",
                "/org/freedesktop/ModemManager1/SIM/-1", 3, None):
        assert mm.path_index(bad, "SIM") is None


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"\xff\xfe", b'"x"', b"[" * 100000, b"1" * (2 << 20)])
def test_hostile_mmcli_output_is_one_clear_error(data):
    with pytest.raises(SourceError) as e:
        mm.parse_json(data, "-m 0")
    assert "\n" not in str(e.value)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4),
                    max_leaves=30)
KEYS = st.sampled_from(["modem", "generic", "3gpp", "signal", "lte", "5g", "location", "sim", "properties", "bearer"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=3), st.sampled_from(["modem", "sim", "signal", "location", "bearer"]))
def test_any_json_shape_gives_fields_or_one_source_error(obj, which):
    parse = {"modem": mm.parse_modem, "sim": mm.parse_sim, "signal": mm.parse_signal,
             "location": mm.parse_location, "bearer": mm.parse_bearer_apn}[which]
    try:
        out = parse(obj)
    except SourceError:
        return
    assert isinstance(out, dict)


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_recorded_modem_with_any_value_swapped_in(value):
    for section, key in (("generic", "manufacturer"), ("3gpp", "operator-code"), ("generic", "access-technologies"),
                         ("3gpp", "registration-state"), ("generic", "own-numbers"), ("3gpp", "imei")):
        obj = load("modem")
        obj["modem"][section][key] = value
        out = mm.parse_modem(obj)
        for v in out.values():
            assert isinstance(v, str | int | float | bool)


# --- live ModemManager ---------------------------------------------------------------------


def _live_skip_reason() -> str | None:
    for tool in ("ModemManager", "mmcli", "dbus-daemon", "dbus-send"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"needs {tool} (apt modemmanager / dbus; scripts/system-deps.sh installs them as root)"
    try:
        import dbus_fast  # noqa: F401
    except ImportError:
        return "needs dbus-fast (test extra) for the stand-in PolicyKit authority"
    return None


BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/>
    <allow send_type="method_call"/><allow send_type="signal"/>
    <allow send_type="method_return"/><allow send_type="error"/>
    <allow receive_type="method_call"/><allow receive_type="signal"/>
    <allow receive_type="method_return"/><allow receive_type="error"/>
  </policy>
</busconfig>
"""


class LiveMM:
    """A private system bus, a stand-in PolicyKit, ModemManager in test mode and one simulated
    modem on a unix socket; every process is ours and is stopped by its pid."""

    def __init__(self, tmp: Path, dialect: str) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []
        bus = tmp / "bus"
        (tmp / "bus.conf").write_text(BUS_CONF.format(path=bus))
        self.env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={bus}"}
        self.sim = ModemSim(dialect, urcs=False, noise=False)
        self.sim.start_unix(str(tmp / "modem.sock"))
        self._spawn(["dbus-daemon", "--config-file", str(tmp / "bus.conf"), "--nofork"], "dbus")
        self._wait(lambda: bus.exists(), 5, "dbus-daemon socket")
        self._spawn([sys.executable, str(Path(__file__).resolve().parent.parent / "fakepolkit.py")], "polkit")
        self._wait(lambda: b"ready" in (tmp / "polkit.log").read_bytes(), 10, "stand-in PolicyKit")
        self._spawn(["ModemManager", "--test-enable", "--test-no-udev", "--log-level=DEBUG"], "mm")
        self._wait(lambda: self.mmcli("-L").returncode == 0, 15, "ModemManager on the bus")
        self._run(["dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.ModemManager1",
                   "/org/freedesktop/ModemManager1", "org.freedesktop.ModemManager1.Test.SetProfile",
                   "string:uxip", "string:generic", f"array:string:{tmp / 'modem.sock'}"])
        self._wait(lambda: "Modem/0" in self.mmcli("-L").stdout.decode(), 20, "the simulated modem")
        self._wait(lambda: '"state":"disabled"' in self.mmcli("-m", "0").stdout.decode(), 20, "modem initialised")
        # What the router's connection manager would do; the agent itself only reads.
        self._run(["mmcli", "-m", "0", "--enable"])
        self._run(["mmcli", "-m", "0", "--signal-setup=1"])
        self._run(["mmcli", "-m", "0", "--location-enable-3gpp"])
        self._run(["mmcli", "-m", "0", "--create-bearer=apn=fast.t-mobile.com"])
        self._wait(lambda: '"rsrp":"-96.00"' in self.mmcli("-m", "0", "--signal-get").stdout.decode(), 15,
                   "signal polling")

    def mmcli(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["mmcli", *args, "-J"], env=self.env, capture_output=True, timeout=10)

    def _run(self, cmd: list[str]) -> None:
        r = subprocess.run(cmd, env=self.env, capture_output=True, timeout=20)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)}: {r.stderr.decode().strip()}\n{self.log_tail()}")

    def _spawn(self, cmd: list[str], name: str) -> None:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT))

    def _wait(self, cond, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if cond():
                    return
            except (OSError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log_tail()}")

    def log_tail(self) -> str:
        p = self.tmp / "mm.log"
        return "\n".join(p.read_text(errors="replace").splitlines()[-25:]) if p.exists() else ""

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.sim.stop()


@pytest.fixture
def live_mm(tmp_path):
    reason = _live_skip_reason()
    if reason:
        pytest.skip(reason)
    lm = LiveMM(tmp_path, "standard")
    try:
        yield lm
    finally:
        lm.stop()


@pytest.mark.slow
def test_live_modemmanager_read_through_mm_backend(live_mm):
    r = subprocess.run(
        [str(Path(sys.executable).parent / "zte-uxip"), "sample", "--once", "--modem", "mm"],
        env=live_mm.env, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    for ident in IDENTIFIERS:
        assert ident.encode() not in r.stdout + r.stderr
    got = json.loads(r.stdout)["cellular"]
    clear = {"imei", "imsi", "iccid", "msisdn"}
    # The bearer the connection manager created carries the APN.
    assert {k: v for k, v in got.items() if k not in clear} == {**{k: v for k, v in MM_EXPECTED.items()
                                                                     if k not in clear}, "apn": "fast.t-mobile.com"}
    assert clear <= set(got)
    # The agent only reads: it sent no command that changes the modem's state.
    with_index = subprocess.run([str(Path(sys.executable).parent / "zte-uxip"), "sample", "--once", "--modem",
                                 "mm:0"], env=live_mm.env, capture_output=True, timeout=60)
    assert json.loads(with_index.stdout)["cellular"]["plmn"] == "310260"


@pytest.mark.slow
def test_live_auto_probe_picks_modemmanager_first(live_mm):
    r = subprocess.run([str(Path(sys.executable).parent / "zte-uxip"), "-v", "sample", "--once"],
                       env=live_mm.env, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode()
    assert b"auto selected mm:0" in r.stderr
    assert json.loads(r.stdout)["cellular"]["backend"] == "mm"


def test_mm_backend_without_modemmanager_running_is_one_clear_error(tmp_path, monkeypatch):
    if shutil.which("mmcli") is None:
        pytest.skip("needs mmcli (apt modemmanager)")
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    with pytest.raises(SourceError, match="^mm: mmcli -L: ") as e:
        mm.query_mm(None)
    assert "\n" not in str(e.value)


def test_running_looks_for_a_modemmanager_process(tmp_path):
    for pid, comm in (("1", "init\n"), ("42", "dnsmasq\n"), ("self", "x\n")):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "comm").write_text(comm)
    assert mm.running(str(tmp_path)) is False
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "comm").write_text("ModemManager\n")
    assert mm.running(str(tmp_path)) is True
    assert mm.running(str(tmp_path / "missing")) is False
