"""The shared read/retention code in-process (pytest-django), at the edges the CLI tests do
not reach cheaply: chunk boundaries, paging, state rules, the role groups."""

from __future__ import annotations

from types import SimpleNamespace

import storefill
from storefill import NOW, T0


def _fill(device_id: str, n: int, step_s: int = 3600, start: int = T0) -> None:
    for i in range(n):
        ts = start + i * step_s
        snaps = [storefill.snapshot(ts), storefill.snapshot(ts + 60)] if i % 2 else [storefill.snapshot(ts)]
        storefill.store(storefill.batch(device_id, i + 1, snaps), ts + 1)


def _cfg(days: int, audit_days: int = 730) -> SimpleNamespace:
    return SimpleNamespace(retention=SimpleNamespace(days=days, audit_days=audit_days))


def test_sweep_in_small_chunks_deletes_exactly_the_old_batches(db, monkeypatch):
    from zte_uxip.server.store import retention
    from zte_uxip.server.store.models import AuditEntry, Batch, Device, Sample

    monkeypatch.setattr(retention, "CHUNK", 7)  # many chunks, a partial last one
    _fill("zx-a", 50, step_s=86400)
    _fill("zx-b", 10, step_s=86400, start=T0 + 25 * 86400)  # half of it old
    now = T0 + 60 * 86400
    cutoff = now - 30 * 86400
    old = Batch.objects.filter(sampled_ts__lt=cutoff).count()
    assert old == 35
    dry = retention.sweep(_cfg(30), now, dry_run=True)
    assert (dry["batches"], dry["samples"]) == (35, 52)
    assert Batch.objects.count() == 60  # a dry run deletes nothing
    counts = retention.sweep(_cfg(30), now, username="system")
    assert (counts["batches"], counts["samples"], counts["devices"]) == (35, 52, 0)
    assert Batch.objects.filter(sampled_ts__lt=cutoff).count() == 0
    assert Batch.objects.count() == 25 and Sample.objects.count() == 75 + 15 - 52
    assert Device.objects.get(device_id="zx-a").batches_total == 20  # kept in step for `devices`
    assert Device.objects.get(device_id="zx-b").batches_total == 5
    entry = AuditEntry.objects.get(action="retention")
    assert entry.username == "system" and entry.ts == now and "35 batches" in entry.detail


def test_batch_pages_cover_every_seq_once_in_order(db):
    from zte_uxip.server.store import queries

    _fill("zx-a", 23)
    pages = list(queries.batch_cbor_pages("zx-a", page=5))
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [s for p in pages for s, _ in p] == list(range(1, 24))
    assert list(queries.batch_cbor_pages("zx-none")) == []


def test_effective_state_rules():
    from zte_uxip.server.store.models import Device
    from zte_uxip.server.store.queries import effective_state

    def dev(state: str, last_seen: int) -> Device:
        return Device(device_id="d", state=state, last_seen_ts=last_seen, first_seen_ts=0, region="eu")

    assert effective_state(dev("online", NOW - 100), NOW, 900) == "online"
    assert effective_state(dev("online", NOW - 901), NOW, 900) == "offline"  # silent: the will may be lost
    assert effective_state(dev("offline", NOW), NOW, 900) == "offline"
    assert effective_state(dev("consent_withdrawn", NOW - 10**6), NOW, 900) == "consent_withdrawn"


def test_role_groups_come_with_the_schema(db):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"support", "privacy", "admin"}


def test_other_apps_models_opt_in_to_the_sweep_with_retention_ts(db, monkeypatch):
    """Derived data elsewhere (the console's rollups) ages out with the samples."""
    from zte_uxip.server.commands.models import Command
    from zte_uxip.server.store import retention

    monkeypatch.setattr(Command, "RETENTION_TS", "expires_ts", raising=False)  # stands in for such a model
    Command.objects.create(command_id="aa" * 16, device_id="zx-a", expires_ts=NOW - 40 * 86400)
    Command.objects.create(command_id="bb" * 16, device_id="zx-a", expires_ts=NOW - 10 * 86400)
    assert retention.sweep(_cfg(30), NOW, dry_run=True)["command"] == 1
    assert retention.sweep(_cfg(30), NOW)["command"] == 1
    assert list(Command.objects.values_list("command_id", flat=True)) == ["bb" * 16]
