"""device.*, restart detection, version floor and power.* on recorded /etc, /proc and /sys trees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from wanutil import make_config

from zte_uxip import privacy
from zte_uxip.collectors.base import Context
from zte_uxip.collectors.device import DeviceCollector
from zte_uxip.collectors.power import PowerCollector
from zte_uxip.errors import SourceError
from zte_uxip.sources import devinfo
from zte_uxip.sources.power_supply import read_power
from zte_uxip.wire import codec

FIX = Path(__file__).resolve().parents[1] / "fixtures"
MF286 = str(FIX / "device-zte-mf286")


def test_openwrt_router_facts():
    f = devinfo.read_facts(MF286)
    assert (f.manufacturer, f.model, f.hw_type, f.sw_version) == \
        ("ZTE", "ZTE MF286", "ath79/nand", "23.05.3 r23809-234f1a2efa")
    assert f.serial == "ZTE1234567890"
    assert f.base_mac == "d0:5b:a8:12:34:56"  # eth0; br-lan's locally administered MAC is not the base MAC


def test_debian_tree_recorded_here():
    f = devinfo.read_facts(str(FIX / "device-debian-x86"))
    assert f.sw_version == "12" and f.manufacturer is None and f.model is None and f.serial is None


def test_identifiers_leave_only_as_pseudonyms(tmp_path):
    c = DeviceCollector(Context(config=make_config(tmp_path), root=MF286))
    out = c.collect()
    assert out["serial"] == "ZTE1234567890"  # clear inside the agent, before the filter
    sent = privacy.apply({"device": out}, privacy.Policy(location=True, key=b"k" * 32))
    wire = codec.encode_snapshot(sent)
    assert b"ZTE1234567890" not in wire and b"d0:5b:a8" not in wire and b"ZTE MF286" in wire
    decoded = codec.decode(wire)["device"]
    assert len(decoded["serial"]) == 16 and len(decoded["base_mac"]) == 16
    dropped = privacy.apply({"device": out}, privacy.Policy(location=True, key=None))["device"]
    assert "serial" not in dropped and "base_mac" not in dropped


def test_config_overrides_facts(tmp_path):
    cfg = make_config(tmp_path, device={"model": "MF286 (operator edition)", "manufacturer": "ZTE Corporation"})
    out = DeviceCollector(Context(config=cfg, root=MF286)).collect()
    assert out["model"] == "MF286 (operator edition)" and out["manufacturer"] == "ZTE Corporation"
    assert out["sw_version"] == "23.05.3 r23809-234f1a2efa"


@pytest.mark.parametrize(("floor", "fires"), [("23.05.4", True), ("24.10", True), ("23.05.3", False),
                                              ("22.03.7", False), ("beta", False)])
def test_version_too_low(tmp_path, floor, fires):
    events = []
    c = DeviceCollector(Context(config=make_config(tmp_path, device={"min_sw_version": floor}), root=MF286,
                                emit=events.append))
    c.prime()
    assert [e["type"] for e in events] == (["version_too_low"] if fires else [])
    if fires:
        assert events[0]["sw_version"] == "23.05.3 r23809-234f1a2efa" and events[0]["min_version"] == floor


class Device:
    """A device tree whose boot id the test can change (a reboot), and an agent on it."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "root"
        shutil.copytree(MF286, self.root)
        self.cfg = make_config(tmp_path)
        self.flash = Path(self.cfg.state.flash_dir)

    def reboot(self, boot_id: str) -> None:
        (self.root / "proc/sys/kernel/random/boot_id").write_text(boot_id + "\n")

    def start(self, persist: bool = True) -> tuple[DeviceCollector, list[dict]]:
        events: list[dict] = []
        c = DeviceCollector(Context(config=self.cfg, root=str(self.root), emit=events.append, persist=persist))
        c.prime()
        return c, events


def test_restart_with_and_without_the_clean_marker(tmp_path):
    d = Device(tmp_path)
    agent, events = d.start()
    assert events == [] and (d.flash / "boot.json").exists()  # first start ever: nothing to compare
    agent.close()  # clean shutdown writes the marker
    d.reboot("11111111-2222-4333-8444-555555555555")
    agent, events = d.start()
    assert events == []
    # Power cut: no close(), and the device comes back with a new boot id.
    d.reboot("99999999-2222-4333-8444-555555555555")
    _agent, events = d.start()
    assert [e["type"] for e in events] == ["unexpected_restart"]
    assert isinstance(events[0]["previous_uptime_s"], int) and events[0]["previous_uptime_s"] >= 0


def test_agent_crash_without_reboot_is_not_a_device_restart(tmp_path):
    d = Device(tmp_path)
    d.start()
    _again, events = d.start()  # same boot id, the previous agent never closed
    assert events == []


def test_sample_never_writes_the_marker(tmp_path):
    d = Device(tmp_path)
    c, events = d.start(persist=False)
    c.close()
    assert not d.flash.exists() and events == []


def test_restart_detection_on_this_machine(tmp_path):
    """The real /proc boot id: the same boot twice is no restart; a foreign marker is one."""
    cfg = make_config(tmp_path)
    Path(cfg.state.flash_dir).mkdir()
    (Path(cfg.state.flash_dir) / "boot.json").write_text(
        '{"boot_id": "00000000-0000-4000-8000-000000000000", "clean": false, "uptime_s": 4242}')
    events: list[dict] = []
    DeviceCollector(Context(config=cfg, emit=events.append, persist=True)).prime()
    assert [(e["type"], e["previous_uptime_s"]) for e in events] == [("unexpected_restart", 4242)]
    events.clear()
    DeviceCollector(Context(config=cfg, emit=events.append, persist=True)).prime()
    assert events == []


@pytest.mark.parametrize("content", [b"DISTRIB_RELEASE='23.05\x01.3'\n", b"DISTRIB_RELEASE='" + b"9" * 300 + b"'\n",
                                     b"x" * 20000])
def test_hostile_release_files(tmp_path, content):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/openwrt_release").write_bytes(content)
    with pytest.raises(SourceError) as e:
        devinfo.read_facts(str(tmp_path))
    assert "\n" not in str(e.value)


def test_release_noise_is_skipped(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/openwrt_release").write_bytes(
        b"\r\n# comment\r\n\xff\xfe garbage\r\nDISTRIB_RELEASE='23.05.3'\r\nlowercase=1\r\nDISTRIB_TARGET=\r\n")
    f = devinfo.read_facts(str(tmp_path))
    assert f.sw_version == "23.05.3" and f.hw_type is None


def test_device_tree_garbage(tmp_path):
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_bytes(b"ZTE\x07MF286\0")
    with pytest.raises(SourceError):
        devinfo.read_facts(str(tmp_path))


# ---------------------------------------------------------------- power

HOTSPOT = str(FIX / "power-hotspot")


def test_hotspot_battery():
    p = read_power(HOTSPOT)
    assert (p.battery_pct, p.status, p.external_power) == (87, "Charging", True)


def test_router_without_battery_has_no_power_section(tmp_path):
    c = PowerCollector(Context(config=make_config(tmp_path), root=MF286))
    assert c.collect() is None


def _power_tree(tmp_path, capacity="100", status="Full", usb_online="1"):
    root = tmp_path / "pw"
    shutil.copytree(HOTSPOT, root, dirs_exist_ok=True)
    ps = root / "sys/class/power_supply"
    (ps / "battery/capacity").write_text(capacity + "\n")
    (ps / "battery/status").write_text(status + "\n")
    (ps / "usb/online").write_text(usb_online + "\n")
    (root / "proc/sys/kernel/random").mkdir(parents=True, exist_ok=True)
    (root / "proc/sys/kernel/random/boot_id").write_text("6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b\n")
    return root


def test_long_time_charging(tmp_path, monkeypatch):
    now = [10_000.0]
    monkeypatch.setattr("zte_uxip.clock.boottime_s", lambda: now[0])
    root = _power_tree(tmp_path)
    cfg = make_config(tmp_path, power={"long_charging_s": 3600})
    c = PowerCollector(Context(config=cfg, root=str(root), persist=True))
    out = c.collect()
    assert out == {"battery_pct": 100, "external_power": True, "charging": False, "on_external_power_s": 0,
                   "long_charging": False}
    now[0] += 3601
    assert c.collect()["long_charging"] is True
    # The agent restarts: the start of the condition is remembered in the RAM state dir.
    c2 = PowerCollector(Context(config=cfg, root=str(root), persist=True))
    assert c2.collect()["on_external_power_s"] == 3601 and c2.collect()["long_charging"] is True
    _power_tree(tmp_path, capacity="99", status="Discharging", usb_online="0")
    out = c2.collect()
    assert out["external_power"] is False and out["charging"] is False and out["long_charging"] is False
    assert "on_external_power_s" not in out


@pytest.mark.parametrize(("name", "value"), [("capacity", "abc"), ("capacity", "250"), ("status", "Exploding"),
                                             ("capacity", "\x00\x01\x02"), ("status", "x" * 100)])
def test_hostile_power_supply_values(tmp_path, name, value):
    root = _power_tree(tmp_path)
    (root / "sys/class/power_supply/battery" / name).write_text(value)
    with pytest.raises(SourceError) as e:
        read_power(str(root))
    assert "\n" not in str(e.value)
