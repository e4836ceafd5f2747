"""session.* follows the transport's connect/disconnect callbacks on the monotonic clock."""

from zte_uxip import clock
from zte_uxip.collectors import COLLECTORS, Context
from zte_uxip.collectors.session import SessionTracker
from zte_uxip.wire import codec


def test_sessions_counted_and_timed(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(clock, "monotonic_s", lambda: now[0])
    monkeypatch.setattr(clock, "wall_ts", lambda: 1_700_000_000 + int(now[0]))
    t = SessionTracker()
    assert t.snapshot() == {"connects_total": 0, "total_connected_s": 0}
    t.connected()
    now[0] += 30
    assert t.snapshot() == {"connects_total": 1, "total_connected_s": 30, "connected_since": 1_700_001_000}
    t.connected()  # a duplicate callback does not count twice
    t.disconnected()
    now[0] += 100  # offline time is not connected time
    t.connected()
    now[0] += 5
    snap = t.snapshot()
    assert snap == {"connects_total": 2, "total_connected_s": 35, "last_session_s": 30,
                    "connected_since": 1_700_001_130}
    # encodes under the schema's session section
    assert codec.decode(codec.encode_snapshot({"session": snap}))["session"] == snap


def test_collector_in_table_reads_the_tracker_and_is_empty_without_one():
    t = SessionTracker()
    t.connected()
    c = COLLECTORS["session"](Context(extras={"session": t}))
    assert c.collect()["connects_total"] == 1
    assert COLLECTORS["session"](Context()).collect() is None
