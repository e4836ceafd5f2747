"""Recorded-style telemetry for the server's tests and bench/bench_ingest.py: the snapshot of a
typical cellular router (five links, a cellular WAN, two Wi-Fi radios), encoded with the
agent's own codec, so the server reads exactly what an agent sends."""

from __future__ import annotations

from zte_uxip.wire import codec

T0 = 1_790_000_000


def typical_snapshot(i: int = 0, *, ts0: int = T0, sample_s: int = 10) -> dict:
    links = []
    for n, name in enumerate(("lo", "eth0", "br-lan", "wwan0", "wlan0")):
        links.append({"name": name, "oper": "up", "admin_up": True, "carrier": True, "mtu": 1500,
                      "carrier_changes_total": 2, "rx_bytes_total": 10_000_000 * n + 150_000 * i,
                      "tx_bytes_total": 5_000_000 * n + 40_000 * i, "rx_packets_total": 90_000 * n + 120 * i,
                      "tx_packets_total": 70_000 * n + 100 * i, "rx_errors_total": 0, "tx_errors_total": 0,
                      "rx_dropped_total": 3, "tx_dropped_total": 0, "rx_bps": 120_000 + n * 1000 + i,
                      "tx_bps": 32_000 + n * 100})
    return {
        "ts": ts0 + sample_s * i, "uptime_s": 86_400 + sample_s * i,
        "system": {"cpu_pct": 3.5 + i, "mem_used_pct": 41.2, "load1": 0.31, "mem_total_kib": 126_000, "procs": 61},
        "links": links,
        "wan": {"iface": "wwan0", "up": True, "disconnects_total": 1, "disconnects_today": 0, "kind": "cellular",
                "usage_cycle_bytes": 1_234_567_890 + 190_000 * i, "rx_bps_peak": 900_000, "tx_bps_peak": 210_000},
        "wifi": {"enabled": True, "radios": [
            {"iface": "wlan0", "band": "2.4", "freq_mhz": 2437, "channel": 6, "clients": 3, "txpower_dbm": 20.0,
             "width_mhz": 20, "mode": "ap", "signal_dbm_median": -55},
            {"iface": "wlan1", "band": "5", "freq_mhz": 5180, "channel": 36, "clients": 1, "txpower_dbm": 23.0,
             "width_mhz": 80, "mode": "ap", "signal_dbm_median": -61}]},
        "cellular": {"plmn": "310260", "mcc": "310", "mnc": "260", "rat": "lte", "cell_id": 0x01A2D101,
                     "tac": 0x2B67, "registration": "home", "roaming": False, "attached": True, "rssi_dbm": -69,
                     "rsrp_dbm": -95 - (i % 2), "rsrq_db": -10.5, "sinr_db": 12.0, "apn": "internet"},
        "device": {"manufacturer": "ZTE", "model": "MF286D", "hw_type": "router", "sw_version": "BD_MF286DV1.0.0B05",
                   "agent_version": "0.1.0"},
    }


def wan_down_event(ts: int) -> dict:
    return {"type": "wan_down", "ts": ts, "duration_s": 42, "cause": "carrier_lost", "iface": "wwan0",
            "snapshot": {"ts": ts, "cellular": {"rat": "lte", "rsrp_dbm": -121, "cell_id": 0x01A2D101, "tac": 0x2B67},
                         "wan": {"iface": "wwan0", "up": False}}}


def batch(device_id: str, seq: int, *, snapshots: int = 6, ts0: int | None = None, location: bool = True,
          policy: str = "2.1", events: list | None = None, dropped_total: int = 0) -> dict:
    start = T0 + 60 * seq if ts0 is None else ts0
    snaps = [typical_snapshot(i, ts0=start) for i in range(snapshots)]
    if not location:
        for s in snaps:
            s["cellular"].pop("cell_id")
            s["cellular"].pop("tac")
    return {"device_id": device_id, "seq": seq,
            "consent": {"enabled": True, "location": location, "policy_version": policy},
            "snapshots": snaps, "events": events or [], "dropped_total": dropped_total}


def encoded(device_id: str, seq: int, **kw) -> bytes:
    return codec.encode_batch(batch(device_id, seq, **kw))
