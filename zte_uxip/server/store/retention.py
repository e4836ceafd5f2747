"""The retention sweep: nothing is kept longer than ``[retention] days`` (the notice promises at
most 12 months), the access log no longer than ``audit_days``.

Age is the batch's ``sampled_ts`` (its oldest snapshot), so a spool flushed late is not kept
longer. Batches go oldest first in time windows of about ``CHUNK`` batches, bounded through
the ``batch_sampled`` index (each window starts where the last one ended: on PostgreSQL,
restarting at the index head would wade through every row deleted so far and the sweep turns
quadratic). Each window — its samples and events by a semi-join on its batches, the batches,
the devices' counters — is one short transaction: ingest keeps writing between windows and no
statement locks a month of rows. The same code runs on SQLite and PostgreSQL
(bench/bench_store.py measures both; on PostgreSQL about a third of it is the foreign-key
checks at commit). `ingest` calls ``sweep(cfg, now)`` once a day; `zte-uxip-server retention`
on demand.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F

from ..commands.models import Command
from .audit import record
from .models import AuditEntry, Batch, Device, Event, Sample, Tombstone

DAY_S = 86400
CHUNK = 5000


def cutoffs(cfg: Any, now: int) -> tuple[int, int]:
    """(data cutoff, audit cutoff): rows older than these (strictly) go."""
    return now - cfg.retention.days * DAY_S, now - cfg.retention.audit_days * DAY_S


def _window_end(low: int, cutoff: int) -> int:
    """End (exclusive) of the next window from ``low``: about CHUNK batches, never past the
    cutoff, at least one second (batches sharing one second stay together)."""
    nxt = list(Batch.objects.filter(sampled_ts__gte=low, sampled_ts__lt=cutoff).order_by("sampled_ts")
               .values_list("sampled_ts", flat=True)[CHUNK:CHUNK + 1])
    return cutoff if not nxt else max(nxt[0], low + 1)


def _count_down(per_device: dict[int, int]) -> None:
    """Keep ``Device.batches_total`` (what `devices` shows) in step: one UPDATE per distinct
    count, since a window of the oldest batches of a big store holds a few batches of each of
    many devices (a CASE per device costs more to build than the delete itself)."""
    by_count: dict[int, list[int]] = {}
    for pk, n in per_device.items():
        by_count.setdefault(n, []).append(pk)
    for n, pks in by_count.items():
        Device.objects.filter(pk__in=pks).update(batches_total=F("batches_total") - n)


def _sweep_batches(cutoff: int) -> dict[str, int]:
    """Delete batches older than ``cutoff`` window by window (oldest first), each window's
    samples and events by a semi-join on its batches, in one transaction per window."""
    counts = {"batches": 0, "samples": 0, "events": 0}
    first = Batch.objects.filter(sampled_ts__lt=cutoff).order_by("sampled_ts").values_list("sampled_ts", flat=True)
    low = next(iter(first[:1]), None)
    while low is not None and low < cutoff:
        high = _window_end(low, cutoff)
        with transaction.atomic():
            window = Batch.objects.filter(sampled_ts__gte=low, sampled_ts__lt=high)
            per_device = dict(window.order_by().values_list("device_id").annotate(n=Count("id")))
            if per_device:
                ids: Any = window.values("id")
                if connection.vendor == "sqlite":  # it plans IN (subquery) as a scan of the whole child
                    ids = list(ids.values_list("id", flat=True))  # table per window: give it the ids
                counts["samples"] += Sample.objects.filter(batch_id__in=ids)._raw_delete(Sample.objects.db)
                counts["events"] += Event.objects.filter(batch_id__in=ids)._raw_delete(Event.objects.db)
                counts["batches"] += window._raw_delete(Batch.objects.db)
                _count_down(per_device)
        low = high
    return counts


def _dry_counts(cutoff: int, audit_cutoff: int) -> dict[str, int]:
    return {
        "batches": Batch.objects.filter(sampled_ts__lt=cutoff).count(),
        "samples": Sample.objects.filter(batch__sampled_ts__lt=cutoff).count(),
        "events": Event.objects.filter(batch__sampled_ts__lt=cutoff).count(),
        "commands": Command.objects.filter(issued_ts__lt=cutoff).count(),
        "devices": _idle_devices(cutoff).count(),
        **{m._meta.model_name: m.objects.filter(**{f"{m.RETENTION_TS}__lt": cutoff}).count() for m in _aged_models()},
        "audit": AuditEntry.objects.filter(ts__lt=audit_cutoff).count(),
        "tombstones": Tombstone.objects.filter(withdrawn_ts__lt=audit_cutoff).count(),
    }


def _aged_models() -> list[Any]:
    """Other apps' models holding data derived from the devices' (e.g. the console's chart
    rollups) opt in to the sweep by naming their unix-seconds column: ``RETENTION_TS = "bucket_ts"``."""
    from django.apps import apps

    return [m for m in apps.get_models() if isinstance(getattr(m, "RETENTION_TS", None), str)]


def _idle_devices(cutoff: int) -> Any:
    """Devices not heard from since the cutoff that hold no batch any more: their facts
    (model, firmware, last seen) are data about the device too, and age out with it."""
    return Device.objects.filter(last_seen_ts__lt=cutoff).exclude(batches__sampled_ts__gte=cutoff)


def sweep(cfg: Any, now: int, dry_run: bool = False, *, username: str = "system",
          remote_addr: str = "") -> dict[str, int]:
    """Delete what is past retention (or, with ``dry_run``, count it). Returns counts per kind
    plus the cutoffs; a real sweep leaves one ``retention`` audit entry."""
    cutoff, audit_cutoff = cutoffs(cfg, now)
    if dry_run:
        counts = _dry_counts(cutoff, audit_cutoff)
    else:
        counts = _sweep_batches(cutoff)
        with transaction.atomic():
            counts["commands"] = Command.objects.filter(issued_ts__lt=cutoff)._raw_delete(Command.objects.db)
            idle = list(_idle_devices(cutoff).values_list("pk", flat=True))
            counts["devices"] = 0
            for i in range(0, len(idle), CHUNK):  # no batch, sample or event is left to them; Django's
                deleted = Device.objects.filter(pk__in=idle[i:i + CHUNK]).delete()[1]  # cascade takes the rest
                counts["devices"] += deleted.get(Device._meta.label, 0)
            for model in _aged_models():
                field = model.RETENTION_TS
                counts[model._meta.model_name] = model.objects.filter(
                    **{f"{field}__lt": cutoff})._raw_delete(model.objects.db)
            counts["audit"] = AuditEntry.objects.filter(ts__lt=audit_cutoff)._raw_delete(AuditEntry.objects.db)
            counts["tombstones"] = Tombstone.objects.filter(
                withdrawn_ts__lt=audit_cutoff)._raw_delete(Tombstone.objects.db)
            what = ", ".join(f"{n} {k}" for k, n in counts.items())
            record("retention", username=username, remote_addr=remote_addr, ts=now,
                   detail=f"older than {cfg.retention.days} d (audit {cfg.retention.audit_days} d): {what}")
    counts["cutoff_ts"] = cutoff
    counts["audit_cutoff_ts"] = audit_cutoff
    return counts
