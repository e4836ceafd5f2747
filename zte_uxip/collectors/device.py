"""device.*: manufacturer, hardware type, model, software version (config overrides first), the
serial number and base MAC as identifiers (pseudonymised by the privacy filter), and two events:

- ``version_too_low``: the software version is below ``[device] min_sw_version``;
- ``unexpected_restart``: the boot id changed and the previous boot left no clean-shutdown
  mark. The mark lives in the flash dir and is written once per agent start, on shutdown and
  once a day (with the uptime, so ``previous_uptime_s`` is the last uptime recorded: at most a
  day short of the real one).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .. import __version__, clock
from ..config import DeviceConfig, StateConfig
from ..sources import devinfo, procfs
from ..statefile import read_json, write_json
from .base import Context

log = logging.getLogger(__name__)
BOOT_FILE = "boot.json"
MARK_EVERY_S = 86400


class DeviceCollector:
    section = "device"

    def __init__(self, ctx: Context) -> None:
        cfg = ctx.config
        self._cfg = cfg.device if cfg else DeviceConfig()
        self._ctx = ctx
        self._mark_path = os.path.join((cfg.state if cfg else StateConfig()).flash_dir, BOOT_FILE)
        self._last_mark = clock.monotonic_s()
        f = devinfo.read_facts(ctx.root)
        c = self._cfg
        facts = {"manufacturer": c.manufacturer or f.manufacturer, "hw_type": c.hw_type or f.hw_type,
                 "model": c.model or f.model, "sw_version": c.sw_version or f.sw_version,
                 "serial": f.serial, "base_mac": f.base_mac, "agent_version": __version__}
        self.facts = {k: v for k, v in facts.items() if v}

    def prime(self) -> None:
        self._check_version()
        if self._ctx.persist:
            self._check_restart()

    def _check_version(self) -> None:
        floor, sw = self._cfg.min_sw_version, self.facts.get("sw_version")
        if not floor or not sw:
            return
        have, need = devinfo.version_tuple(sw), devinfo.version_tuple(floor)
        if have is None or need is None:
            log.warning("device: cannot compare versions %r and %r", sw, floor)
            return
        if have < need:
            self._ctx.emit({"type": "version_too_low", "ts": clock.wall_ts(), "uptime_s": int(clock.boottime_s()),
                            "sw_version": sw, "min_version": floor})

    def _check_restart(self) -> None:
        boot = procfs.boot_id(self._ctx.root)
        prev = read_json(self._mark_path)
        if prev is not None and prev.get("boot_id") != boot and prev.get("clean") is not True:
            event: dict[str, Any] = {"type": "unexpected_restart", "ts": clock.wall_ts(),
                                     "uptime_s": int(clock.boottime_s())}
            up = prev.get("uptime_s")
            if isinstance(up, int) and not isinstance(up, bool) and up >= 0:
                event["previous_uptime_s"] = up
            self._ctx.emit(event)
        self._mark(boot, clean=False)

    def _mark(self, boot: str, clean: bool) -> None:
        self._last_mark = clock.monotonic_s()
        try:
            write_json(self._mark_path, {"boot_id": boot, "clean": clean, "uptime_s": int(clock.boottime_s())})
        except OSError as e:
            log.warning("device: %s: %s", self._mark_path, e.strerror)

    def collect(self) -> dict[str, Any]:
        if self._ctx.persist and clock.monotonic_s() - self._last_mark >= MARK_EVERY_S:
            self._mark(procfs.boot_id(self._ctx.root), clean=False)
        return dict(self.facts)

    def close(self) -> None:
        """A clean stop (the init system stops the agent on shutdown): no restart event next boot."""
        if self._ctx.persist:
            self._mark(procfs.boot_id(self._ctx.root), clean=True)
