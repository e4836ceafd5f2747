"""Runs the collectors into one snapshot (JSON names, before the privacy filter)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from . import clock
from .collectors import COLLECTORS, Collector, Context
from .errors import SourceError

log = logging.getLogger(__name__)


class Sampler:
    def __init__(self, collectors: Iterable[Collector], ctx: Context) -> None:
        self.collectors = list(collectors)
        self.events: list[dict[str, Any]] = []
        ctx.emit = self.events.append
        self.ctx = ctx
        self._failed: set[str] = set()

    @classmethod
    def from_table(cls, ctx: Context, names: Iterable[str] | None = None) -> Sampler:
        """Build the named collectors (default: all); one that cannot start is left out with a log line."""
        built: list[Collector] = []
        sampler = cls(built, ctx)
        for name in names or COLLECTORS:
            try:
                built.append(COLLECTORS[name](ctx))
            except (SourceError, OSError) as e:
                log.warning("collector %s disabled: %s", name, e)
        sampler.collectors = built
        return sampler

    def prime(self) -> None:
        for c in self.collectors:
            self._guard(c, c.prime)

    def sample(self) -> dict[str, Any]:
        snap: dict[str, Any] = {"ts": clock.wall_ts(), "uptime_s": int(clock.boottime_s())}
        for c in self.collectors:
            value = self._guard(c, c.collect)
            if value is not None:
                snap[c.section] = value
        self.ctx.extras["last_snapshot"] = snap  # the field data a wan_down event carries
        return snap

    def drain_events(self) -> list[dict[str, Any]]:
        events, self.events[:] = list(self.events), []
        return events

    def close(self) -> None:
        for c in self.collectors:
            self._guard(c, c.close)

    def _guard(self, c: Collector, fn: Any) -> Any:
        """One broken source costs its section of this sample, never the agent."""
        try:
            result = fn()
        except (SourceError, OSError, ValueError) as e:
            if c.section not in self._failed:
                log.warning("%s: %s", c.section, e)
            self._failed.add(c.section)
            return None
        self._failed.discard(c.section)
        return result


def sample_once(ctx: Context, settle_s: float = 0.25) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One snapshot with rates and CPU measured over ``settle_s``."""
    sampler = Sampler.from_table(ctx)
    try:
        sampler.prime()
        time.sleep(settle_s)
        return sampler.sample(), sampler.drain_events()
    finally:
        sampler.close()
