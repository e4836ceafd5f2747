"""One place that writes the access log, so every reader (CLI, console) records the same way."""

from __future__ import annotations

import time

from .models import AuditEntry


def record(action: str, *, username: str, remote_addr: str, device_id: str = "", detail: str = "",
           ts: int | None = None) -> AuditEntry:
    """Append one entry: who (``cli:<os user>``, a console user, or ``system``), from where
    (``cli``, a client address), did what to which device's data."""
    if action not in AuditEntry.ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    return AuditEntry.objects.create(ts=int(time.time()) if ts is None else ts, username=username[:150],
                                     remote_addr=remote_addr[:64], action=action, device_id=device_id[:64],
                                     detail=detail[:500])
