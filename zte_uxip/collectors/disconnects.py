"""The WAN disconnect tracker: pure state, fed with parsed rtnetlink objects, no I/O.

It decides which interface is the WAN (the configured one, else the default route's, IPv4 then
IPv6, and the last known one while the route is gone), whether the WAN is usable (admin up,
carrier, a routable address, a default route through it), and turns each passage from usable
to unusable into one counted outage, whatever else goes wrong during it. The cause is the first
reason observed; the `wan_down` event is emitted once, when the WAN comes back, with the
duration and the field data captured at the drop (DESIGN.md, "A WAN outage").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

from ..sources.rtnl import AF_INET, AF_INET6, AddrInfo, LinkInfo, RouteInfo

CAUSES = ("admin_down", "carrier_lost", "route_lost", "address_lost", "modem_detached")
DOWN_OPER = frozenset({"down", "lowerlayerdown", "notpresent", "dormant"})
CELLULAR_PREFIXES = ("wwan", "usb", "rmnet", "qmimux", "ccmni", "wwp")


def wan_kind(name: str, link_kind: str | None) -> str:
    """cellular / ppp / ethernet, or the kernel's link kind (tun, wireguard, ...) otherwise."""
    if name.startswith(CELLULAR_PREFIXES):
        return "cellular"
    if name.startswith("ppp"):
        return "ppp"
    if link_kind in (None, "veth", "vlan", "bridge", "bond", "macvlan", "dsa"):
        return "ethernet"
    return link_kind


def local_day(ts: float) -> tuple[int, int, int]:
    t = time.localtime(ts)
    return (t.tm_year, t.tm_mon, t.tm_mday)


class Outage(NamedTuple):
    iface: str
    cause: str
    start_boot_s: float  # CLOCK_BOOTTIME at the drop: durations never follow the wall clock
    start_ts: int  # wall clock at the drop, a label only
    field_data: dict[str, Any] | None = None


class Counts:
    """What outlives an agent restart (kept in the RAM state dir, keyed by boot id).
    Mutable, so a plain class (dataclasses would cost ~1.1 MiB RSS at import)."""

    def __init__(self, up: bool = False, disconnects_total: int = 0, day: tuple[int, int, int] = (0, 0, 0),
                 disconnects_today: int = 0, up_since_boot_s: float | None = None,
                 open_outage: Outage | None = None, last: Outage | None = None,
                 last_duration_s: int | None = None) -> None:
        self.up = up
        self.disconnects_total = disconnects_total
        self.day = day
        self.disconnects_today = disconnects_today
        self.up_since_boot_s = up_since_boot_s
        self.open_outage = open_outage
        self.last = last
        self.last_duration_s = last_duration_s

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counts) and vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Counts({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class WanTracker:
    def __init__(self, configured_iface: str = "", *, boot_s: Callable[[], float], wall: Callable[[], float],
                 emit: Callable[[dict[str, Any]], None],
                 field_data: Callable[[], dict[str, Any] | None] = lambda: None,
                 counts: Counts | None = None, on_change: Callable[[Counts], None] = lambda c: None) -> None:
        self._configured = configured_iface
        self._boot_s, self._wall, self._emit, self._field_data = boot_s, wall, emit, field_data
        self._on_change = on_change
        self.counts = counts or Counts()
        self.links: dict[int, LinkInfo] = {}
        self.addrs: dict[int, set[tuple[int, str]]] = {}
        self.routes: set[RouteInfo] = set()
        self.modem_is_detached = False
        self.wan: str | None = configured_iface or (self.counts.open_outage.iface if self.counts.open_outage else None)
        self.usable = self.counts.up and self.counts.open_outage is None
        # Up at the very first look with nothing remembered: since when is unknown, so absent.
        self._fresh = counts is None

    # ------------------------------------------------------------------ inputs

    def reset(self, links: list[LinkInfo], addrs: list[AddrInfo], routes: list[RouteInfo]) -> None:
        """The whole state from a dump (start, or after an event overrun)."""
        self.links = {li.index: li for li in links}
        self.addrs = {}
        for a in addrs:
            if a.routable:
                self.addrs.setdefault(a.index, set()).add((a.family, a.address))
        self.routes = {r for r in routes if r.is_default}
        self._evaluate()

    def link(self, info: LinkInfo) -> bool:
        """RTM_NEWLINK. True when the WAN's admin, carrier or oper state changed: the kernel
        flushes routes on admin down and clears their `linkdown` flag on carrier up without a
        route notification, so the caller should re-read the routes."""
        old = self.links.get(info.index)
        self.links[info.index] = info  # keyed by index: a rename keeps addresses and routes
        self._evaluate()
        return info.name == self.wan and (
            old is None or (old.admin_up, old.carrier, old.oper) != (info.admin_up, info.carrier, info.oper))

    def del_link(self, index: int) -> None:
        self.links.pop(index, None)
        self.addrs.pop(index, None)
        self.routes = {r for r in self.routes if r.oif != index}
        self._evaluate()

    def addr(self, a: AddrInfo, present: bool) -> bool:
        """RTM_NEWADDR / RTM_DELADDR. True when a WAN address went (routes may have gone with it)."""
        if not a.routable:
            return False
        entry = (a.family, a.address)
        if present:
            self.addrs.setdefault(a.index, set()).add(entry)
        else:
            self.addrs.get(a.index, set()).discard(entry)
        self._evaluate()
        return not present and self.wan_index() == a.index

    def route(self, r: RouteInfo, present: bool) -> None:
        if not r.is_default:
            return
        if present:
            self.routes = {x for x in self.routes if not self._same_route(x, r)} | {r}
        else:
            self.routes = {x for x in self.routes if not self._same_route(x, r)}
        self._evaluate()

    def set_routes(self, routes: list[RouteInfo]) -> None:
        self.routes = {r for r in routes if r.is_default}
        self._evaluate()

    def modem_detached(self, detached: bool) -> None:
        """From the cellular collector: the modem lost its packet-data attach."""
        self.modem_is_detached = detached
        self._evaluate()

    # ------------------------------------------------------------------ decisions

    @staticmethod
    def _same_route(a: RouteInfo, b: RouteInfo) -> bool:
        return (a.family, a.oif, a.priority, a.table) == (b.family, b.oif, b.priority, b.table)

    def _index_of(self, name: str | None) -> int | None:
        for li in self.links.values():
            if li.name == name:
                return li.index
        return None

    def wan_index(self) -> int | None:
        return self._index_of(self.wan)

    def _route_wan(self) -> str | None:
        for family in (AF_INET, AF_INET6):
            cands = sorted((r.linkdown, r.priority, r.oif) for r in self.routes
                           if r.family == family and r.oif in self.links)
            if cands:
                return self.links[cands[0][2]].name
        return None

    def missing(self) -> str | None:
        """Why the WAN is not usable now (the first of CAUSES that applies), or None."""
        index = self.wan_index()
        link = self.links.get(index) if index is not None else None
        if link is None:
            return "carrier_lost"  # the interface vanished (modem unplugged, PPP session gone)
        if not link.admin_up:
            return "admin_down"
        if link.carrier is False or link.oper in DOWN_OPER:
            return "carrier_lost"
        if self.modem_is_detached:
            return "modem_detached"
        if not self.addrs.get(link.index):
            return "address_lost"
        if not any(r.oif == link.index and not r.linkdown for r in self.routes):
            return "route_lost"
        return None

    def _evaluate(self) -> None:
        if not self._configured:
            self.wan = self._route_wan() or self.wan
        if self.wan is None:
            return
        fresh, self._fresh = self._fresh, False
        reason = self.missing()
        now = self._boot_s()
        c = self.counts
        if self.usable and reason is not None:
            self.usable = c.up = False
            wall = self._wall()
            self._roll_day(wall)
            c.disconnects_total += 1
            c.disconnects_today += 1
            c.up_since_boot_s = None
            c.open_outage = Outage(self.wan, reason, now, int(wall), self._field_data())
            self._on_change(c)
        elif not self.usable and reason is None:
            self.usable = c.up = True
            c.up_since_boot_s = None if fresh else now
            o, c.open_outage = c.open_outage, None
            if o is not None:
                duration = max(0, round(now - o.start_boot_s))
                c.last, c.last_duration_s = o, duration
                event: dict[str, Any] = {"type": "wan_down", "ts": o.start_ts, "uptime_s": int(o.start_boot_s),
                                         "duration_s": duration, "cause": o.cause, "iface": o.iface}
                if o.field_data:
                    event["snapshot"] = o.field_data
                self._emit(event)
            self._on_change(c)

    def _roll_day(self, wall: float) -> None:
        day = local_day(wall)
        if day != self.counts.day:
            self.counts.day, self.counts.disconnects_today = day, 0

    # ------------------------------------------------------------------ output

    def state(self) -> dict[str, Any] | None:
        """The `wan` section (clear addresses: the privacy filter pseudonymises them)."""
        if self.wan is None:
            return None
        c = self.counts
        self._roll_day(self._wall())
        index = self.wan_index()
        link = self.links.get(index) if index is not None else None
        out: dict[str, Any] = {"iface": self.wan, "up": self.usable,
                               "kind": wan_kind(self.wan, link.kind if link else None),
                               "disconnects_total": c.disconnects_total, "disconnects_today": c.disconnects_today}
        if self.usable and c.up_since_boot_s is not None:
            out["connected_s"] = max(0, int(self._boot_s() - c.up_since_boot_s))
        if c.open_outage is not None:
            o = c.open_outage
            out["last_disconnect"] = {"ts": o.start_ts, "duration_s": max(0, int(self._boot_s() - o.start_boot_s)),
                                      "cause": o.cause, "ongoing": True}
        elif c.last is not None and c.last_duration_s is not None:
            out["last_disconnect"] = {"ts": c.last.start_ts, "duration_s": c.last_duration_s,
                                      "cause": c.last.cause, "ongoing": False}
        for family, key in ((AF_INET, "ipv4"), (AF_INET6, "ipv6")):
            found = sorted(a for f, a in self.addrs.get(index, set()) if f == family) if index is not None else []
            if found:
                out[key] = found[0]
        return out
