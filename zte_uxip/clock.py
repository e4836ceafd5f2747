"""Clocks. Intervals and uptime come from CLOCK_BOOTTIME (monotonic, counts suspend, never
jumps with NTP); the wall clock is only a label on records (`ts`)."""

from __future__ import annotations

import time


def boottime_s() -> float:
    """Seconds since boot, including suspend: the device's uptime."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def monotonic_s() -> float:
    """For intervals and deadlines inside the process."""
    return time.monotonic()


def wall_ts() -> int:
    """Unix seconds, a label only: never used to measure an interval."""
    return int(time.time())


def wall_ts_float() -> float:
    """Unix seconds with a fraction: labels and calendar boundaries (billing cycle, local day)."""
    return time.time()
