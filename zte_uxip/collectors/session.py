"""session.{connected_since, last_session_s, total_connected_s, connects_total}: the link to
the management server, fed by the transport's connect/disconnect callbacks.

Durations come from the monotonic clock; ``connected_since`` is a wall-clock label only.
"""

from __future__ import annotations

from typing import Any

from .. import clock
from .base import Context

EXTRAS_KEY = "session"


class SessionTracker:
    """Counts sessions. The transport calls ``connected()``/``disconnected()``."""

    def __init__(self) -> None:
        self.connects_total = 0
        self.last_session_s: int | None = None
        self._closed_total_s = 0.0
        self._since_mono: float | None = None
        self._since_wall: int | None = None

    def connected(self) -> None:
        if self._since_mono is not None:
            return
        self.connects_total += 1
        self._since_mono = clock.monotonic_s()
        self._since_wall = clock.wall_ts()

    def disconnected(self) -> None:
        if self._since_mono is None:
            return
        length_s = clock.monotonic_s() - self._since_mono
        self._closed_total_s += length_s
        self.last_session_s = int(length_s)
        self._since_mono = self._since_wall = None

    @property
    def is_connected(self) -> bool:
        return self._since_mono is not None

    def snapshot(self) -> dict[str, Any]:
        total_s = self._closed_total_s
        if self._since_mono is not None:
            total_s += clock.monotonic_s() - self._since_mono
        out: dict[str, Any] = {"connects_total": self.connects_total, "total_connected_s": int(total_s)}
        if self._since_wall is not None:
            out["connected_since"] = self._since_wall
        if self.last_session_s is not None:
            out["last_session_s"] = self.last_session_s
        return out


class SessionCollector:
    section = "session"

    def __init__(self, ctx: Context) -> None:
        tracker = ctx.extras.get(EXTRAS_KEY)
        self._tracker: SessionTracker | None = tracker if isinstance(tracker, SessionTracker) else None

    def prime(self) -> None:
        return None

    def collect(self) -> dict[str, Any] | None:
        """None outside the agent (`sample --once` has no transport): nothing here."""
        return self._tracker.snapshot() if self._tracker is not None else None

    def close(self) -> None:
        return None
