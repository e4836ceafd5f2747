"""rtnetlink: links (and their kernel counters) of the current network namespace.

The parser takes raw RTM_NEWLINK payloads so tests can feed recorded messages; ``RtnlSource``
is the real kernel behind the small ``LinkSource`` protocol.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import SourceError
from .netlink import NETLINK_ROUTE, NLM_F_DUMP, NetlinkSocket, attr, attr_str, parse_attrs

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

# include/uapi/linux/if.h, IF_OPER_*; DESIGN.md: the kernel's operstate in lower case.
OPERSTATES = ("unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up")

IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
# struct rtnl_link_stats64: the first eight counters, in kernel order.
STATS64_NAMES = (
    "rx_packets_total", "tx_packets_total", "rx_bytes_total", "tx_bytes_total",
    "rx_errors_total", "tx_errors_total", "rx_dropped_total", "tx_dropped_total",
)
_STATS64_HEAD = struct.Struct("=8Q")


@dataclass(frozen=True)
class LinkInfo:
    index: int
    name: str
    oper: str
    admin_up: bool
    carrier: bool | None
    mtu: int | None
    kind: str | None
    carrier_changes_total: int | None
    counters: dict[str, int] = field(default_factory=dict)


def parse_link(payload: bytes) -> LinkInfo:
    """One RTM_NEWLINK payload (ifinfomsg + attributes) -> LinkInfo."""
    if len(payload) < IFINFOMSG.size:
        raise SourceError(f"rtnetlink: link message of {len(payload)} bytes is too short")
    _family, _type, index, flags, _change = IFINFOMSG.unpack_from(payload)
    attrs = parse_attrs(payload, IFINFOMSG.size)
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

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
