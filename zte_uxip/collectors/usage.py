"""Data usage of the WAN per billing cycle, and the `data_limit_exceeded` event.

Usage grows by counter deltas of the WAN interface (wrap- and re-creation-safe). The caller
persists ``to_json()`` (RAM often, flash at most on shutdown and once a day) and hands it back
at start, so a restart of the agent or of the device loses at most what flash had not seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .throughput import counter_delta


def cycle_start_ts(wall_ts: float, start_day: int) -> int:
    """Local midnight of the most recent ``start_day`` of a month at or before ``wall_ts``."""
    t = time.localtime(wall_ts)
    year, month = t.tm_year, t.tm_mon
    if t.tm_mday < start_day:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return int(time.mktime((year, month, start_day, 0, 0, 0, 0, 0, -1)))


class UsageMeter:
    def __init__(self, start_day: int, limit_bytes: int, boot_id: str, emit: Callable[[dict[str, Any]], None],
                 saved: dict[str, Any] | None = None) -> None:
        self.start_day, self.limit_bytes, self.boot_id, self._emit = start_day, limit_bytes, boot_id, emit
        s = saved or {}
        ok = all(isinstance(s.get(k), int) and not isinstance(s.get(k), bool) for k in ("cycle_start_ts", "bytes"))
        self.cycle_start = s["cycle_start_ts"] if ok else None
        self.counted_since: int | None = s.get("counted_since_ts") if ok else None
        self.bytes: int = s["bytes"] if ok else 0
        self.exceeded = bool(s.get("exceeded")) if ok else False
        base = s.get("baseline") if ok else None
        self.baseline: list[Any] | None = base if isinstance(base, list) and len(base) == 5 else None

    def update(self, iface: str, index: int, rx_bytes: int, tx_bytes: int, wall_ts: float,
               boot_s: float) -> dict[str, Any]:
        start = cycle_start_ts(wall_ts, self.start_day)
        if self.cycle_start is None:
            # First run ever: everything since boot is in this cycle if the boot was inside it.
            booted = wall_ts - boot_s
            self.cycle_start = start
            self.counted_since = start if booted >= start else int(wall_ts)
            self.bytes = rx_bytes + tx_bytes if booted >= start else 0
            self.exceeded = False
        elif start != self.cycle_start:
            self.cycle_start, self.counted_since, self.bytes, self.exceeded = start, start, 0, False
        b = self.baseline
        if b is not None and b[0] == self.boot_id and b[1] == iface and b[2] == index:
            drx, dtx = counter_delta(int(b[3]), rx_bytes), counter_delta(int(b[4]), tx_bytes)
            self.bytes += (rx_bytes if drx is None else drx) + (tx_bytes if dtx is None else dtx)
        elif b is not None and b[1] == iface:
            # Same WAN, new boot or re-created interface: its counters started again from zero.
            self.bytes += rx_bytes + tx_bytes
        self.baseline = [self.boot_id, iface, index, rx_bytes, tx_bytes]
        out: dict[str, Any] = {"usage_cycle_bytes": self.bytes,
                               "usage_cycle_start_ts": max(self.cycle_start, self.counted_since or 0)}
        if self.limit_bytes:
            out["usage_limit_bytes"] = self.limit_bytes
            if self.bytes > self.limit_bytes and not self.exceeded:
                self.exceeded = True
                self._emit({"type": "data_limit_exceeded", "ts": int(wall_ts), "uptime_s": int(boot_s),
                            "usage_cycle_bytes": self.bytes, "limit_bytes": self.limit_bytes, "iface": iface})
        return out

    def to_json(self) -> dict[str, Any]:
        return {"cycle_start_ts": self.cycle_start, "counted_since_ts": self.counted_since, "bytes": self.bytes,
                "exceeded": self.exceeded, "baseline": self.baseline}
