"""links[] rates and WAN usage against /sys/class/net on a real veth pair, and the WAN state
across an agent restart (RAM state dir) with flash written only on shutdown."""

from __future__ import annotations

import json
import os
import time

import pytest
from nsenter import entered
from wanutil import WanInNs, make_config

from zte_uxip.collectors.base import Context
from zte_uxip.collectors.links import LinksCollector
from zte_uxip.collectors.usage import cycle_start_ts

pytestmark = pytest.mark.netns

BLAST = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range({n}):
    s.sendto(b"x" * 1200, ("10.99.0.2", 9))
"""


@pytest.fixture
def quiet_pair(netns_pair):
    """No IPv6 on the pair: no spontaneous router solicitations between two reads."""
    a, b = netns_pair
    for ns in (a, b):
        ns.sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
    b.sh("ip", "neigh", "replace", "10.99.0.1", "lladdr", a.sh("cat", "/sys/class/net/a0/address").strip(),
         "dev", "b0")
    a.sh("ip", "neigh", "replace", "10.99.0.2", "lladdr", b.sh("cat", "/sys/class/net/b0/address").strip(),
         "dev", "a0")
    return a, b


def test_rates_equal_sysfs_counter_deltas(quiet_pair, monkeypatch):
    a, _b = quiet_pair
    t = [100.0]
    monkeypatch.setattr("zte_uxip.clock.monotonic_s", lambda: t[0])
    with entered(a.name):
        c = LinksCollector(Context())
        first = {li["name"]: li for li in c.collect()}
    tx0 = a.sysfs("a0", "statistics/tx_bytes")
    assert first["a0"]["tx_bytes_total"] == tx0 and "tx_bps" not in first["a0"]
    a.python(BLAST.format(n=500))
    t[0] += 4.0
    with entered(a.name):
        second = {li["name"]: li for li in c.collect()}
    c.close()
    tx1 = a.sysfs("a0", "statistics/tx_bytes")
    assert second["a0"]["tx_bytes_total"] == tx1 and tx1 - tx0 >= 500 * 1200
    assert second["a0"]["tx_bps"] == round((tx1 - tx0) * 8 / 4.0)
    assert second["a0"]["tx_bps_peak"] == second["a0"]["tx_bps"]
    assert second["a0"]["rx_bps"] == round((a.sysfs("a0", "statistics/rx_bytes") - first["a0"]["rx_bytes_total"])
                                           * 8 / 4.0)


def test_wan_usage_follows_the_counters_and_survives_an_agent_restart(quiet_pair, tmp_path):
    a, _b = quiet_pair
    a.sh("ip", "route", "add", "default", "via", "10.99.0.2")
    cfg = make_config(tmp_path)
    w = WanInNs(a, cfg, persist=True)
    first = w.collect()
    sys0 = a.sysfs("a0", "statistics/tx_bytes") + a.sysfs("a0", "statistics/rx_bytes")
    booted_in_cycle = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME) >= cycle_start_ts(time.time(), 1)
    seed = sys0 if booted_in_cycle else 0  # booted inside this cycle: all the counters are this cycle's
    assert first["usage_cycle_bytes"] == seed
    a.python(BLAST.format(n=300))
    second = w.collect()
    sys1 = a.sysfs("a0", "statistics/tx_bytes") + a.sysfs("a0", "statistics/rx_bytes")
    assert second["usage_cycle_bytes"] == sys1 - sys0 + seed
    # An outage, then the agent restarts (same boot): counts and usage come back from RAM.
    a.sh("ip", "route", "del", "default")
    w.wait(lambda s: s.get("up") is False)
    ram = json.loads((tmp_path / "ram" / "wan.json").read_text())
    assert ram["counts"]["disconnects_total"] == 1 and ram["counts"]["open_outage"]["cause"] == "route_lost"
    assert not (tmp_path / "flash" / "usage.json").exists()  # flash untouched while running
    w.close()
    flash = json.loads((tmp_path / "flash" / "usage.json").read_text())
    assert flash["bytes"] == sys1 - sys0 + seed  # written once, at shutdown
    a.python(BLAST.format(n=100))
    a.sh("ip", "route", "add", "default", "via", "10.99.0.2")
    w2 = WanInNs(a, cfg, persist=True)
    try:
        st = w2.wait(lambda s: s.get("up") is True)
        assert st["disconnects_total"] == 1
        (ev,) = w2.wan_down_events()  # the outage that began under the previous agent ends now
        assert ev["cause"] == "route_lost" and ev["iface"] == "a0"
        out = w2.collect()
        sys2 = a.sysfs("a0", "statistics/tx_bytes") + a.sysfs("a0", "statistics/rx_bytes")
        assert out["usage_cycle_bytes"] == sys2 - sys0 + seed
    finally:
        w2.close()
    assert os.stat(tmp_path / "flash" / "usage.json").st_size > 0


def test_usage_reaches_flash_at_most_once_a_day(quiet_pair, tmp_path, monkeypatch):
    a, _b = quiet_pair
    a.sh("ip", "route", "add", "default", "via", "10.99.0.2")
    t = [5000.0]
    monkeypatch.setattr("zte_uxip.clock.monotonic_s", lambda: t[0])
    w = WanInNs(a, make_config(tmp_path), persist=True)
    flash = tmp_path / "flash" / "usage.json"
    try:
        for _ in range(5):
            t[0] += 3600
            w.collect()
        assert not flash.exists()  # five hours of samples: RAM only
        t[0] += 86400
        w.collect()
        first = flash.stat().st_mtime_ns
        t[0] += 3600
        w.collect()
        assert flash.stat().st_mtime_ns == first  # not again within the day
        before = json.loads(flash.read_text())["bytes"]
        a.python(BLAST.format(n=50))
        w.collect()
    finally:
        w.close()
    assert json.loads(flash.read_text())["bytes"] >= before + 50 * 1200  # and once more at shutdown
