"""session.*: the management-server connection (connect time, length of the last session,
total connected time, number of connects), fed by the transport through ``SessionTracker``.

The transport finds the one tracker with ``session_tracker(ctx)`` and calls ``connected()``
after CONNACK and ``disconnected()`` when the connection ends. Durations use CLOCK_BOOTTIME;
``connected_since`` is a wall-clock label. Before the first connection the section is absent.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import clock
from .base import Context

EXTRAS_KEY = "session"


class SessionTracker:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # the transport calls from its network thread
        self.connects_total = 0
        self.total_s = 0.0
        self.last_session_s: int | None = None
        self._since_boot: float | None = None
        self._since_ts: int | None = None

    def connected(self) -> None:
        with self._lock:
            if self._since_boot is None:
                self.connects_total += 1
                self._since_boot, self._since_ts = clock.boottime_s(), clock.wall_ts()

    def disconnected(self) -> None:
        with self._lock:
            if self._since_boot is not None:
                length = max(0.0, clock.boottime_s() - self._since_boot)
                self.total_s += length
                self.last_session_s = int(length)
                self._since_boot = self._since_ts = None

    def state(self) -> dict[str, Any] | None:
        with self._lock:
            if self.connects_total == 0:
                return None
            total = self.total_s
            out: dict[str, Any] = {"connects_total": self.connects_total}
            if self._since_boot is not None:
                total += max(0.0, clock.boottime_s() - self._since_boot)
                out["connected_since"] = self._since_ts
            if self.last_session_s is not None:
                out["last_session_s"] = self.last_session_s
            out["total_connected_s"] = int(total)
            return out


def session_tracker(ctx: Context) -> SessionTracker:
    """The context's one tracker (created on first use), shared by the transport and the collector."""
    tracker = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(tracker, SessionTracker):
        tracker = ctx.extras[EXTRAS_KEY] = SessionTracker()
    return tracker


class SessionCollector:
    section = "session"

    def __init__(self, ctx: Context) -> None:
        self.tracker = session_tracker(ctx)

    def prime(self) -> None:
        return None

    def collect(self) -> dict[str, Any] | None:
        return self.tracker.state()

    def close(self) -> None:
        return None
