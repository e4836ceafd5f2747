"""wan.*: which interface is the WAN, whether it is up, its outages (counted once each, with
cause, duration and the field data at the drop), its rates and its usage per billing cycle.

The link watcher thread follows rtnetlink events; ``collect`` only reads the tracker's state and
the WAN's counters. With ``ctx.persist`` (the agent) the counts live in the RAM state dir
across agent restarts, and usage reaches flash only on shutdown and once a day.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from .. import clock
from ..config import StateConfig, WanConfig
from ..sources import procfs, rtnl
from ..statefile import read_json, write_json
from .base import WAN_UP_KEY, Context
from .disconnects import Counts, Outage, WanTracker, wan_kind
from .linkwatch import LinkWatcher
from .throughput import RateMeter
from .usage import UsageMeter

log = logging.getLogger(__name__)
FLASH_EVERY_S = 86400
RAM_FILE = "wan.json"
FLASH_FILE = "usage.json"


def _outage_json(o: Outage | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"iface": o.iface, "cause": o.cause, "start_boot_s": o.start_boot_s, "start_ts": o.start_ts}


def _outage(d: Any) -> Outage | None:
    try:
        return Outage(str(d["iface"]), str(d["cause"]), float(d["start_boot_s"]), int(d["start_ts"]))
    except (TypeError, KeyError, ValueError):
        return None


def counts_to_json(c: Counts) -> dict[str, Any]:
    return {"up": c.up, "disconnects_total": c.disconnects_total, "day": list(c.day),
            "disconnects_today": c.disconnects_today, "up_since_boot_s": c.up_since_boot_s,
            "open_outage": _outage_json(c.open_outage), "last": _outage_json(c.last),
            "last_duration_s": c.last_duration_s}


def counts_from_json(d: dict[str, Any]) -> Counts | None:
    try:
        c = Counts(up=bool(d["up"]), disconnects_total=int(d["disconnects_total"]),
                   day=(int(d["day"][0]), int(d["day"][1]), int(d["day"][2])),
                   disconnects_today=int(d["disconnects_today"]),
                   up_since_boot_s=None if d["up_since_boot_s"] is None else float(d["up_since_boot_s"]),
                   open_outage=_outage(d["open_outage"]), last=_outage(d["last"]),
                   last_duration_s=None if d["last_duration_s"] is None else int(d["last_duration_s"]))
    except (TypeError, KeyError, ValueError, IndexError):
        return None
    if c.disconnects_total < 0 or c.disconnects_today < 0:
        return None
    return c


class WanCollector:
    section = "wan"

    def __init__(self, ctx: Context, events: rtnl.RtnlEvents | None = None,
                 source: rtnl.RtnlSource | None = None) -> None:
        cfg = ctx.config
        self._wan_cfg = cfg.wan if cfg else WanConfig()
        state = cfg.state if cfg else StateConfig()
        window = cfg.intervals.report_s if cfg else 60
        self._persist = ctx.persist
        self._ctx = ctx
        self._ram_path = os.path.join(state.dir, RAM_FILE)
        self._flash_path = os.path.join(state.flash_dir, FLASH_FILE)
        self._boot_id = procfs.boot_id(ctx.root)
        ram = read_json(self._ram_path)
        if ram is not None and ram.get("boot_id") != self._boot_id:
            ram = None  # a previous boot's RAM state cannot survive a reboot; a stale copy is ignored
        counts = counts_from_json(ram["counts"]) if ram and isinstance(ram.get("counts"), dict) else None
        saved_usage = ram.get("usage") if ram else read_json(self._flash_path)
        self._lock = threading.RLock()  # tracker, usage and the RAM state file: watcher thread vs sampling
        self.usage = UsageMeter(self._wan_cfg.cycle_start_day, self._wan_cfg.limit_bytes, self._boot_id,
                                lambda e: self._ctx.emit(e),
                                saved_usage if isinstance(saved_usage, dict) else None)
        self.rates = RateMeter(window)
        # The watcher thread queues its events here; collect() hands them on from the sampling
        # thread, so whatever ctx.emit appends to never sees two threads at once.
        self._pending: list[dict[str, Any]] = []
        self.tracker = WanTracker(self._wan_cfg.iface, boot_s=clock.boottime_s, wall=clock.wall_ts_float,
                                  emit=self._pending.append, field_data=self._field_data, counts=counts,
                                  on_change=lambda _c: self._save_ram())
        self._source = source or rtnl.RtnlSource()
        self.watcher = LinkWatcher(self.tracker, events=events, source=rtnl.RtnlSource(), lock=self._lock)
        self.watcher.start()
        self._last_flash = clock.monotonic_s()
        ctx.extras[WAN_UP_KEY] = self.is_up  # the transport's live gate (agent.py)

    def is_up(self) -> bool:
        """Whether the WAN is usable right now, from the watcher's state (not a sample old).
        True while no WAN is known yet: then only the connection attempt itself can tell."""
        with self._lock:
            return self.tracker.wan is None or self.tracker.usable

    def _field_data(self) -> dict[str, Any] | None:
        """The other collectors' latest values (the sampler keeps its last snapshot in extras)."""
        snap = self._ctx.extras.get("last_snapshot")
        if not isinstance(snap, dict):
            return None
        return {k: v for k, v in snap.items() if k != "events"}

    def prime(self) -> None:
        return None

    def _flush_events(self) -> None:
        with self._lock:
            events, self._pending[:] = list(self._pending), []
        for event in events:
            self._ctx.emit(event)

    def _follow_modem(self) -> None:
        """A modem that lost its packet-data attach is an outage of a cellular WAN only. The
        cellular section comes from the previous sample (at most one sample interval late)."""
        snap = self._ctx.extras.get("last_snapshot")
        cell = snap.get("cellular") if isinstance(snap, dict) else None
        attached = cell.get("attached") if isinstance(cell, dict) else None
        with self._lock:
            index = self.tracker.wan_index()
            link = self.tracker.links.get(index) if index is not None else None
            cellular_wan = self.tracker.wan is not None and \
                wan_kind(self.tracker.wan, link.kind if link else None) == "cellular"
            detached = cellular_wan and attached is False
            if detached != self.tracker.modem_is_detached:
                self.tracker.modem_detached(detached)

    def collect(self) -> dict[str, Any] | None:
        self._follow_modem()
        self._flush_events()
        with self._lock:
            out = self.tracker.state()
            index = self.tracker.wan_index()
        if out is None:
            return None
        link = self._source.link(index) if index is not None else None
        if link is not None and "rx_bytes_total" in link.counters:
            rx, tx = link.counters["rx_bytes_total"], link.counters["tx_bytes_total"]
            rates = self.rates.update(link.index, rx, tx, clock.monotonic_s())
            out.update({k: v for k, v in rates.items() if k.endswith("_peak")})
            self.rates.keep_only({link.index})
            with self._lock:
                out.update(self.usage.update(link.name, link.index, rx, tx, clock.wall_ts_float(),
                                             clock.boottime_s()))
        if self._persist:
            self._save_ram()
            if clock.monotonic_s() - self._last_flash >= FLASH_EVERY_S:
                self._save_flash()
        return out

    def _save_ram(self) -> None:
        if not self._persist:
            return
        with self._lock:  # one writer at a time, and the newest state last (tmpfs: microseconds)
            try:
                write_json(self._ram_path, {"boot_id": self._boot_id, "counts": counts_to_json(self.tracker.counts),
                                            "usage": self.usage.to_json()})
            except OSError as e:
                log.warning("wan: state %s: %s", self._ram_path, e.strerror)

    def _save_flash(self) -> None:
        self._last_flash = clock.monotonic_s()
        with self._lock:
            usage = self.usage.to_json() if self.usage.cycle_start is not None else None
        if usage is None:
            return
        try:
            write_json(self._flash_path, usage)
        except OSError as e:
            log.warning("wan: usage %s: %s", self._flash_path, e.strerror)

    def close(self) -> None:
        if self._ctx.extras.get(WAN_UP_KEY) == self.is_up:
            del self._ctx.extras[WAN_UP_KEY]
        self.watcher.close()
        self._flush_events()
        self._source.close()
        if self._persist:
            self._save_ram()
            self._save_flash()
