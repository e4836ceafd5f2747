"""Chart data, aggregated in SQL: one grouped query per device page.

Samples are bucketed by integer division of ``ts`` (unix s) — the same on SQLite and
PostgreSQL — so 30 days of one-minute data (a quarter of a million rows) come back as a few
hundred rows, one per bucket, over the (device, ts) index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Case, Count, ExpressionWrapper, F, FloatField, IntegerField, Max, Min, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from ..store.diagnosis import radio_at
from ..store.models import Device, Event, Sample

# range key -> (span, bucket); about 300 buckets each
RANGES: dict[str, tuple[int, int]] = {
    "24h": (86400, 300),
    "7d": (7 * 86400, 1800),
    "30d": (30 * 86400, 7200),
}
DEFAULT_RANGE = "7d"
MAX_RADIOS = 4
MAX_DROPS = 2000  # marks per chart; the newest win
# A radio's name comes from the device: only plain interface names become JSON paths.
_IFACE = re.compile(r"[A-Za-z0-9_.-]{1,15}")


@dataclass
class Series:
    start: int
    end: int
    bucket_s: int
    rows: list[dict[str, Any]]  # one per bucket with data, in time order; "t" = bucket middle
    radios: list[str]
    drops: list[dict[str, Any]]  # wan_down events in the range: ts, duration_s, cause, rsrp_dbm, sinr_db


def radios_of(device: Device) -> list[str]:
    """Radio names from the newest sample that has any (device text, checked)."""
    latest = (Sample.objects.filter(device=device, wifi_clients_by_radio__isnull=False)
              .order_by("-ts").values_list("wifi_clients_by_radio", flat=True).first())
    if not isinstance(latest, dict):
        return []
    return sorted(k for k in latest if isinstance(k, str) and _IFACE.fullmatch(k))[:MAX_RADIOS]


def load(device: Device, range_key: str, now: int) -> Series:
    span, bucket = RANGES[range_key]
    end = (now // bucket + 1) * bucket
    start = end - span
    radios = radios_of(device)
    b = ExpressionWrapper(F("ts") / Value(bucket), output_field=IntegerField())
    up = Case(When(wan_up=True, then=Value(1.0)), When(wan_up=False, then=Value(0.0)), output_field=FloatField())
    per_radio = {f"r{i}": Max(Cast(KT(f"wifi_clients_by_radio__{name}"), IntegerField()))
                 for i, name in enumerate(radios)}
    qs = (
        Sample.objects.filter(device=device, ts__gte=start, ts__lt=end)
        .annotate(b=b).values("b")
        .annotate(
            n=Count("id"),
            rsrp=Avg("rsrp_dbm"), rsrp_min=Min("rsrp_dbm"),
            sinr=Avg("sinr_db"), sinr_min=Min("sinr_db"),
            rx=Avg("rx_bps"), tx=Avg("tx_bps"),
            up=Avg(up), cpu=Avg("cpu_pct"), mem=Avg("mem_used_pct"),
            clients=Max("wifi_clients"),
            **per_radio,
        )
        .order_by("b")
    )
    rows = []
    for r in qs:
        r["t"] = r["b"] * bucket + bucket // 2
        rows.append(r)
    drops = []
    for d in (Event.objects.filter(device=device, kind="wan_down", ts__gte=start, ts__lt=end)
              .order_by("-ts").values("ts", "duration_s", "cause", "snapshot")[:MAX_DROPS]):
        radio = radio_at(d.pop("snapshot"))  # the signal at the moment of the drop
        d["rsrp_dbm"], d["sinr_db"] = radio.get("rsrp_dbm"), radio.get("sinr_db")
        drops.append(d)
    drops.reverse()
    return Series(start, end, bucket, rows, radios, drops)
