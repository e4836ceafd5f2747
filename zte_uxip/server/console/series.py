"""Chart data: the device's five-minute rollups re-aggregated in SQL, one grouped query per page.

Buckets are integer divisions of unix seconds — the same on SQLite and PostgreSQL — so 30 days
of one-minute data (a quarter of a million sample rows, 8,640 rollups) come back as 360 rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..store.models import Device, Event
from . import rollup
from .diagnosis import radio_at

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


def load(device: Device, range_key: str, now: int) -> Series:
    span, bucket = RANGES[range_key]
    end = (now // bucket + 1) * bucket
    start = end - span
    rollup.update(device)
    radios = [r for r in rollup.radios_of(device, MAX_RADIOS) if _IFACE.fullmatch(r)][:MAX_RADIOS]
    rows = rollup.buckets(device, start, end, bucket, radios)
    drops = []
    for d in (Event.objects.filter(device=device, kind="wan_down", ts__gte=start, ts__lt=end)
              .order_by("-ts").values("ts", "duration_s", "cause", "snapshot")[:MAX_DROPS]):
        radio = radio_at(d.pop("snapshot"))  # the signal at the moment of the drop
        d["rsrp_dbm"], d["sinr_db"] = radio.get("rsrp_dbm"), radio.get("sinr_db")
        drops.append(d)
    drops.reverse()
    return Series(start, end, bucket, rows, radios, drops)
