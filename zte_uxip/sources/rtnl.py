"""rtnetlink: links (and their kernel counters), addresses and default routes of the current
network namespace.

The parsers take raw payloads so tests can feed recorded messages; ``RtnlSource`` is the real
kernel behind the small ``LinkSource`` protocol; ``RtnlEvents`` is the multicast subscription
the link watcher reads instead of polling.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import NamedTuple, Protocol

from ..errors import SourceError
from .netlink import NETLINK_ROUTE, NLM_F_DUMP, RECV_BYTES, NetlinkSocket, attr, attr_str, iter_messages, parse_attrs

RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18

IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MTU = 4
IFLA_OPERSTATE = 16
IFLA_STATS64 = 23
IFLA_LINKINFO = 18
IFLA_INFO_KIND = 1
IFLA_CARRIER = 33
IFLA_CARRIER_CHANGES = 35
IFLA_CARRIER_UP_COUNT = 47
IFLA_CARRIER_DOWN_COUNT = 48

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000

RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_DELROUTE = 25
RTM_GETROUTE = 26

IFA_ADDRESS = 1
IFA_LOCAL = 2
RT_SCOPE_LINK = 253
RT_SCOPE_HOST = 254

RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
RTA_PRIORITY = 6
RTA_TABLE = 15
RT_TABLE_MAIN = 254
RTN_UNICAST = 1
RTNH_F_DEAD = 0x1
RTNH_F_LINKDOWN = 0x10

AF_INET = 2
AF_INET6 = 10

# Multicast groups (bit masks for bind): include/uapi/linux/rtnetlink.h, RTMGRP_*.
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_IFADDR = 0x100
RTMGRP_IPV6_ROUTE = 0x400
WATCH_GROUPS = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE

IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags

# include/uapi/linux/if.h, IF_OPER_*; DESIGN.md: the kernel's operstate in lower case.
OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")

IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
# struct rtnl_link_stats64: the first eight counters, in kernel order.
STATS64_NAMES = (
    "rx_packets_total", "tx_packets_total", "rx_bytes_total", "tx_bytes_total",
    "rx_errors_total", "tx_errors_total", "rx_dropped_total", "tx_dropped_total",
)
_STATS64_HEAD = struct.Struct("=8Q")
_LINK_ATTRS = frozenset({IFLA_IFNAME, IFLA_MTU, IFLA_OPERSTATE, IFLA_STATS64, IFLA_LINKINFO, IFLA_CARRIER,
                         IFLA_CARRIER_CHANGES})


class LinkInfo(NamedTuple):
    index: int  # type: ignore[assignment]  # the ifindex; shadows tuple.index, unused here
    name: str
    oper: str
    admin_up: bool
    carrier: bool | None
    mtu: int | None
    kind: str | None
    carrier_changes_total: int | None
    counters: dict[str, int]  # STATS64_NAMES -> value; empty when the kernel sent none


def parse_link(payload: bytes) -> LinkInfo:
    """One RTM_NEWLINK payload (ifinfomsg + attributes) -> LinkInfo."""
    if len(payload) < IFINFOMSG.size:
        raise SourceError(f"rtnetlink: link message of {len(payload)} bytes is too short")
    _family, _type, index, flags, _change = IFINFOMSG.unpack_from(payload)
    attrs = parse_attrs(payload, IFINFOMSG.size, _LINK_ATTRS)
    name = attr_str(attrs.get(IFLA_IFNAME))
    if not name:
        raise SourceError(f"rtnetlink: link {index} has no name")
    oper_code = attr("B", attrs.get(IFLA_OPERSTATE))
    oper = OPERSTATES[oper_code] if oper_code is not None and oper_code < len(OPERSTATES) else "unknown"
    counters: dict[str, int] = {}
    stats = attrs.get(IFLA_STATS64)
    if stats is not None and len(stats) >= _STATS64_HEAD.size:
        counters = dict(zip(STATS64_NAMES, _STATS64_HEAD.unpack_from(stats), strict=True))
    kind = None
    if IFLA_LINKINFO in attrs:
        kind = attr_str(parse_attrs(attrs[IFLA_LINKINFO]).get(IFLA_INFO_KIND))
    carrier = attr("B", attrs.get(IFLA_CARRIER))
    return LinkInfo(
        index=index,
        name=name,
        oper=oper,
        admin_up=bool(flags & IFF_UP),
        carrier=None if carrier is None else bool(carrier),
        mtu=attr("I", attrs.get(IFLA_MTU)),
        kind=kind,
        carrier_changes_total=attr("I", attrs.get(IFLA_CARRIER_CHANGES)),
        counters=counters,
    )


class AddrInfo(NamedTuple):
    index: int  # type: ignore[assignment]  # the ifindex; shadows tuple.index, unused here
    family: int
    address: str
    prefixlen: int
    scope: int

    @property
    def routable(self) -> bool:
        """An address the WAN can use: not link-local or host scope (IPv6 fe80::, 127/8 on lo)."""
        return self.scope < RT_SCOPE_LINK


class RouteInfo(NamedTuple):
    family: int
    dst_len: int
    table: int
    rtype: int
    oif: int | None
    gateway: str | None
    priority: int
    flags: int

    @property
    def is_default(self) -> bool:
        return self.dst_len == 0 and self.table == RT_TABLE_MAIN and self.rtype == RTN_UNICAST

    @property
    def linkdown(self) -> bool:
        return bool(self.flags & (RTNH_F_LINKDOWN | RTNH_F_DEAD))


def _ip(family: int, data: bytes | None) -> str | None:
    if data is None:
        return None
    size = {AF_INET: 4, AF_INET6: 16}.get(family)
    if size is None or len(data) != size:
        raise SourceError(f"rtnetlink: address of {len(data)} bytes for family {family}")
    return socket.inet_ntop(family, data)


def parse_addr(payload: bytes) -> AddrInfo:
    """One RTM_NEWADDR/RTM_DELADDR payload (ifaddrmsg + attributes) -> AddrInfo."""
    if len(payload) < IFADDRMSG.size:
        raise SourceError(f"rtnetlink: address message of {len(payload)} bytes is too short")
    family, prefixlen, _flags, scope, index = IFADDRMSG.unpack_from(payload)
    attrs = parse_attrs(payload, IFADDRMSG.size)
    # IFA_LOCAL is the interface's own address on point-to-point links; IFA_ADDRESS the peer there.
    address = _ip(family, attrs.get(IFA_LOCAL) or attrs.get(IFA_ADDRESS))
    if address is None:
        raise SourceError(f"rtnetlink: address message for link {index} has no address")
    return AddrInfo(index=index, family=family, address=address, prefixlen=prefixlen, scope=scope)


def parse_route(payload: bytes) -> RouteInfo:
    """One RTM_NEWROUTE/RTM_DELROUTE payload (rtmsg + attributes) -> RouteInfo."""
    if len(payload) < RTMSG.size:
        raise SourceError(f"rtnetlink: route message of {len(payload)} bytes is too short")
    family, dst_len, _src, _tos, table, _proto, _scope, rtype, flags = RTMSG.unpack_from(payload)
    attrs = parse_attrs(payload, RTMSG.size)
    table = attr("I", attrs.get(RTA_TABLE)) or table
    return RouteInfo(family=family, dst_len=dst_len, table=table, rtype=rtype, oif=attr("I", attrs.get(RTA_OIF)),
                     gateway=_ip(family, attrs.get(RTA_GATEWAY)), priority=attr("I", attrs.get(RTA_PRIORITY)) or 0,
                     flags=flags)


class LinkSource(Protocol):
    def links(self) -> list[LinkInfo]: ...

    def close(self) -> None: ...


class RtnlSource:
    """Dumps links from the kernel over one long-lived NETLINK_ROUTE socket."""

    def __init__(self) -> None:
        self._sock: NetlinkSocket | None = None

    def _socket(self) -> NetlinkSocket:
        if self._sock is None:
            try:
                self._sock = NetlinkSocket(NETLINK_ROUTE)
            except OSError as e:
                raise SourceError(f"rtnetlink: cannot open socket: {e.strerror}") from None
        return self._sock

    def links(self) -> list[LinkInfo]:
        req = IFINFOMSG.pack(0, 0, 0, 0, 0)  # AF_UNSPEC: every link
        try:
            replies = self._socket().request(RTM_GETLINK, NLM_F_DUMP, req)
        except OSError as e:
            self.close()
            raise SourceError(f"rtnetlink: link dump failed: {e.strerror}") from None
        return [parse_link(body) for mtype, body in replies if mtype == RTM_NEWLINK]

    def link(self, index: int) -> LinkInfo | None:
        """One link by index (cheaper than a dump when only the WAN's counters are needed)."""
        try:
            replies = self._socket().request(RTM_GETLINK, 0, IFINFOMSG.pack(0, 0, index, 0, 0))
        except OSError as e:
            self.close()
            raise SourceError(f"rtnetlink: link query failed: {e.strerror}") from None
        except SourceError as e:
            if "ENODEV" in str(e):
                return None
            raise
        found = [parse_link(body) for mtype, body in replies if mtype == RTM_NEWLINK]
        return found[0] if found else None

    def addrs(self) -> list[AddrInfo]:
        return [parse_addr(b) for t, b in self._dump(RTM_GETADDR, IFADDRMSG.pack(0, 0, 0, 0, 0)) if t == RTM_NEWADDR]

    def routes(self) -> list[RouteInfo]:
        req = RTMSG.pack(0, 0, 0, 0, 0, 0, 0, 0, 0)
        return [parse_route(b) for t, b in self._dump(RTM_GETROUTE, req) if t == RTM_NEWROUTE]

    def _dump(self, mtype: int, req: bytes) -> list[tuple[int, bytes]]:
        try:
            return self._socket().request(mtype, NLM_F_DUMP, req)
        except OSError as e:
            self.close()
            raise SourceError(f"rtnetlink: dump failed: {e.strerror}") from None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class Overrun(SourceError):
    """The kernel dropped events (socket buffer full): the reader must re-dump its state."""


class RtnlEvents:
    """A socket subscribed to link, address and route notifications (no polling)."""

    def __init__(self, groups: int = WATCH_GROUPS, timeout_s: float = 1.0) -> None:
        try:
            self._sock = NetlinkSocket(NETLINK_ROUTE, groups=groups, timeout_s=timeout_s)
        except OSError as e:
            raise SourceError(f"rtnetlink: cannot subscribe to events: {e.strerror}") from None

    def fileno(self) -> int:
        return self._sock.fileno()

    def read(self) -> list[tuple[int, bytes]]:
        """(message type, payload) of one datagram; [] after the timeout. Raises Overrun."""
        try:
            buf = self._sock.sock.recv(RECV_BYTES)
        except TimeoutError:
            return []
        except OSError as e:
            if e.errno == errno.ENOBUFS:
                raise Overrun("rtnetlink: event overrun, state re-read") from None
            raise SourceError(f"rtnetlink: event read failed: {e.strerror}") from None
        return [(t, body) for t, _f, _s, body in iter_messages(buf)]

    def close(self) -> None:
        self._sock.close()
