"""Audit entries for the console: who (user), what, which device, when, from where."""

from __future__ import annotations

import time

from django.http import HttpRequest

from ..store.models import AuditEntry


def client_addr(request: HttpRequest) -> str:
    """The peer address gunicorn saw. X-Forwarded-For is not trusted: a client could forge it."""
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def record(request: HttpRequest, action: str, device_id: str = "", detail: str = "") -> AuditEntry:
    return AuditEntry.objects.create(
        ts=int(time.time()), username=request.user.get_username()[:150], action=action,
        device_id=device_id[:64], detail=detail[:500], remote_addr=client_addr(request),
    )
