"""Rates, usage and the WAN tracker on netlink messages recorded from a real kernel
(scripts/record_rtnl_fixtures.py): counter wrap, reset, rename and re-creation."""

from __future__ import annotations

import struct
from pathlib import Path

from zte_uxip.collectors.disconnects import WanTracker
from zte_uxip.collectors.linkwatch import LinkWatcher
from zte_uxip.collectors.throughput import RateMeter, counter_delta
from zte_uxip.collectors.usage import UsageMeter
from zte_uxip.sources import netlink, rtnl

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "rtnl"


def _payload(name: str) -> bytes:
    ((_t, _f, _s, body),) = list(netlink.iter_messages((FIX / f"{name}.bin").read_bytes()))
    return body


def _link(name: str) -> rtnl.LinkInfo:
    return rtnl.parse_link(_payload(name))


def with_counters(payload: bytes, **values: int) -> bytes:
    """The recorded message with some IFLA_STATS64 counters rewritten in place."""
    buf = bytearray(payload)
    off = rtnl.IFINFOMSG.size
    while off + 4 <= len(buf):
        length, atype = struct.unpack_from("=HH", buf, off)
        if atype & netlink.NLA_TYPE_MASK == rtnl.IFLA_STATS64:
            for name, value in values.items():
                struct.pack_into("=Q", buf, off + 4 + 8 * rtnl.STATS64_NAMES.index(name), value)
            return bytes(buf)
        off += netlink.align4(length)
    raise AssertionError("no IFLA_STATS64 in the recording")


def test_rates_from_recorded_counters():
    before, after = _link("link_before"), _link("link_after")
    m = RateMeter(window_s=60)
    assert m.update(before.index, before.counters["rx_bytes_total"], before.counters["tx_bytes_total"], 100.0) == {}
    r = m.update(after.index, after.counters["rx_bytes_total"], after.counters["tx_bytes_total"], 110.0)
    expected = round((after.counters["tx_bytes_total"] - before.counters["tx_bytes_total"]) * 8 / 10)
    assert expected > 0 and r == {"rx_bps": 0, "tx_bps": expected, "rx_bps_peak": 0, "tx_bps_peak": expected}


def test_rename_keeps_the_baseline_recreation_starts_a_new_one():
    after, renamed, recreated = _link("link_after"), _link("link_renamed"), _link("link_recreated")
    assert (after.index, after.name) == (renamed.index, "rec0") and renamed.name == "wan0"
    assert recreated.name == "rec0" and recreated.index != after.index
    m = RateMeter(window_s=60)
    m.update(after.index, after.counters["rx_bytes_total"], after.counters["tx_bytes_total"], 0.0)
    r = m.update(renamed.index, renamed.counters["rx_bytes_total"], renamed.counters["tx_bytes_total"], 5.0)
    assert r["tx_bps"] == round((renamed.counters["tx_bytes_total"] - after.counters["tx_bytes_total"]) * 8 / 5)
    m.keep_only({recreated.index})
    assert m.update(recreated.index, 0, 0, 10.0) == {}  # a new interface: no rate from someone else's counters


def test_32bit_wrap_in_a_recorded_message():
    top = rtnl.parse_link(with_counters(_payload("link_after"), tx_bytes_total=2**32 - 1000))
    wrapped = rtnl.parse_link(with_counters(_payload("link_renamed"), tx_bytes_total=500))
    m = RateMeter(window_s=60)
    m.update(top.index, 0, top.counters["tx_bytes_total"], 0.0)
    assert m.update(wrapped.index, 0, wrapped.counters["tx_bytes_total"], 1.0)["tx_bps"] == 1500 * 8


def test_counter_reset_gives_no_rate():
    assert counter_delta(5000, 100) is None  # a driver reset, not a wrap
    assert counter_delta(2**40, 10) is None  # 64-bit counters do not wrap in practice
    assert counter_delta(2**32 - 1, 0) == 1
    m = RateMeter(window_s=60)
    m.update(3, 0, 5000, 0.0)
    assert "tx_bps" not in m.update(3, 0, 100, 1.0)
    assert m.update(3, 0, 900, 2.0)["tx_bps"] == 800 * 8


def test_peak_is_the_highest_rate_inside_the_report_window():
    m = RateMeter(window_s=30)
    m.update(1, 0, 0, 0.0)
    m.update(1, 0, 1000, 10.0)  # 800 bps
    m.update(1, 0, 1100, 20.0)  # 80 bps
    assert m.update(1, 0, 1200, 30.0)["tx_bps_peak"] == 800
    assert m.update(1, 0, 1300, 40.0)["tx_bps_peak"] == 80  # the 800 fell out of the window


def test_usage_across_rename_and_recreation():
    before, after, recreated = _link("link_before"), _link("link_after"), _link("link_recreated")
    u = UsageMeter(1, 0, "boot-a", lambda e: None)  # first run ever
    ts = 1_800_000_000.0
    out = u.update("rec0", before.index, before.counters["rx_bytes_total"], before.counters["tx_bytes_total"],
                   ts, boot_s=ts)
    assert out["usage_cycle_bytes"] == 0  # booted before this cycle: earlier traffic is not this cycle's
    out = u.update("rec0", after.index, after.counters["rx_bytes_total"], after.counters["tx_bytes_total"],
                   ts + 10, boot_s=ts + 10)
    grown = after.counters["tx_bytes_total"] - before.counters["tx_bytes_total"]
    assert out["usage_cycle_bytes"] == grown
    recreated_total = 4000  # what the new interface has carried since it appeared
    out = u.update("rec0", recreated.index, 1000, 3000, ts + 20, boot_s=ts + 20)
    assert out["usage_cycle_bytes"] == grown + recreated_total


class FakeEvents:
    def read(self):
        return []

    def close(self):
        pass


class FakeSource:
    """Answers dumps from recorded state; ``routes_now`` is what a route re-read returns."""

    def __init__(self, links, addrs, routes):
        self._links, self._addrs, self.routes_now = links, addrs, routes

    def links(self):
        return self._links

    def addrs(self):
        return self._addrs

    def routes(self):
        return self.routes_now

    def close(self):
        pass


def test_recorded_event_stream_drives_the_tracker():
    link = _link("link_recreated")
    addr = rtnl.AddrInfo(link.index, rtnl.AF_INET, "10.98.0.1", 24, 0)
    default = rtnl.RouteInfo(rtnl.AF_INET, 0, rtnl.RT_TABLE_MAIN, rtnl.RTN_UNICAST, link.index, "10.98.0.2", 0, 0)
    events: list[dict] = []
    now = [100.0]
    tracker = WanTracker(boot_s=lambda: now[0], wall=lambda: 1_800_000_000.0 + now[0], emit=events.append)
    source = FakeSource([link], [addr], [default])
    w = LinkWatcher(tracker, events=FakeEvents(), source=source)
    assert tracker.usable and tracker.wan == "rec0"
    source.routes_now = []  # admin down flushes the default route without a notification
    stream = list(netlink.iter_messages((FIX / "events_down_up_route_addr.bin").read_bytes()))
    assert len(stream) >= 8
    seen_down_at = None
    for mtype, _f, _s, body in stream:
        now[0] += 1.0
        if mtype == rtnl.RTM_NEWROUTE and rtnl.parse_route(body).is_default:
            source.routes_now = [default]
        w.handle([(mtype, body)])
        if seen_down_at is None and not tracker.usable:
            seen_down_at = now[0]
    downs = [e for e in events if e["type"] == "wan_down"]
    assert len(downs) == 1 and downs[0]["cause"] == "admin_down" and downs[0]["iface"] == "rec0"
    assert downs[0]["duration_s"] >= 3  # down, up without carrier, up, route back: one message a second
    # ...and the address removal at the end opened a second outage, still going.
    st = tracker.state()
    assert st["disconnects_total"] == 2 and st["last_disconnect"]["cause"] == "address_lost"
    assert st["last_disconnect"]["ongoing"] is True and st["up"] is False
    w.close()


def test_garbage_in_the_stream_is_skipped_and_the_watcher_keeps_going(caplog):
    link = _link("link_recreated")
    tracker = WanTracker(boot_s=lambda: 1.0, wall=lambda: 1.0, emit=lambda e: None)
    w = LinkWatcher(tracker, events=FakeEvents(), source=FakeSource([link], [], []))
    w.handle([(rtnl.RTM_NEWLINK, b"\x00" * 3), (rtnl.RTM_NEWADDR, b"\xff" * 40), (rtnl.RTM_DELLINK, b""),
              (rtnl.RTM_NEWROUTE, rtnl.RTMSG.pack(2, 0, 0, 0, 254, 0, 0, 1, 0) + b"\x08\x00\x05\x00\x01")])
    assert w.messages_total == 4 and tracker.links[link.index].name == "rec0"
    assert sum("link watcher:" in r.message for r in caplog.records) == 4
    w.handle([(rtnl.RTM_NEWLINK, _payload("link_renamed"))])  # still working afterwards
    assert any(li.name == "wan0" for li in tracker.links.values())
    w.close()
