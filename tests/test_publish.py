"""The transport in-process against a real mosquitto: what gates sending (WAN, roaming, the
daily budget), the backoff, and the cost of loading tenacity."""

from __future__ import annotations

import select
import subprocess
import sys
import time

import pytest
from broker import Mosquitto, Subscriber, mosquitto_skip_reason

from zte_uxip.publish import Publisher, _backoff, tls_context
from zte_uxip.report import build_batch
from zte_uxip.spool import Record, Spool

needs_broker = pytest.mark.skipif(mosquitto_skip_reason() is not None, reason=mosquitto_skip_reason() or "")


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


def make(tmp_path, broker, **kw):
    pair = broker.client("dev-9")
    spool = Spool(str(tmp_path / "state"), str(tmp_path / "flash"), 65536)
    pub = Publisher(host="127.0.0.1", port=broker.port, device_id="dev-9", spool=spool, reconnect_max_s=1,
                    ssl_context=tls_context(str(broker.ca.pem), str(pair.cert), str(pair.key)), **kw)
    return pub, spool


def spin(pub, seconds, until=None):
    """The agent's select loop, reduced to the transport."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until is not None and until():
            return True
        r, w = pub.fds()
        t = pub.timeout_s()
        rr, ww, _ = select.select(r, w, [], min(0.1, t) if t is not None else 0.1)
        pub.service(set(rr), set(ww))
    return until() if until is not None else False


def add(spool, n, pad_events=0):
    for _ in range(n):
        seq = spool.next_seq()
        events = [{"type": "test", "reason": "x" * 200} for _ in range(pad_events)]
        spool.add(Record(seq, build_batch(device_id="dev-9", seq=seq, enabled=True, location=True,
                                          policy_version=None, snapshots=[{"ts": 1}], events=events,
                                          dropped_total=0)))


@needs_broker
def test_wan_down_means_no_connection_at_all(tmp_path, broker):
    pub, spool = make(tmp_path, broker, wan_up=lambda: False)
    pub.set_consent(True, None)
    add(spool, 2)
    spin(pub, 1.5)
    assert not pub.connected and len(spool) == 2
    assert "New connection" not in broker.log_text()
    pub.close()


@needs_broker
def test_publishes_then_pauses_while_roaming(tmp_path, broker):
    sub = Subscriber(broker, "uxip/v1/dev-9/telemetry")
    pub, spool = make(tmp_path, broker)
    pub.set_consent(True, None)
    add(spool, 2)
    assert spin(pub, 5, lambda: len(spool) == 0)  # PUBACK deletes
    pub.roaming = True
    add(spool, 1)
    spin(pub, 1.0)
    assert not pub.connected and len(spool) == 1
    assert sub.wait(lambda: len(sub.messages) == 2, 2) and len(sub.messages) == 2
    pub.roaming = False
    assert spin(pub, 5, lambda: len(spool) == 0)
    assert sub.wait(lambda: len(sub.messages) == 3, 2)
    pub.close()
    sub.close()


@needs_broker
def test_daily_budget_counts_real_wire_bytes_and_pauses(tmp_path, broker):
    pub, spool = make(tmp_path, broker, daily_budget_bytes=10_000)
    pub.set_consent(True, None)
    assert spin(pub, 5, lambda: pub.connected)
    spin(pub, 0.3)
    handshake = pub.budget_used_bytes
    assert 1000 < handshake < 10_000  # TLS handshake with certificates, CONNECT, status
    add(spool, 4, pad_events=15)  # ~3 KB each
    spin(pub, 3)
    assert pub.budget_used_bytes >= 10_000
    assert not pub.connected and len(spool) >= 1  # paused with records still held
    pub.close()


def test_backoff_is_full_jitter_capped():
    wait = _backoff(8.0)
    for n, cap in ((1, 1), (2, 2), (3, 4), (4, 8), (9, 8)):
        values = [wait(n) for _ in range(200)]
        assert all(0 <= v <= cap for v in values)
        assert max(values) > cap * 0.7 and min(values) < cap * 0.3  # spread over the whole window


def test_backoff_loads_only_tenacitys_wait_module():
    code = ("import sys; from zte_uxip.publish import _backoff; _backoff(5)(3); "
            "print(sorted(m for m in sys.modules if m.startswith(('tenacity', 'asyncio', 'concurrent'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tenacity._utils', 'tenacity.wait']"
