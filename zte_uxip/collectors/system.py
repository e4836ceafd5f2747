"""system.{cpu_pct, mem_used_pct, load1, mem_total_kib, procs} from /proc."""

from __future__ import annotations

from typing import Any

from ..sources import procfs
from .base import Context


class SystemCollector:
    section = "system"

    def __init__(self, ctx: Context) -> None:
        self._root = ctx.root
        self._prev: procfs.CpuTimes | None = None

    def prime(self) -> None:
        self._prev = procfs.cpu_times(self._root)

    def collect(self) -> dict[str, Any]:
        cur = procfs.cpu_times(self._root)
        prev, self._prev = self._prev, cur
        out: dict[str, Any] = {}
        if prev is not None and cur.total_ticks > prev.total_ticks:
            busy = max(0, cur.busy_ticks - prev.busy_ticks)
            out["cpu_pct"] = round(100.0 * busy / (cur.total_ticks - prev.total_ticks), 1)
        mem = procfs.meminfo_kib(self._root)
        total, avail = mem.get("MemTotal"), mem.get("MemAvailable")
        if total:
            out["mem_total_kib"] = total
            if avail is not None:
                out["mem_used_pct"] = round(100.0 * (total - avail) / total, 1)
        out["load1"], out["procs"] = procfs.loadavg(self._root)
        return out

    def close(self) -> None:
        return None
