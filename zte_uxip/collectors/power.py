"""power.*: battery level, charging, time on external power and the "long-time charging"
condition (on external power at 100 % for longer than ``[power] long_charging_s``).

Absent on routers without a battery. Durations run on CLOCK_BOOTTIME from the moment the agent
saw the condition start; with ``ctx.persist`` they survive an agent restart (RAM state dir). If
the condition already held when the agent first looked, they count from then: a lower bound.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .. import clock
from ..config import PowerConfig, StateConfig
from ..sources import procfs
from ..sources.power_supply import read_power
from ..statefile import read_json, write_json
from .base import Context

log = logging.getLogger(__name__)
STATE_FILE = "power.json"


class PowerCollector:
    section = "power"

    def __init__(self, ctx: Context) -> None:
        cfg = ctx.config
        self._long_s = (cfg.power if cfg else PowerConfig()).long_charging_s
        self._root, self._persist = ctx.root, ctx.persist
        self._path = os.path.join((cfg.state if cfg else StateConfig()).dir, STATE_FILE)
        self._boot = procfs.boot_id(ctx.root)
        saved = read_json(self._path) or {}
        ok = saved.get("boot_id") == self._boot
        self.external_since: float | None = _num(saved.get("external_since")) if ok else None
        self.full_since: float | None = _num(saved.get("full_since")) if ok else None

    def prime(self) -> None:
        return None

    def collect(self) -> dict[str, Any] | None:
        p = read_power(self._root)
        if p is None:
            return None
        now = clock.boottime_s()
        before = (self.external_since, self.full_since)
        if p.external_power:
            self.external_since = self.external_since if self.external_since is not None else now
        else:
            self.external_since = None
        full = bool(p.external_power) and (p.battery_pct == 100 or p.status == "Full")
        self.full_since = (self.full_since if self.full_since is not None else now) if full else None
        out: dict[str, Any] = {"battery_pct": p.battery_pct, "external_power": p.external_power}
        if p.status in ("Charging", "Discharging", "Not charging", "Full"):
            out["charging"] = p.status == "Charging"
        if self.external_since is not None:
            out["on_external_power_s"] = int(now - self.external_since)
        if p.external_power is not None:
            out["long_charging"] = self.full_since is not None and now - self.full_since > self._long_s
        if self._persist and before != (self.external_since, self.full_since):
            try:
                write_json(self._path, {"boot_id": self._boot, "external_since": self.external_since,
                                        "full_since": self.full_since})
            except OSError as e:
                log.warning("power: %s: %s", self._path, e.strerror)
        return {k: v for k, v in out.items() if v is not None}

    def close(self) -> None:
        return None


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
