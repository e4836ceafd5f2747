"""The wifi collector on nl80211 replies recorded from a real kernel (tier 1), against `iw` output
from the same VM; events; what reaches the wire."""

from __future__ import annotations

import errno
import json
import re
import shutil
import struct
from pathlib import Path

import pytest
from vm.iw_text import IW_MODE, parse_iw_dev, parse_station_dump
from vm.transcript import frame, replayer

from zte_uxip import privacy
from zte_uxip.collectors import COLLECTORS
from zte_uxip.collectors.base import Context
from zte_uxip.collectors.wifi import WifiCollector
from zte_uxip.config import BrokerConfig, Config, IntervalsConfig, WifiConfig
from zte_uxip.sampler import Sampler
from zte_uxip.sources import netlink
from zte_uxip.sources.nl80211 import Nl80211Source
from zte_uxip.wire import codec

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "nl80211-hwsim"
IW_DEV = parse_iw_dev((FIX / "iw_dev.txt").read_text())
IW_STA = parse_station_dump((FIX / "iw_station_wlan0.txt").read_text())
STATION_MACS = re.findall(r"Station ([0-9a-f:]{17})", (FIX / "iw_station_wlan0.txt").read_text())
KEY = b"k" * privacy.SECRET_BYTES


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(tmp_path: Path, overrides: dict | None = None, report_s: int = 60, floor: int = -75,
         hostapd: bool = True, kmsg: str = "") -> tuple[WifiCollector, list[dict], Clock]:
    conf = tmp_path / "hostapd.conf"
    if hostapd:
        shutil.copy(FIX / "hostapd.conf", conf)
    cfg = Config(broker=BrokerConfig("unused", "/x", "/x", "/x"),
                 intervals=IntervalsConfig(sample_s=10, report_s=report_s),
                 wifi=WifiConfig(short_range_dbm=floor, uci_file="/nonexistent", hostapd_conf=(str(conf),),
                                 kmsg_file=kmsg))
    events: list[dict] = []
    clock = Clock()
    col = WifiCollector(Context(config=cfg, emit=events.append), Nl80211Source(replayer(FIX, overrides)), clock)
    col.prime()
    return col, events, clock


def radios(section: dict) -> dict[str, dict]:
    return {r["iface"]: r for r in section["radios"]}


def test_radios_match_iw(tmp_path):
    col, _events, _ = make(tmp_path)
    out = col.collect()
    got = radios(out)
    assert set(got) == set(IW_DEV) == {"wlan0", "wlan1"}
    for name, ref in IW_DEV.items():
        r = got[name]
        assert r["mode"] == IW_MODE[ref["type"]]
        assert r.get("ssid") == ref.get("ssid")
        for k in ("freq_mhz", "channel", "width_mhz", "center_freq_mhz", "txpower_dbm"):
            assert r[k] == ref[k], k
        assert r["band"] == "2.4" and r["phy"] == f"phy{ref['phy']}"
    ap, sta = got["wlan0"], got["wlan1"]
    assert ap["clients"] == len(IW_STA) == 1
    assert ap["signal_dbm_min"] == ap["signal_dbm_median"] == ap["signal_dbm_max"] == IW_STA[0]["signal_dbm"]
    assert ap["tx_bitrate_kbps_median"] == IW_STA[0]["tx_bitrate_kbps"]
    assert ap["security"] == "wpa2-psk"
    assert "clients" not in sta and "signal_dbm_median" not in sta  # a station's "station" is its AP
    # the AP radio never scanned, so hwsim has no survey for it: unknown, not zero
    assert "noise_dbm" not in ap and "busy_pct" not in ap
    assert sta["noise_dbm"] == -92 and 0 < sta["channel_busy_ms"] <= sta["channel_time_ms"]
    assert sta["busy_pct"] == round(100 * sta["channel_busy_ms"] / sta["channel_time_ms"], 1)
    assert out["enabled"] is True  # hostapd.conf says nothing; an AP on a channel is Wi-Fi on


def test_wire_carries_no_ssid_no_mac_and_no_password(tmp_path):
    col, events, _ = make(tmp_path)
    snap = {"wifi": col.collect(), "events": events}
    wire = codec.encode_snapshot(privacy.apply(snap, privacy.Policy(location=True, key=KEY)))
    decoded = codec.decode(wire)
    text = json.dumps(decoded)
    assert b"uxip-test-net" not in wire and "uxip-test-net" not in text
    assert decoded["wifi"]["radios"][0]["ssid"] == privacy.pseudonym(KEY, "uxip-test-net").hex()
    assert b"1234567890" not in wire and "1234567890" not in text
    assert STATION_MACS
    for mac in STATION_MACS:
        assert mac not in json.dumps(snap) and bytes.fromhex(mac.replace(":", "")) not in wire
    assert {r["iface"] for r in decoded["wifi"]["radios"]} == {"wlan0", "wlan1"}


def test_weak_passphrase_is_an_event_with_the_verdict_only(tmp_path):
    col, events, _ = make(tmp_path)
    col.collect()
    assert events == [{"type": "wifi_weak_password", "ts": events[0]["ts"], "uptime_s": events[0]["uptime_s"],
                       "iface": "wlan0", "reason": "common"}]
    col.collect()
    assert len(events) == 1  # not repeated while the configuration is unchanged
    conf = tmp_path / "hostapd.conf"
    conf.write_text(conf.read_text().replace("1234567890", "x7#Vq9!mPz-long") + "\n")
    col.collect()
    assert len(events) == 1  # fixed: no new event


def test_config_files_are_looked_at_once_per_report_interval(tmp_path):
    col, events, clock = make(tmp_path)
    col.collect()
    assert len(events) == 1  # the weak passphrase of the starting configuration
    conf = tmp_path / "hostapd.conf"
    conf.write_text(conf.read_text().replace("1234567890", "password") + "\n")  # still weak
    clock.t += 10
    col.collect()
    assert len(events) == 1  # a sample later: not looked at yet
    clock.t += 50
    col.collect()
    assert len(events) == 2 and events[1]["reason"] == "too_short"  # within the report interval


def test_short_range_needs_a_whole_report_interval_below_the_floor(tmp_path):
    col, events, clock = make(tmp_path, report_s=60, floor=-20, hostapd=False)  # hwsim signal: -30 dBm
    col.collect()
    clock.t += 59
    col.collect()
    assert not events
    clock.t += 1
    col.collect()
    (ev,) = events
    assert ev["type"] == "wifi_short_range"
    assert (ev["iface"], ev["signal_dbm_median"], ev["floor_dbm"], ev["duration_s"]) == ("wlan0", -30, -20, 60)
    clock.t += 600
    col.collect()
    assert len(events) == 1  # once per episode


def test_signal_above_the_floor_is_no_event(tmp_path):
    col, events, clock = make(tmp_path, report_s=60, floor=-75, hostapd=False)
    for _ in range(5):
        col.collect()
        clock.t += 60
    assert events == []


def test_vanished_interface_is_a_driver_error(tmp_path):
    overrides: dict = {}
    col, events, _ = make(tmp_path, overrides, hostapd=False)
    col.collect()
    replies = [(t, body) for t, _f, _s, body in netlink.iter_messages((FIX / "cmd5-all.bin").read_bytes())]
    overrides["cmd5-all"] = frame([(t, b) for t, b in replies if b"wlan1\0" not in b])
    out = col.collect()
    assert set(radios(out)) == {"wlan0"}
    assert [(e["type"], e["iface"], e["cause"]) for e in events] == [("wifi_driver_error", "wlan1", "interface_gone")]


def test_firmware_crash_in_the_kernel_log_is_a_driver_error(tmp_path):
    kmsg = tmp_path / "kmsg"
    kmsg.write_text("6,100,5,-;old: firmware crashed! before the agent started\n")
    col, events, _ = make(tmp_path, hostapd=False, kmsg=str(kmsg))
    col.collect()
    assert events == []  # history before start is not ours to report
    with kmsg.open("a") as fh:
        fh.write("3,101,9,-;ath10k_pci 0000:01:00.0: firmware crashed! (guid 1)\n SUBSYSTEM=pci\n"
                 "6,102,9,-;br-lan: port 2(wlan0) entered forwarding state\n"
                 "3,103,9,-;iwlwifi 0000:00:14.3: Microcode SW error detected. Restarting 0x0.\n"
                 "3,104,9,-;amdgpu 0000:03:00.0: firmware crashed, resetting GPU\n"
                 "3,105,9,-;Bluetooth: hci0: firmware crashed\n"
                 "6,106,9,-;ieee80211 phy0: Hardware restart was requested\n")
    col.collect()
    (ev,) = events
    # ath10k, iwlwifi and mac80211 count; the GPU and Bluetooth crashes are not Wi-Fi's
    assert (ev["type"], ev["cause"], ev["count"]) == ("wifi_driver_error", "firmware_restart", 3)
    assert "ath10k" not in json.dumps(ev)  # the log line itself never travels


def test_survey_refused_leaves_noise_and_busy_absent(tmp_path):
    col, _, _ = make(tmp_path, {"cmd50-if3": errno.EOPNOTSUPP}, hostapd=False)
    sta = radios(col.collect())["wlan1"]
    assert not {"noise_dbm", "channel_time_ms", "channel_busy_ms", "busy_pct"} & set(sta)
    assert sta["freq_mhz"] == 2437


def test_ap_with_no_clients(tmp_path):
    col, _, _ = make(tmp_path, {"cmd17-if2": b""}, hostapd=False)
    ap = radios(col.collect())["wlan0"]
    assert ap["clients"] == 0
    assert not [k for k in ap if k.endswith(("_min", "_median", "_max"))]


def test_no_nl80211_and_no_config_means_no_wifi_section(tmp_path):
    col, events, _ = make(tmp_path, {"ctrl-getfamily": errno.ENOENT}, hostapd=False)
    assert col.collect() is None and events == []


def test_wifi_subsystem_unloaded_is_a_driver_error_for_each_interface(tmp_path):
    overrides: dict = {}
    col, events, _ = make(tmp_path, overrides, hostapd=False)
    col.collect()
    overrides["ctrl-getfamily"] = overrides["cmd5-all"] = errno.ENOENT  # the cached family id is stale too
    assert col.collect() is None
    assert sorted(e["iface"] for e in events) == ["wlan0", "wlan1"]


def test_no_nl80211_but_a_config_still_reports_the_settings(tmp_path):
    col, _, _ = make(tmp_path, {"ctrl-getfamily": errno.ENOENT})
    assert col.collect() == {"radios": []}  # hostapd.conf alone knows no on/off, guest or steering


def test_broken_config_costs_only_the_config_facts(tmp_path):
    col, events, _ = make(tmp_path)
    (tmp_path / "hostapd.conf").write_text("this is not hostapd\n")
    out = col.collect()
    assert {"wlan0", "wlan1"} == set(radios(out)) and "security" not in radios(out)["wlan0"]
    assert events == []


def test_netlink_failure_costs_the_section_not_the_snapshot(tmp_path):
    truncated = struct.pack("=IHHII", 100, 0x22, 2, 0, 0) + b"\0" * 8  # says 100 bytes, holds 24
    col, _, _ = make(tmp_path, {"cmd5-all": truncated})  # with a config: parsed, it would be a section
    sampler = Sampler([col], Context())
    snap = sampler.sample()
    assert "wifi" not in snap and snap["uptime_s"] > 0


def test_collector_is_in_the_table_and_absent_on_a_host_without_wifi():
    col = COLLECTORS["wifi"](Context())
    try:
        col.prime()
        out = col.collect()
    finally:
        col.close()
    if Path("/sys/class/ieee80211").is_dir() and any(Path("/sys/class/ieee80211").iterdir()):
        assert out is not None and out["radios"]  # a host with radios shows them
    else:
        assert out is None  # no radio, no Wi-Fi config: the section is simply absent


@pytest.mark.parametrize(("values", "expected"), [
    ([-60], (-60, -60, -60)), ([-70, -50], (-70, -60, -50)), ([-71, -50], (-71, -60, -50)),
    ([-90, -40, -60], (-90, -60, -40)), ([None, 5, None, 3], (3, 4, 5)), ([None], None), ([], None),
])
def test_min_median_max(values, expected):
    from zte_uxip.collectors.wifi import _stats

    assert _stats(values) == expected


def test_garbage_in_the_kernel_log_is_no_event_and_no_crash(tmp_path):
    kmsg = tmp_path / "kmsg"
    kmsg.write_bytes(b"")
    col, events, _ = make(tmp_path, hostapd=False, kmsg=str(kmsg))
    kmsg.write_bytes(b"\xff\xfe\x00;;;\n" * 50 + b"no-semicolon wlan0 firmware crashed\n" + b"x" * 100000)
    col.collect()
    assert [(e["cause"], e["count"]) for e in events] == [("firmware_restart", 1)]


def test_unreadable_kernel_log_only_disables_firmware_detection(tmp_path):
    col, events, _ = make(tmp_path, hostapd=False, kmsg=str(tmp_path / "missing"))
    assert {"wlan0", "wlan1"} == set(radios(col.collect())) and events == []


def test_sample_once_on_this_host():
    """The command line end to end; the hwsim VM test covers the with-Wi-Fi case of the same command."""
    from conftest import zte_uxip

    r = zte_uxip("sample", "--once", "--modem", "none", "--format", "json")
    assert r.returncode == 0, r.stderr.decode()
    snap = json.loads(r.stdout)
    has_radios = Path("/sys/class/ieee80211").is_dir() and any(Path("/sys/class/ieee80211").iterdir())
    if has_radios:
        assert {"iface", "band", "freq_mhz"} <= set(snap["wifi"]["radios"][0])
    else:
        assert "wifi" not in snap
