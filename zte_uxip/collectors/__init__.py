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


def _cellular(ctx: Context) -> Collector:
    from .cellular import CellularCollector

    return CellularCollector(ctx)


COLLECTORS: dict[str, Callable[[Context], Collector]] = {
    "system": _system,
    "links": _links,
    "wifi": _wifi,
    "cellular": _cellular,
}

__all__ = ["COLLECTORS", "Collector", "Context"]
