"""Tier 2: the wifi collector against a real kernel. Debian's kernel boots under QEMU (TCG) with
mac80211_hwsim radios=2, a WPA2 AP (hostapd, channel 6) on wlan0 and a station
(wpa_supplicant) on wlan1; our collector runs there and is compared with `iw` run in the same VM.
The same boot re-records tier 1's fixtures, which are then replayed here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vm import wifi_vm
from vm.iw_text import IW_MODE, parse_iw_dev, parse_station_dump
from vm.transcript import replayer

from zte_uxip import privacy
from zte_uxip.sources.nl80211 import Nl80211Source
from zte_uxip.wire import codec

pytestmark = pytest.mark.slow
KEY = b"k" * privacy.SECRET_BYTES
VM_BUDGET_S = 170  # the bound is 3 minutes for the whole tier


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    reason = wifi_vm.skip_reason()
    if reason:
        pytest.skip(reason)
    try:
        res = wifi_vm.run(tmp_path_factory.mktemp("wifi-vm"), timeout_s=VM_BUDGET_S)
    except wifi_vm.VmUnavailable as e:
        pytest.skip(str(e))
    rc = (res.out / "collect.rc").read_text().strip() if (res.out / "collect.rc").exists() else "no collect.rc"
    guest_log = (res.out / "guest.log").read_text() if (res.out / "guest.log").exists() else res.console[-2000:]
    assert rc == "collect_rc=0", f"guest failed ({rc}):\n{guest_log}"
    return res


@pytest.fixture(scope="module")
def result(vm):
    return json.loads((vm.out / "collector.json").read_text())


def by_iface(section):
    return {r["iface"]: r for r in section["radios"]}


def test_vm_tier_finishes_within_budget(vm):
    assert vm.wall_s < VM_BUDGET_S


def test_radios_match_iw_dev_in_the_same_vm(result):
    ref = parse_iw_dev(result["iw_dev"])
    got = by_iface(result["first"])
    assert set(got) == set(ref) == {"wlan0", "wlan1"}
    for name, r in ref.items():
        assert got[name]["mode"] == IW_MODE[r["type"]]
        assert got[name].get("ssid") == r.get("ssid")
        for k in ("freq_mhz", "channel", "width_mhz", "center_freq_mhz", "txpower_dbm"):
            assert got[name][k] == r[k], (name, k)
        assert got[name]["phy"] == f"phy{r['phy']}"
    assert got["wlan0"]["ssid"] == "uxip-test-net" and got["wlan0"]["security"] == "wpa2-psk"


def test_clients_and_their_signal_match_iw_station_dump(result):
    before = parse_station_dump(result["iw_station_wlan0_before"])
    after = parse_station_dump(result["iw_station_wlan0"])
    ap = by_iface(result["first"])["wlan0"]
    assert ap["clients"] == len(before) == len(after) == 1
    assert ap["signal_dbm_median"] == before[0]["signal_dbm"] == after[0]["signal_dbm"]
    for k in ("tx_bitrate_kbps", "rx_bitrate_kbps"):
        assert ap[f"{k}_median"] in (before[0][k], after[0][k]), k
    # Inactive time restarts at every frame the station sends, so it is not monotonic between the
    # two `iw` reads: bound it by the larger of them (plus the collector's run time).
    assert 0 <= ap["inactive_ms_median"] <= max(before[0]["inactive_ms"], after[0]["inactive_ms"]) + 2000
    assert "clients" not in by_iface(result["first"])["wlan1"]


def test_events_from_the_real_kernel(result):
    events = [(e["type"], e.get("iface"), e.get("cause") or e.get("reason")) for e in result["events"]]
    assert ("wifi_weak_password", "wlan0", "common") in events  # hostapd runs with 1234567890
    assert ("wifi_short_range", "wlan0", None) in events  # floor -10 dBm, hwsim signal -30 dBm
    assert ("wifi_driver_error", "wlan1", "interface_gone") in events  # `iw dev wlan1 del`
    assert ("wifi_driver_error", None, "firmware_restart") in events  # a crash line in /dev/kmsg
    after = by_iface(result["after_del"])
    assert set(after) == {"wlan0"} and after["wlan0"]["clients"] == 0
    assert not [k for k in after["wlan0"] if k.endswith("_median")]


def test_encoded_snapshot_has_no_ssid_or_mac_in_clear(result):
    wire = bytes.fromhex(result["cbor_hex"])
    macs = [line.split()[1] for line in result["iw_station_wlan0"].splitlines() if line.startswith("Station ")]
    assert macs and b"uxip-test-net" not in wire
    assert all(bytes.fromhex(m.replace(":", "")) not in wire for m in macs)
    ap = by_iface(codec.decode(wire)["wifi"])["wlan0"]
    assert ap["ssid"] == privacy.pseudonym(KEY, "uxip-test-net").hex()


def test_sample_once_shows_radios_with_the_design_names(vm):
    snap = json.loads((vm.out / "sample.json").read_text())
    radios = by_iface(snap["wifi"])
    assert {"iface", "band", "freq_mhz", "channel", "clients", "txpower_dbm"} <= set(radios["wlan0"])
    assert radios["wlan0"]["clients"] == 1 and radios["wlan0"]["channel"] == 6
    assert radios["wlan0"]["ssid"] != "uxip-test-net" and len(radios["wlan0"]["ssid"]) == 16  # 8-byte pseudonym


def test_fixtures_recorded_in_this_boot_replay_like_iw(vm):
    rec = vm.out / "fixtures"
    committed = Path(__file__).resolve().parent.parent / "fixtures" / "nl80211-hwsim"
    assert {p.name for p in rec.iterdir()} == {p.name for p in committed.iterdir()} - {"KERNEL"}
    ref = parse_iw_dev((rec / "iw_dev.txt").read_text())
    ours = {i.name: i for i in Nl80211Source(replayer(rec)).interfaces()}
    assert {n: (i.ifindex, i.freq_mhz) for n, i in ours.items()} == {
        n: (r["ifindex"], r["freq_mhz"]) for n, r in ref.items()}
