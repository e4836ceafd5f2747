"""Console views: device list, device page, export, erase, remote commands, audit log.

Every view that shows or hands out a device's data writes an audit entry first. Device-sent
text reaches templates as plain strings and is autoescaped; nothing from a device is marked
safe, used as a URL scheme or as a file name.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from ..commands.models import Command
from ..store.models import AuditEntry, Device, Event, Tombstone
from ..store.queries import effective_state
from . import audit, charts, series
from .diagnosis import diagnose, poor_radio, radio_at
from .roles import perms, require

MAX_LIST = 200
MAX_EVENTS = 100
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|[0-9A-Fa-f:.]{2,45}")

# verb -> {arg: (kind, low, high)} — the device's allow-list (DESIGN.md "Remote commands")
VERBS: dict[str, dict[str, tuple[str, int, int]]] = {
    "snapshot": {},
    "events": {"count": ("int", 1, 100)},
    "link": {},
    "modem": {},
    "ping": {"host": ("host", 1, 253), "count": ("int", 1, 10)},
    "dns": {"name": ("host", 1, 253)},
    "selftest": {},
}


def _cfg() -> Any:
    return settings.ZTE_UXIP


def _now() -> int:
    return int(time.time())


def home(request: HttpRequest) -> HttpResponse:
    return redirect("devices")


@require("view_devices")
def devices(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:64]
    qs = Device.objects.all()
    if q:
        qs = qs.filter(device_id__icontains=q)
    rows = list(qs.order_by("-last_seen_ts")[:MAX_LIST])
    now = _now()
    for d in rows:
        d.shown_state = effective_state(d, now, _cfg().console.offline_after_s)
    withdrawn = list(Tombstone.objects.filter(device_id__icontains=q)[:20]) if q else []
    audit.record(request, "view", "", f"device list{' search ' + q if q else ''}")
    if q and len(rows) == 1 and not withdrawn and rows[0].device_id == q:
        return redirect("device", device_id=q)
    return render(request, "console/devices.html", {
        "devices": rows, "q": q, "now": now, "withdrawn": withdrawn, "perms": perms(request.user),
        "limit": MAX_LIST,
    })


def _drop_rows(device: Device, start: int) -> list[dict[str, Any]]:
    rows = list(Event.objects.filter(device=device, kind="wan_down", ts__gte=start)
                .order_by("-ts").values("ts", "duration_s", "cause", "fields", "snapshot")[:MAX_EVENTS])
    for r in rows:
        r["radio"] = radio_at(r["snapshot"])
        r["poor"] = poor_radio(r["radio"])
    return rows


@require("view_devices")
def device(request: HttpRequest, device_id: str) -> HttpResponse:
    now = _now()
    range_key = request.GET.get("range", series.DEFAULT_RANGE)
    if range_key not in series.RANGES:
        range_key = series.DEFAULT_RANGE
    d = Device.objects.filter(device_id=device_id).first()
    if d is None:
        t = Tombstone.objects.filter(device_id=device_id).first()
        audit.record(request, "view", device_id, "device page: " + ("erased (consent withdrawn)" if t else "unknown"))
        return render(request, "console/device_gone.html", {"device_id": device_id, "tombstone": t,
                                                              "perms": perms(request.user)},
                      status=200 if t else 404)
    audit.record(request, "view", device_id, f"device page, {range_key}")
    s = series.load(d, range_key, now)
    dx = diagnose(device_id, now=now, offline_after_s=_cfg().console.offline_after_s)
    assert dx is not None
    drops = _drop_rows(d, s.start)
    others = list(Event.objects.filter(device=d, ts__gte=s.start).exclude(kind="wan_down")
                  .order_by("-ts").values("kind", "ts", "duration_s", "cause", "fields")[:MAX_EVENTS])
    commands = list(Command.objects.filter(device_id=device_id).order_by("-issued_ts", "-id")[:50])
    return render(request, "console/device.html", {
        "d": d, "now": now, "dx": dx, "range": range_key, "ranges": list(series.RANGES),
        "charts": charts.all_charts(s), "drops": drops, "events": others, "commands": commands,
        "verbs": VERBS, "perms": perms(request.user), "max_events": MAX_EVENTS,
        "poor_drops": sum(1 for r in drops if r["poor"]),
    })


@require("export", ("POST",))
def export(request: HttpRequest, device_id: str) -> HttpResponse:
    from ..store import dsar, queries

    cfg = _cfg()
    now = _now()
    status = queries.device_summary(device_id, now, cfg.console.offline_after_s)
    if status is None:
        return HttpResponse("no such device\n", status=404, content_type="text/plain")
    audit.record(request, "export", device_id, "export downloaded from the console")
    # The same document as `zte-uxip-server export`, streamed: a year of batches never sits in memory.
    resp = StreamingHttpResponse(
        dsar.chunks(device_id, now=now, region=status.get("region") or cfg.region, status=status),
        content_type="application/json")
    # The file name is ours, never the device's text.
    resp["Content-Disposition"] = 'attachment; filename="device-export.json"'
    resp["Cache-Control"] = "no-store"
    return resp


@require("erase", ("GET", "POST"))
def erase(request: HttpRequest, device_id: str) -> HttpResponse:
    d = Device.objects.filter(device_id=device_id).first()
    if d is None:
        return HttpResponse("no such device\n", status=404, content_type="text/plain")
    if request.method == "GET":
        return render(request, "console/erase.html", {"d": d, "perms": perms(request.user)})
    if request.POST.get("confirm", "") != device_id:
        return render(request, "console/erase.html", {
            "d": d, "perms": perms(request.user),
            "error": "Type the device id exactly to confirm; nothing was erased."}, status=400)
    from ..store.erase import erase_device

    counts = erase_device(device_id, username=request.user.get_username(), remote_addr=audit.client_addr(request))
    return render(request, "console/erased.html", {"device_id": device_id, "counts": counts,
                                                    "perms": perms(request.user)})


def _command_args(verb: str, post: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (kind, lo, hi) in VERBS[verb].items():
        raw = str(post.get(name, "")).strip()
        if kind == "int":
            if not raw.isdigit() or not lo <= int(raw) <= hi:
                raise ValueError(f"{name} must be a whole number {lo}..{hi}")
            out[name] = int(raw)
        else:
            if raw.startswith("-") or not _HOST.fullmatch(raw):
                raise ValueError(f"{name} must be a host name or IP address")
            out[name] = raw
    return out


@require("run_commands", ("POST",))
def command(request: HttpRequest, device_id: str) -> HttpResponse:
    verb = request.POST.get("verb", "")
    if verb not in VERBS:
        return HttpResponseBadRequest("unknown command verb\n", content_type="text/plain")
    if not Device.objects.filter(device_id=device_id).exists():
        return HttpResponse("no such device\n", status=404, content_type="text/plain")
    try:
        args = _command_args(verb, request.POST)
    except ValueError as e:
        return HttpResponseBadRequest(f"{e}\n", content_type="text/plain")
    from ..commands.send import SendError, send_command

    try:
        # send_command records the command and its audit entry before publishing it
        send_command(_cfg(), device_id, verb, args, request.user.get_username(), audit.client_addr(request))
    except SendError as e:
        return HttpResponse(f"command not sent: {e}\n", status=502, content_type="text/plain")
    return redirect(reverse("device", args=[device_id]) + "#commands")


@require("read_audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    dev = request.GET.get("device", "").strip()[:64]
    user = request.GET.get("user", "").strip()[:150]
    qs = AuditEntry.objects.all()
    if dev:
        qs = qs.filter(device_id=dev)
    if user:
        qs = qs.filter(username=user)
    entries = list(qs.order_by("-ts", "-id")[:500])
    audit.record(request, "audit_view", dev, f"audit log{' user ' + user if user else ''}")
    return render(request, "console/audit.html", {"entries": entries, "device": dev, "user": user,
                                                  "perms": perms(request.user)})

