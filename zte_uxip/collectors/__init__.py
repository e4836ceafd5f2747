"""The single table of collectors. Factories import their module lazily, so the agent pays
(in RSS and start time) only for the collectors it runs."""

from __future__ import annotations

from collections.abc import Callable

from .base import Collector, Context


def _system(ctx: Context) -> Collector:
    from .system import SystemCollector

    return SystemCollector(ctx)


def _links(ctx: Context) -> Collector:
    from .links import LinksCollector

    return LinksCollector(ctx)


def _wifi(ctx: Context) -> Collector:
    from .wifi import WifiCollector

    return WifiCollector(ctx)


def _wan(ctx: Context) -> Collector:
    from .wan import WanCollector

    return WanCollector(ctx)


def _device(ctx: Context) -> Collector:
    from .device import DeviceCollector

    return DeviceCollector(ctx)


def _power(ctx: Context) -> Collector:
    from .power import PowerCollector

    return PowerCollector(ctx)


def _session(ctx: Context) -> Collector:
    from .session import SessionCollector

    return SessionCollector(ctx)


def _cellular(ctx: Context) -> Collector:
    from .cellular import CellularCollector

    return CellularCollector(ctx)


COLLECTORS: dict[str, Callable[[Context], Collector]] = {
    "system": _system,
    "links": _links,
    "wifi": _wifi,
    "wan": _wan,
    "device": _device,
    "power": _power,
    "session": _session,
    "cellular": _cellular,
}

__all__ = ["COLLECTORS", "Collector", "Context"]
