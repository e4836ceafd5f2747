"""Parse `iw dev` and `iw dev X station dump` text: the independent reference our collector is
compared with (both tiers)."""

from __future__ import annotations

import re


def parse_iw_dev(text: str) -> dict[str, dict]:
    """Interfaces by name (netdev ones only) with ifindex, type, ssid, channel, freq, width, txpower, phy."""
    out: dict[str, dict] = {}
    phy = None
    cur: dict | None = None
    for line in text.splitlines():
        s = line.strip()
        if m := re.fullmatch(r"phy#(\d+)", s):
            phy, cur = int(m.group(1)), None
        elif m := re.fullmatch(r"Interface (\S+)", s):
            cur = out.setdefault(m.group(1), {"phy": phy})
        elif s.startswith("Unnamed/non-netdev"):
            cur = None
        elif cur is None:
            continue
        elif m := re.fullmatch(r"ifindex (\d+)", s):
            cur["ifindex"] = int(m.group(1))
        elif m := re.fullmatch(r"type (.+)", s):
            cur["type"] = m.group(1)
        elif m := re.fullmatch(r"ssid (.+)", s):
            cur["ssid"] = m.group(1)
        elif m := re.fullmatch(r"txpower ([\d.]+) dBm", s):
            cur["txpower_dbm"] = float(m.group(1))
        elif m := re.match(r"channel (\d+) \((\d+) MHz\), width: (\d+) MHz.*?center1: (\d+) MHz", s):
            cur.update(channel=int(m.group(1)), freq_mhz=int(m.group(2)), width_mhz=int(m.group(3)),
                       center_freq_mhz=int(m.group(4)))
    return out


def parse_station_dump(text: str) -> list[dict]:
    """One dict per station: signal_dbm, tx/rx_bitrate_kbps, inactive_ms (MACs dropped)."""
    out: list[dict] = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Station "):
            out.append({})
        elif not out:
            continue
        elif m := re.fullmatch(r"signal:\s+(-?\d+)(?: \[.*\])? dBm", s):
            out[-1]["signal_dbm"] = int(m.group(1))
        elif m := re.fullmatch(r"(tx|rx) bitrate:\s+([\d.]+) MBit/s.*", s):
            out[-1][f"{m.group(1)}_bitrate_kbps"] = round(float(m.group(2)) * 1000)
        elif m := re.fullmatch(r"inactive time:\s+(\d+) ms", s):
            out[-1]["inactive_ms"] = int(m.group(1))
    return out


IW_MODE = {"AP": "ap", "managed": "station", "mesh point": "mesh", "monitor": "monitor", "IBSS": "adhoc",
           "P2P-client": "p2p-client", "P2P-GO": "p2p-go"}
