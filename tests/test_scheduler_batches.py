"""How reports become batches (scheduler logic, with a fake sampler; the real agent end to end
is in test_agent_mqtt.py): `reports_per_batch` summarised snapshots per batch, decoded in full;
a batch with events leaves at its report; shutdown and policy changes flush what is open."""

from __future__ import annotations

import os

from zte_uxip.consent import ConsentState
from zte_uxip.scheduler import Scheduler
from zte_uxip.spool import Spool
from zte_uxip.wire import codec


class FakeSampler:
    def __init__(self) -> None:
        self.events: list[dict] = []

    def drain_events(self) -> list[dict]:
        out, self.events = self.events, []
        return out


def snapshot(i: int) -> dict:
    return {"ts": 1_700_000_000 + 60 * i, "uptime_s": 1000 + 60 * i,
            "system": {"cpu_pct": 5.0, "mem_used_pct": 40.0, "load1": 0.1},
            "links": [{"name": "eth0", "oper": "up", "rx_bytes_total": 10_000 + 1500 * i,
                       "tx_bytes_total": 5_000 + 700 * i, "carrier_changes_total": 1},
                      {"name": "ifb0", "oper": "down", "rx_bytes_total": 0, "tx_bytes_total": 0,
                       "carrier_changes_total": 0}],
            "wan": {"iface": "eth0", "up": True, "disconnects_total": 0}}


def make(tmp_path, per_batch: int) -> tuple[Scheduler, Spool, FakeSampler]:
    spool = Spool(str(tmp_path / "state"), str(tmp_path / "flash"), max_bytes=1 << 20)
    os.makedirs(tmp_path / "state", exist_ok=True)
    s = Scheduler(device_id="dev-1", sample_s=10, report_s=60, persist_after_s=1800, state_dir=str(tmp_path / "state"),
                  spool=spool, watcher=None, publisher=None, make_sampler=FakeSampler,  # type: ignore[arg-type]
                  key=b"k" * 32, reports_per_batch=per_batch)
    s.consent = ConsentState(enabled=True, location=True)
    sampler = FakeSampler()
    s.sampler = sampler  # type: ignore[assignment]
    return s, spool, sampler


def report(s: Scheduler, i: int) -> None:
    s.report.add(float(i), snapshot(i))
    s._close_report()


def batches(spool: Spool) -> list[dict]:
    return [codec.decode(r.payload) for r in spool.records()]


def test_reports_per_batch_snapshots_in_one_batch_each_decoded_in_full(tmp_path):
    s, spool, _ = make(tmp_path, 3)
    for i in range(7):
        report(s, i)
    got = batches(spool)
    assert [len(b["snapshots"]) for b in got] == [3, 3]
    assert [b["seq"] for b in got] == sorted(b["seq"] for b in got)
    flat = [snap for b in got for snap in b["snapshots"]]
    for i, snap in enumerate(flat):  # the JSON view is whole again: counters, idle links, all of it
        assert snap == snapshot(i)
    assert len(s.batch_snapshots) == 1  # the 7th report waits for its batch


def test_a_batch_with_an_event_leaves_at_its_report(tmp_path):
    s, spool, sampler = make(tmp_path, 5)
    report(s, 0)
    sampler.events.append({"type": "wan_down", "ts": 1_700_000_030, "duration_s": 12, "cause": "carrier_lost",
                           "snapshot": snapshot(0)})
    report(s, 1)
    (b,) = batches(spool)
    assert len(b["snapshots"]) == 2
    assert b["events"][0]["type"] == "wan_down" and b["events"][0]["snapshot"]["links"][0]["name"] == "eth0"


def test_shutdown_flushes_the_open_batch(tmp_path):
    s, spool, _ = make(tmp_path, 5)
    report(s, 0)
    report(s, 1)
    assert len(spool) == 0
    s._close_report(flush=True)
    assert [len(b["snapshots"]) for b in batches(spool)] == [2]
