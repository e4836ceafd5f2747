"""session.* follows the transport's connect/disconnect callbacks."""

from zte_uxip import clock
from zte_uxip.collectors import COLLECTORS, Context
from zte_uxip.collectors.session import SessionTracker, session_tracker
from zte_uxip.wire import codec


def test_sessions_counted_and_timed(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(clock, "boottime_s", lambda: now[0])
    monkeypatch.setattr(clock, "wall_ts", lambda: 1_700_000_000 + int(now[0]))
    t = SessionTracker()
    assert t.state() is None  # before the first connection the section is absent
    t.connected()
    now[0] += 30
    assert t.state() == {"connects_total": 1, "total_connected_s": 30, "connected_since": 1_700_001_000}
    t.connected()  # a duplicate callback does not count twice
    t.disconnected()
    now[0] += 100  # offline time is not connected time
    t.connected()
    now[0] += 5
    snap = t.state()
    assert snap == {"connects_total": 2, "total_connected_s": 35, "last_session_s": 30,
                    "connected_since": 1_700_001_130}
    assert codec.decode(codec.encode_snapshot({"session": snap}))["session"] == snap


def test_collector_and_transport_share_the_contexts_tracker():
    ctx = Context()
    c = COLLECTORS["session"](ctx)
    assert c.collect() is None
    session_tracker(ctx).connected()
    assert c.collect()["connects_total"] == 1
