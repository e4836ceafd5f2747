"""Erase everything held about one device: on the owner's withdrawal (ingest) or on request.

What stays: a tombstone when consent was withdrawn (device id, when, policy version) and the
audit entry that records the erasure. Children are deleted before parents with plain
``DELETE ... WHERE device_id = ?`` statements, so a device with a year of data is not loaded
into memory by Django's cascade collector.
"""

from __future__ import annotations

import time

from django.db import transaction

from ..commands.models import Command
from .models import AuditEntry, Batch, Device, Event, Sample, Tombstone


def erase_device(device_id: str, *, username: str, remote_addr: str = "cli",
                 withdrawn_ts: int | None = None, policy_version: str = "", region: str = "",
                 now: int | None = None) -> dict[str, int]:
    """Delete the device's data; with ``withdrawn_ts`` also leave a tombstone. Returns counts.
    ``now`` (unix s) dates the audit entry; default the wall clock."""
    now = int(time.time()) if now is None else now
    with transaction.atomic():
        device = Device.objects.filter(device_id=device_id).first()
        counts = {"samples": 0, "events": 0, "batches": 0, "commands": 0, "devices": 0}
        if device is not None:
            counts["samples"] = Sample.objects.filter(device=device)._raw_delete(Sample.objects.db)
            counts["events"] = Event.objects.filter(device=device)._raw_delete(Event.objects.db)
            counts["batches"] = Batch.objects.filter(device=device)._raw_delete(Batch.objects.db)
            region = region or device.region
            device.delete()
            counts["devices"] = 1
        counts["commands"] = Command.objects.filter(device_id=device_id)._raw_delete(Command.objects.db)
        if withdrawn_ts is not None:
            Tombstone.objects.update_or_create(
                device_id=device_id,
                defaults={"withdrawn_ts": withdrawn_ts, "policy_version": policy_version, "region": region},
            )
        what = ", ".join(f"{n} {k}" for k, n in counts.items())
        AuditEntry.objects.create(
            ts=now, username=username, remote_addr=remote_addr, device_id=device_id,
            action="withdrawn" if withdrawn_ts is not None else "erase",
            detail=f"erased {what}" + (" (consent withdrawn)" if withdrawn_ts is not None else ""),
        )
    return counts
