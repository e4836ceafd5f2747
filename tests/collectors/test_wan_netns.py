"""WAN outages on the real kernel: veth pairs and a tun named like a WWAN interface in network
namespaces. Every outage is counted exactly once, with the first cause and its duration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import zte_uxip
from wanutil import WanInNs, make_config

pytestmark = pytest.mark.netns


@pytest.fixture
def wan(netns_pair, tmp_path):
    a, b = netns_pair
    a.sh("ip", "route", "add", "default", "via", "10.99.0.2")
    w = WanInNs(a, make_config(tmp_path))
    try:
        yield a, b, w
    finally:
        w.close()


def _down(st):
    return st.get("up") is False


def _up(st):
    return st.get("up") is True


def _restore_route(a):
    a.sh("ip", "route", "replace", "default", "via", "10.99.0.2")


class Stopwatch:
    """Bounds on the outage: it lasted at least from seeing it down to starting the repair, and
    at most from breaking the link to seeing it back (kernel notices can lag ~1 s)."""

    def __init__(self) -> None:
        self.t = [time.monotonic()]

    def lap(self) -> None:
        self.t.append(time.monotonic())

    def bounds(self) -> tuple[float, float]:
        t0, t_seen_down, t_repair, t_seen_up = self.t
        return t_repair - t_seen_down, t_seen_up - t0


def _one_outage(w, cause: str, sw: Stopwatch) -> dict:
    time.sleep(1.5)  # nothing more may arrive for the same outage
    downs = w.wan_down_events()
    assert len(downs) == 1, downs
    ev = downs[0]
    assert ev["cause"] == cause and ev["iface"] == w.state()["iface"]
    lo, hi = sw.bounds()
    assert lo - 0.5 <= ev["duration_s"] <= hi + 0.5, (ev, lo, hi)
    assert w.state()["disconnects_total"] == 1 and w.state()["disconnects_today"] == 1
    return ev


def test_wan_is_the_default_route_interface_and_up(wan):
    a, _b, w = wan
    st = w.wait(_up)
    assert st["iface"] == "a0" and st["kind"] == "ethernet" and st["ipv4"] == "10.99.0.1"
    assert st["disconnects_total"] == 0 and "last_disconnect" not in st
    assert "connected_s" not in st  # up before the agent looked: since when is unknown


def test_admin_down_counts_once_with_cause_and_duration(wan):
    a, _b, w = wan
    w.wait(_up)
    sw = Stopwatch()
    a.sh("ip", "link", "set", "a0", "down")
    st = w.wait(_down)
    sw.lap()
    assert st["last_disconnect"]["cause"] == "admin_down" and st["last_disconnect"]["ongoing"] is True
    assert st["iface"] == "a0"  # the route went with the link; the WAN stays the last known one
    assert w.wan_down_events() == []  # the event comes when the WAN is back
    time.sleep(2.0)
    sw.lap()
    a.sh("ip", "link", "set", "a0", "up")
    _restore_route(a)  # admin down flushed it silently; netifd puts it back on a router
    w.wait(_up)
    sw.lap()
    ev = _one_outage(w, "admin_down", sw)
    assert ev["duration_s"] >= 2
    st = w.state()
    assert st["last_disconnect"]["ongoing"] is False and st["last_disconnect"]["cause"] == "admin_down"
    assert 0 <= st["connected_s"] <= 2


def test_carrier_lost_when_the_peer_goes_down(wan):
    a, b, w = wan
    w.wait(_up)
    sw = Stopwatch()
    b.sh("ip", "link", "set", "b0", "down")
    w.wait(_down)
    sw.lap()
    time.sleep(1.0)
    sw.lap()
    b.sh("ip", "link", "set", "b0", "up")  # the route was only flagged linkdown: no route event when it clears
    w.wait(_up)
    sw.lap()
    _one_outage(w, "carrier_lost", sw)


def test_address_lost(wan):
    a, _b, w = wan
    w.wait(_up)
    sw = Stopwatch()
    a.sh("ip", "addr", "del", "10.99.0.1/24", "dev", "a0")
    w.wait(_down)
    sw.lap()
    time.sleep(1.0)
    sw.lap()
    a.sh("ip", "addr", "add", "10.99.0.1/24", "dev", "a0")
    _restore_route(a)
    w.wait(_up)
    sw.lap()
    _one_outage(w, "address_lost", sw)


def test_default_route_lost(wan):
    a, _b, w = wan
    w.wait(_up)
    sw = Stopwatch()
    a.sh("ip", "route", "del", "default")
    st = w.wait(_down)
    sw.lap()
    assert st["iface"] == "a0"
    time.sleep(1.0)
    sw.lap()
    _restore_route(a)
    w.wait(_up)
    sw.lap()
    _one_outage(w, "route_lost", sw)


def test_many_failures_in_one_outage_count_once_with_the_first_cause(wan):
    a, b, w = wan
    w.wait(_up)
    sw = Stopwatch()
    a.sh("ip", "route", "del", "default")
    w.wait(_down)
    sw.lap()
    b.sh("ip", "link", "set", "b0", "down")
    a.sh("ip", "addr", "del", "10.99.0.1/24", "dev", "a0")
    a.sh("ip", "link", "set", "a0", "down")
    time.sleep(0.5)
    sw.lap()
    a.sh("ip", "link", "set", "a0", "up")
    b.sh("ip", "link", "set", "b0", "up")
    a.sh("ip", "addr", "add", "10.99.0.1/24", "dev", "a0")
    _restore_route(a)
    w.wait(_up)
    sw.lap()
    _one_outage(w, "route_lost", sw)


def test_two_outages_two_events_in_order(wan):
    a, b, w = wan
    w.wait(_up)
    a.sh("ip", "route", "del", "default")
    w.wait(_down)
    _restore_route(a)
    w.wait(_up)
    b.sh("ip", "link", "set", "b0", "down")
    w.wait(_down)
    b.sh("ip", "link", "set", "b0", "up")
    w.wait(_up)
    time.sleep(1.0)
    assert [e["cause"] for e in w.wan_down_events()] == ["route_lost", "carrier_lost"]
    assert w.state()["disconnects_total"] == 2


def test_field_data_at_the_drop_rides_on_the_event(wan):
    a, _b, w = wan
    w.wait(_up)
    w.ctx.extras["last_snapshot"] = {"ts": 1, "uptime_s": 5, "cellular": {"rsrp_dbm": -101}, "events": [{"x": 1}]}
    a.sh("ip", "route", "del", "default")
    w.wait(_down)
    w.ctx.extras["last_snapshot"] = {"ts": 2, "cellular": {"rsrp_dbm": -60}}  # after the drop: not this one
    _restore_route(a)
    w.wait(_up)
    (ev,) = w.wan_down_events()
    assert ev["snapshot"] == {"ts": 1, "uptime_s": 5, "cellular": {"rsrp_dbm": -101}}


TUN_HOLDER = """
import fcntl, struct, sys, time
fd = open("/dev/net/tun", "r+b", buffering=0)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"wwan0", 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN|IFF_NO_PI
print("attached", flush=True)
sys.stdin.read()
"""


class TunHolder:
    """A process attached to the persistent tun: its carrier is up while the process holds it."""

    def __init__(self, ns) -> None:
        self.p = subprocess.Popen(["ip", "netns", "exec", ns.name, sys.executable, "-c", TUN_HOLDER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "attached"

    def stop(self) -> None:
        self.p.stdin.close()
        self.p.wait(timeout=5)


def test_wwan_tun_modem_drop(netns, tmp_path):
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("needs /dev/net/tun (the tun driver) for a WWAN stand-in")
    ns = netns
    ns.sh("ip", "tuntap", "add", "wwan0", "mode", "tun")
    holder = TunHolder(ns)
    ns.sh("ip", "addr", "add", "10.64.0.2/30", "dev", "wwan0")
    ns.sh("ip", "link", "set", "wwan0", "up")
    ns.sh("ip", "route", "add", "default", "dev", "wwan0")
    w = WanInNs(ns, make_config(tmp_path))
    try:
        st = w.wait(_up)
        assert st["iface"] == "wwan0" and st["kind"] == "cellular"
        sw = Stopwatch()
        holder.stop()  # the modem's data session ends: tun carrier goes (with ~1 s lag)
        w.wait(_down, timeout=5)
        sw.lap()
        time.sleep(1.0)
        sw.lap()
        holder = TunHolder(ns)
        w.wait(_up, timeout=5)
        sw.lap()
        _one_outage(w, "carrier_lost", sw)
    finally:
        w.close()
        holder.stop()


def test_modem_detach_is_an_outage_of_a_cellular_wan_only(netns, tmp_path):
    """The cellular collector's `attached: false` (last sample) takes a wwan WAN down with cause
    modem_detached, even though the kernel still shows the link up; on an Ethernet WAN it is ignored."""
    if not os.path.exists("/dev/net/tun"):
        pytest.skip("needs /dev/net/tun (the tun driver) for a WWAN stand-in")
    ns = netns
    ns.sh("ip", "tuntap", "add", "wwan0", "mode", "tun")
    holder = TunHolder(ns)
    ns.sh("ip", "addr", "add", "10.64.0.2/30", "dev", "wwan0")
    ns.sh("ip", "link", "set", "wwan0", "up")
    ns.sh("ip", "route", "add", "default", "dev", "wwan0")
    w = WanInNs(ns, make_config(tmp_path))
    try:
        w.wait(_up)
        sw = Stopwatch()
        w.ctx.extras["last_snapshot"] = {"cellular": {"attached": False, "rsrp_dbm": -120}}
        st = w.collect()
        assert st["up"] is False and st["last_disconnect"]["cause"] == "modem_detached"
        sw.lap()
        time.sleep(1.0)
        sw.lap()
        w.ctx.extras["last_snapshot"] = {"cellular": {"attached": True}}
        assert w.collect()["up"] is True
        sw.lap()
        ev = _one_outage(w, "modem_detached", sw)
        assert ev["snapshot"]["cellular"] == {"attached": False, "rsrp_dbm": -120}
    finally:
        w.close()
        holder.stop()


def test_modem_detach_does_not_touch_an_ethernet_wan(wan):
    _a, _b, w = wan
    w.wait(_up)
    w.ctx.extras["last_snapshot"] = {"cellular": {"attached": False}}
    assert w.collect()["up"] is True and w.state()["disconnects_total"] == 0


def test_ipv6_default_route_when_there_is_no_ipv4_one(netns, tmp_path):
    ns = netns
    ns.sh("ip", "link", "add", "e0", "type", "veth", "peer", "name", "e1")
    for dev in ("e0", "e1"):
        ns.sh("ip", "link", "set", dev, "up")
    ns.sh("ip", "-6", "addr", "add", "2001:db8::2/64", "dev", "e0", "nodad")
    ns.sh("ip", "-6", "route", "add", "default", "via", "2001:db8::1", "dev", "e0")
    w = WanInNs(ns, make_config(tmp_path))
    try:
        st = w.wait(_up)
        assert st["iface"] == "e0" and st["ipv6"] == "2001:db8::2" and "ipv4" not in st
    finally:
        w.close()


def test_configured_wan_wins_over_the_default_route(wan, tmp_path):
    a, _b, _w = wan
    a.sh("ip", "tuntap", "add", "wwan0", "mode", "tun")
    (tmp_path / "c").mkdir()
    w = WanInNs(a, make_config(tmp_path / "c", wan={"iface": "wwan0"}))
    try:
        st = w.wait(lambda s: "iface" in s)
        assert st["iface"] == "wwan0" and st["up"] is False  # no carrier, no address: not usable, no outage
        assert st["disconnects_total"] == 0
    finally:
        w.close()


def test_sample_once_shows_wan_links_and_device(wan):
    a, _b, _w = wan
    r = zte_uxip("sample", "--once", "--modem", "none", ns=a.name)
    assert r.returncode == 0, r.stderr.decode()
    snap = json.loads(r.stdout)
    wan_json = snap["wan"]
    assert wan_json["iface"] == "a0" and wan_json["up"] is True and wan_json["kind"] == "ethernet"
    assert wan_json["disconnects_total"] == 0
    assert len(wan_json["ipv4"]) == 16 and "10.99" not in r.stdout.decode()  # a pseudonym, never the address
    a0 = next(li for li in snap["links"] if li["name"] == "a0")
    assert {"rx_bps", "tx_bps", "rx_bps_peak", "tx_bps_peak"} <= set(a0)
    assert snap["device"]["agent_version"]


def test_event_overrun_is_recovered_by_a_fresh_dump(wan, tmp_path):
    """A full socket buffer (ENOBUFS) loses events; the watcher re-reads the state instead."""
    import socket as _socket

    from nsenter import entered

    from zte_uxip.sources import rtnl

    a, _b, _w = wan
    with entered(a.name):
        ev = rtnl.RtnlEvents()
    ev._sock.sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, 256)  # tiny on purpose
    batch = tmp_path / "flips.ip"
    batch.write_text("link set a0 down\nlink set a0 up\n" * 50 + "route replace default via 10.99.0.2\n")
    a.sh("ip", "-batch", str(batch))
    with pytest.raises(rtnl.Overrun):
        for _ in range(100):
            ev.read()
    ev.close()
    # The same storm under a running watcher with the tiny buffer: its state ends up right anyway.
    w = _w
    w.c.watcher._events._sock.sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, 256)
    a.sh("ip", "-batch", str(batch))
    w.settle()
    w.wait(_up)  # the storm ended with the link up and the route back
    a.sh("ip", "route", "del", "default")
    st = w.wait(_down)
    assert st["last_disconnect"]["ongoing"] is True and st["last_disconnect"]["cause"] == "route_lost"
    _restore_route(a)
    w.wait(_up)


def test_live_wan_check_for_the_transport_follows_the_kernel(wan):
    """The transport gates sending on ctx.extras["wan_up"], the watcher's state, not a sample old."""
    a, _b, w = wan
    w.wait(_up)
    check = w.ctx.extras["wan_up"]
    assert check() is True
    a.sh("ip", "link", "set", "a0", "down")
    w.wait(_down)
    assert check() is False  # no collect() in between: live
    a.sh("ip", "link", "set", "a0", "up")
    _restore_route(a)
    w.wait(_up)
    assert check() is True
    w.close()
    assert "wan_up" not in w.ctx.extras
