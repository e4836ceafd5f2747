"""The WAN tracker, billing-cycle usage and the session tracker as pure logic (no kernel)."""

from __future__ import annotations

import time

import pytest

from zte_uxip.collectors.base import Context
from zte_uxip.collectors.disconnects import Counts, Outage, WanTracker, wan_kind
from zte_uxip.collectors.session import SessionCollector, session_tracker
from zte_uxip.collectors.usage import UsageMeter, cycle_start_ts
from zte_uxip.collectors.wan import counts_from_json, counts_to_json
from zte_uxip.sources.rtnl import AF_INET, RT_TABLE_MAIN, RTN_UNICAST, AddrInfo, LinkInfo, RouteInfo


def link(index=2, name="eth1", admin=True, carrier=True, oper="up"):
    return LinkInfo(index, name, oper, admin, carrier, 1500, None, 0, {})


ADDR = AddrInfo(2, AF_INET, "192.0.2.10", 24, 0)
ROUTE = RouteInfo(AF_INET, 0, RT_TABLE_MAIN, RTN_UNICAST, 2, "192.0.2.1", 0, 0)


class Clock:
    def __init__(self) -> None:
        self.boot = 1000.0
        self.wall = time.mktime((2026, 3, 10, 23, 59, 0, 0, 0, -1))


def tracker(counts=None, **kw):
    c, events = Clock(), []
    t = WanTracker(boot_s=lambda: c.boot, wall=lambda: c.wall, emit=events.append, counts=counts, **kw)
    return t, c, events


def test_disconnects_today_resets_at_local_midnight():
    t, c, events = tracker()
    t.reset([link()], [ADDR], [ROUTE])
    t.route(ROUTE, present=False)
    t.route(ROUTE, present=True)
    assert t.state()["disconnects_today"] == 1
    c.wall += 120  # past midnight
    assert t.state()["disconnects_today"] == 0 and t.state()["disconnects_total"] == 1
    t.link(link(carrier=False, oper="down"))
    assert t.state()["disconnects_today"] == 1 and t.state()["disconnects_total"] == 2


def test_cause_priority_when_one_message_breaks_several_things():
    t, _c, _e = tracker()
    t.reset([link()], [ADDR], [ROUTE])
    t.link(link(admin=False, carrier=False, oper="down"))
    assert t.counts.open_outage.cause == "admin_down"


def test_never_usable_is_no_outage():
    t, _c, events = tracker()
    t.reset([link(carrier=False, oper="down")], [ADDR], [ROUTE])
    t.link(link(admin=False, carrier=False, oper="down"))
    assert t.counts.disconnects_total == 0 and t.state()["up"] is False and events == []


def test_modem_detach_is_a_cause():
    t, _c, events = tracker()
    t.reset([link(name="wwan0")], [ADDR], [ROUTE])
    t.modem_detached(True)
    t.modem_detached(False)
    assert [e["cause"] for e in events] == ["modem_detached"]


def test_failover_to_another_default_route_ends_the_outage():
    t, c, events = tracker()
    wwan = link(index=3, name="wwan0")
    t.reset([link(), wwan], [ADDR, AddrInfo(3, AF_INET, "10.64.0.2", 30, 0)], [ROUTE])
    t.link(link(carrier=False, oper="down"))
    t.route(RouteInfo(AF_INET, 0, RT_TABLE_MAIN, RTN_UNICAST, 2, "192.0.2.1", 0, 0x10), present=True)  # linkdown
    c.boot += 7
    t.route(RouteInfo(AF_INET, 0, RT_TABLE_MAIN, RTN_UNICAST, 3, None, 10, 0), present=True)
    assert t.wan == "wwan0" and t.usable
    assert events[0]["iface"] == "eth1" and events[0]["duration_s"] == 7 and events[0]["cause"] == "carrier_lost"


def test_restored_counts_close_an_outage_that_began_before_the_agent_restart():
    saved = Counts(up=False, disconnects_total=3, day=(2026, 3, 10), disconnects_today=1,
                   open_outage=Outage("eth1", "carrier_lost", 990.0, 1_000))
    again = counts_from_json(counts_to_json(saved))
    assert again == saved
    t, _c, events = tracker(counts=again)
    t.reset([link()], [ADDR], [ROUTE])
    assert events == [{"type": "wan_down", "ts": 1_000, "uptime_s": 990, "duration_s": 10,
                       "cause": "carrier_lost", "iface": "eth1"}]
    assert t.state()["disconnects_total"] == 3 and t.state()["connected_s"] == 0


@pytest.mark.parametrize("bad", [{}, {"up": True}, {"disconnects_total": "x"},
                                 {**counts_to_json(Counts()), "disconnects_total": -1},
                                 {**counts_to_json(Counts()), "day": [1]}])
def test_corrupt_saved_counts_are_ignored(bad):
    assert counts_from_json(bad) is None


def test_wan_kind():
    assert [wan_kind(n, k) for n, k in (("wwan0", "tun"), ("usb0", None), ("rmnet_data0", None),
                                        ("pppoe-wan", "ppp"), ("eth0.2", "vlan"), ("wg0", "wireguard"))] == \
        ["cellular", "cellular", "cellular", "ppp", "ethernet", "wireguard"]


def _ts(y, m, d, hh=12):
    return time.mktime((y, m, d, hh, 0, 0, 0, 0, -1))


def test_cycle_start_on_the_configured_day():
    assert cycle_start_ts(_ts(2026, 3, 20), 15) == int(_ts(2026, 3, 15, 0))
    assert cycle_start_ts(_ts(2026, 3, 10), 15) == int(_ts(2026, 2, 15, 0))
    assert cycle_start_ts(_ts(2026, 1, 3), 5) == int(_ts(2025, 12, 5, 0))
    assert cycle_start_ts(_ts(2026, 3, 15, 0), 15) == int(_ts(2026, 3, 15, 0))


def test_limit_event_once_per_cycle_and_reset_at_the_next():
    events = []
    u = UsageMeter(15, 1_000_000, "b", events.append)
    t = _ts(2026, 3, 20)
    u.update("wwan0", 4, 0, 0, t, boot_s=t - _ts(2026, 3, 16))  # booted inside the cycle
    u.update("wwan0", 4, 600_000, 300_000, t + 10, 100)
    assert events == []
    u.update("wwan0", 4, 700_000, 400_000, t + 20, 110)
    u.update("wwan0", 4, 800_000, 500_000, t + 30, 120)
    assert [(e["type"], e["usage_cycle_bytes"], e["limit_bytes"]) for e in events] == \
        [("data_limit_exceeded", 1_100_000, 1_000_000)]
    out = u.update("wwan0", 4, 900_000, 500_000, _ts(2026, 4, 15, 1), 200)
    assert out["usage_cycle_bytes"] == 100_000 and out["usage_cycle_start_ts"] == int(_ts(2026, 4, 15, 0))
    assert len(events) == 1


def test_usage_survives_a_reboot_through_the_saved_copy():
    u = UsageMeter(1, 0, "boot-1", lambda e: None)
    t = _ts(2026, 3, 20)
    u.update("eth1", 2, 1000, 1000, t, boot_s=100)
    u.update("eth1", 2, 3000, 2000, t + 60, boot_s=160)
    saved = u.to_json()
    assert saved["bytes"] == 5000  # booted inside the cycle: everything since boot counts
    u2 = UsageMeter(1, 0, "boot-2", lambda e: None, saved=saved)  # new boot: the counters began again
    assert u2.update("eth1", 2, 500, 200, t + 600, boot_s=30)["usage_cycle_bytes"] == 5700


@pytest.mark.parametrize("saved", [{"bytes": "many"}, {"cycle_start_ts": True, "bytes": 1}, {"baseline": 5}])
def test_corrupt_saved_usage_starts_over(saved):
    u = UsageMeter(1, 0, "b", lambda e: None, saved=saved)
    assert u.cycle_start is None or u.baseline is None


def test_session_tracker_feeds_the_collector(monkeypatch):
    now = [500.0]
    monkeypatch.setattr("zte_uxip.clock.boottime_s", lambda: now[0])
    ctx = Context()
    col = SessionCollector(ctx)
    assert col.collect() is None  # never connected: nothing here
    tr = session_tracker(ctx)
    assert tr is col.tracker
    tr.connected()
    now[0] += 30
    tr.disconnected()
    now[0] += 100
    tr.connected()
    now[0] += 5
    out = col.collect()
    assert out["connects_total"] == 2 and out["last_session_s"] == 30 and out["total_connected_s"] == 35
    assert "connected_since" in out


def test_every_event_of_this_area_encodes_and_field_data_is_filtered():
    from zte_uxip import privacy
    from zte_uxip.wire import codec

    t, c, events = tracker()
    t._field_data = lambda: {"ts": 1, "wan": {"iface": "eth1", "up": True, "ipv4": "192.0.2.10"},
                             "device": {"serial": "SN-CLEAR-123"}, "cellular": {"cell_id": 1234, "rsrp_dbm": -99}}
    t.reset([link()], [ADDR], [ROUTE])
    t.route(ROUTE, present=False)
    c.boot += 3
    t.route(ROUTE, present=True)
    u = UsageMeter(1, 10, "b", events.append)
    u.update("eth1", 2, 100, 100, _ts(2026, 3, 20), boot_s=60)
    events.append({"type": "unexpected_restart", "ts": 5, "uptime_s": 30, "previous_uptime_s": 86000})
    events.append({"type": "version_too_low", "ts": 5, "uptime_s": 30, "sw_version": "1.0", "min_version": "2.0"})
    assert [e["type"] for e in events] == ["wan_down", "data_limit_exceeded", "unexpected_restart", "version_too_low"]
    snap = {"ts": 10, "uptime_s": 40, "wan": t.state(), "events": events}
    wire = codec.encode_snapshot(privacy.apply(snap, privacy.Policy(location=False, key=b"s" * 32)))
    assert b"192.0.2.10" not in wire and b"SN-CLEAR-123" not in wire
    back = codec.decode(wire)
    field = back["events"][0]["snapshot"]
    assert len(field["wan"]["ipv4"]) == 16 and len(field["device"]["serial"]) == 16
    assert field["cellular"] == {"rsrp_dbm": -99}  # cell ID is location: dropped without location consent
    assert back["events"][0]["duration_s"] == 3 and back["events"][0]["cause"] == "route_lost"
