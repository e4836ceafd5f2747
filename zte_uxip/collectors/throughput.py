"""Rates from cumulative counters: bits per second over each sample interval, and the peak of
those rates inside the report interval. Interfaces are keyed by ifindex, so a rename keeps its
baseline and a re-created interface (same name, new index) starts a new one."""

from __future__ import annotations

from collections import deque

WRAP32 = 1 << 32


def counter_delta(prev: int, cur: int) -> int | None:
    """Growth of a kernel counter between two reads; None when it was reset (no rate then).

    32-bit routers (MIPS, ARMv7) keep some driver counters in an unsigned long: a value that
    fell from the upper half of 2**32 into the lower half wrapped; any other decrease is a reset.
    """
    if cur >= prev:
        return cur - prev
    if prev < WRAP32 and prev >= WRAP32 // 2 and cur < WRAP32 // 2:
        return cur + WRAP32 - prev
    return None


class RateMeter:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._prev: dict[int, tuple[float, int, int]] = {}
        self._hist: dict[int, deque[tuple[float, int, int]]] = {}

    def update(self, index: int, rx_bytes: int, tx_bytes: int, now_s: float) -> dict[str, int]:
        """rx_bps/tx_bps (when a previous read exists and no counter was reset) and the peaks."""
        prev = self._prev.get(index)
        self._prev[index] = (now_s, rx_bytes, tx_bytes)
        hist = self._hist.setdefault(index, deque())
        out: dict[str, int] = {}
        if prev is not None and now_s > prev[0]:
            drx, dtx = counter_delta(prev[1], rx_bytes), counter_delta(prev[2], tx_bytes)
            if drx is not None and dtx is not None:
                dt = now_s - prev[0]
                out["rx_bps"], out["tx_bps"] = round(drx * 8 / dt), round(dtx * 8 / dt)
                hist.append((now_s, out["rx_bps"], out["tx_bps"]))
        while hist and hist[0][0] <= now_s - self.window_s:
            hist.popleft()
        if hist:
            out["rx_bps_peak"] = max(h[1] for h in hist)
            out["tx_bps_peak"] = max(h[2] for h in hist)
        return out

    def keep_only(self, indexes: set[int]) -> None:
        """Forget interfaces that are gone (their index may be reused by a new one)."""
        for d in (self._prev, self._hist):
            for index in list(d):
                if index not in indexes:
                    del d[index]
