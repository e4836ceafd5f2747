"""Ingest's write step without a broker: what is acknowledged and counted when a message breaks
the write path, or the database is away (a fake intake records the acknowledgements)."""

from __future__ import annotations

import threading

from batches import encoded
from django.db import OperationalError

from zte_uxip.server import ingest
from zte_uxip.server.conf import from_dict
from zte_uxip.server.store import write as store_write
from zte_uxip.server.store.models import Batch


class FakeIntake:
    generation = 1

    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, generation: int, mid: int) -> None:
        self.acked.append(mid)


def make() -> ingest.Ingest:
    ing = object.__new__(ingest.Ingest)
    ing.cfg = from_dict({"region": "eu"})
    ing.intake = FakeIntake()
    ing.summary = ingest.Summary("test-0")
    ing.stop = threading.Event()
    return ing


def item(mid: int, device: str, seq: int, payload: bytes | None = None, topic: str | None = None):
    return (1, mid, topic or f"uxip/v1/{device}/telemetry", payload or encoded(device, seq), 0)


def test_a_message_that_breaks_the_write_path_costs_only_itself(db, monkeypatch):
    real = store_write.write_many

    def flaky(messages, *, region):
        if any(m.device_id == "zx-bug" for m in messages):
            raise KeyError("something the write path did not expect")
        return real(messages, region=region)

    monkeypatch.setattr(store_write, "write_many", flaky)
    ing = make()
    ing.write([item(1, "zx-a", 1), item(2, "zx-bug", 1), item(3, "zx-a", 2),
               item(4, "zx-a", 3, topic="not/a/uxip/topic")])
    assert ing.intake.acked == [1, 2, 3, 4]  # all acknowledged: redelivery would not help
    assert sorted(Batch.objects.values_list("seq", flat=True)) == [1, 2]
    line = ing.summary.line()
    assert "stored=2" in line and "rejected=2 (bad_topic=1 store_error=1)" in line


def test_database_away_acknowledges_nothing(db, monkeypatch):
    def down(messages, *, region):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(store_write, "write_many", down)
    ing = make()
    ing.stop.set()  # as on SIGTERM: one attempt, no waiting
    ing.write([item(1, "zx-a", 1)])
    assert ing.intake.acked == []  # the broker redelivers it to this session later
    assert "stored=0" in ing.summary.line()
