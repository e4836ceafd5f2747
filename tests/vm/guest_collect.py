"""Runs inside the Wi-Fi VM once the AP (wlan0) and its client (wlan1) are associated.

1. Records the raw nl80211 replies our source receives into OUT/fixtures/ (tier 1's fixtures),
   with `iw dev` and `iw dev wlan0 station dump` taken right after as the reference.
2. Runs the wifi collector against the live kernel and writes what it returned, its events and
   the encoded, privacy-filtered CBOR to OUT/collector.json: the first sample, a second after the
   short-range interval, and one after wlan1 is deleted and a firmware crash line is logged.
usage: guest_collect.py OUT HOSTAPD_CONF
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from transcript import recorder

from zte_uxip import privacy
from zte_uxip.collectors.base import Context
from zte_uxip.collectors.wifi import WifiCollector
from zte_uxip.config import BrokerConfig, Config, IntervalsConfig, WifiConfig
from zte_uxip.sources.netlink import NETLINK_GENERIC, NetlinkSocket
from zte_uxip.sources.nl80211 import Nl80211Source
from zte_uxip.wire import codec


def iw(*args: str) -> str:
    return subprocess.run(["iw", *args], capture_output=True, text=True, timeout=20).stdout


def record(fixtures: Path, hostapd_conf: Path) -> None:
    sock = NetlinkSocket(NETLINK_GENERIC)
    src = Nl80211Source(recorder(sock.request, fixtures))
    ifaces = src.interfaces()
    src.phy_names()
    for i in ifaces:
        if i.mode == "ap":
            src.stations(i.ifindex)
        src.survey(i.ifindex)
    (fixtures / "iw_dev.txt").write_text(iw("dev"))
    (fixtures / "iw_station_wlan0.txt").write_text(iw("dev", "wlan0", "station", "dump"))
    shutil.copy(hostapd_conf, fixtures / "hostapd.conf")
    sock.close()


def steady_cpu(col: WifiCollector, n: int = 20) -> dict:
    """CPU seconds per sample, steady state, next to the links collector (rtnetlink) as reference."""
    from zte_uxip.collectors.links import LinksCollector

    t0 = time.process_time()
    for _ in range(n):
        col.collect()
    wifi_s = (time.process_time() - t0) / n
    links = LinksCollector(Context())
    t0 = time.process_time()
    for _ in range(n):
        links.collect()
    links_s = (time.process_time() - t0) / n
    links.close()
    return {"wifi_cpu_s_per_sample": wifi_s, "links_cpu_s_per_sample": links_s, "samples": n,
            "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def main() -> int:
    out, hostapd_conf = Path(sys.argv[1]), Path(sys.argv[2])
    record(out / "fixtures", hostapd_conf)
    cfg = Config(broker=BrokerConfig("unused", "/x", "/x", "/x"), intervals=IntervalsConfig(sample_s=1, report_s=1),
                 wifi=WifiConfig(short_range_dbm=-10, uci_file="/nonexistent/wireless",
                                 hostapd_conf=(str(hostapd_conf),)))
    events: list[dict] = []
    ctx = Context(config=cfg, emit=events.append)
    col = WifiCollector(ctx)
    col.prime()
    result: dict = {}
    result["iw_station_wlan0_before"] = iw("dev", "wlan0", "station", "dump")
    t0 = time.process_time()
    result["first"] = col.collect()
    result["first_cpu_s"] = time.process_time() - t0
    result["iw_dev"] = iw("dev")
    result["iw_station_wlan0"] = iw("dev", "wlan0", "station", "dump")
    time.sleep(1.1)
    result["second"] = col.collect()
    key = b"k" * privacy.SECRET_BYTES
    result["cbor_hex"] = codec.encode_snapshot(privacy.apply({"wifi": result["second"]},
                                                             privacy.Policy(location=True, key=key))).hex()
    result["events_before_del"] = list(events)
    result["steady"] = steady_cpu(col)
    subprocess.run(["iw", "dev", "wlan1", "del"], check=True, timeout=20)
    with open("/dev/kmsg", "w") as kmsg:
        kmsg.write("ath10k_pci 0000:01:00.0: firmware crashed! (guid 1234)\n")
    result["after_del"] = col.collect()
    result["events"] = events
    col.close()
    (out / "collector.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
