"""A small netlink core on the standard library's AF_NETLINK sockets.

Why not pyroute2 here: ``import pyroute2`` (even one message class) costs ~25 MB RSS and 0.3 s,
more than the agent's whole memory budget; a dump-and-parse of a few message types is ~150
lines. pyroute2 stays in the test suite as the independent reference our parser is checked
against. Every length is bounds-checked: a malformed message raises SourceError, never
IndexError or struct.error.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator

from ..errors import SourceError

NETLINK_ROUTE = 0
NETLINK_GENERIC = 16

NLMSG_NOOP = 1
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_OVERRUN = 4

NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH

NLA_F_NESTED = 0x8000
NLA_F_NET_BYTEORDER = 0x4000
NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xFFFF

_NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_NLATTR = struct.Struct("=HH")  # len, type
RECV_BYTES = 64 * 1024


def align4(n: int) -> int:
    return (n + 3) & ~3


def iter_messages(buf: bytes) -> Iterator[tuple[int, int, int, bytes]]:
    """(type, flags, seq, payload) for each message in a datagram."""
    off = 0
    while off + _NLMSGHDR.size <= len(buf):
        length, mtype, flags, seq, _pid = _NLMSGHDR.unpack_from(buf, off)
        if length < _NLMSGHDR.size or off + length > len(buf):
            raise SourceError(f"netlink: bad message length {length} at offset {off}")
        yield mtype, flags, seq, buf[off + _NLMSGHDR.size : off + length]
        off += align4(length)


def parse_attrs(buf: bytes, offset: int = 0, wanted: frozenset[int] | None = None) -> dict[int, bytes]:
    """Attributes (type -> payload) from ``offset``; later duplicates win, as in the kernel.

    ``wanted`` keeps only those types (every length is still checked): a link message carries
    ~50 attributes and the link watcher needs a handful, which halves its CPU per event."""
    attrs: dict[int, bytes] = {}
    off, end, unpack = offset, len(buf), _NLATTR.unpack_from
    while off + 4 <= end:
        length, atype = unpack(buf, off)
        if length < 4 or off + length > end:
            raise SourceError(f"netlink: bad attribute length {length} at offset {off}")
        atype &= NLA_TYPE_MASK
        if wanted is None or atype in wanted:
            attrs[atype] = buf[off + 4 : off + length]
        off += (length + 3) & ~3
    return attrs


def parse_attr_list(buf: bytes) -> list[tuple[int, bytes]]:
    """Nested attributes whose types are indexes (lists in nl80211), in order."""
    out: list[tuple[int, bytes]] = []
    off = 0
    while off + _NLATTR.size <= len(buf):
        length, atype = _NLATTR.unpack_from(buf, off)
        if length < _NLATTR.size or off + length > len(buf):
            raise SourceError(f"netlink: bad attribute length {length} at offset {off}")
        out.append((atype & NLA_TYPE_MASK, buf[off + _NLATTR.size : off + length]))
        off += align4(length)
    return out


def attr(fmt: str, data: bytes | None) -> int | None:
    """An integer attribute (``fmt`` a struct code such as "I", "Q", "B", "i"), or None."""
    if data is None:
        return None
    st = struct.Struct("=" + fmt)
    if len(data) < st.size:
        raise SourceError(f"netlink: attribute of {len(data)} bytes, expected {st.size}")
    value: int = st.unpack_from(data)[0]
    return value


def attr_str(data: bytes | None) -> str | None:
    if data is None:
        return None
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


def pack_attr(atype: int, payload: bytes) -> bytes:
    length = _NLATTR.size + len(payload)
    return _NLATTR.pack(length, atype) + payload + b"\0" * (align4(length) - length)


class NetlinkSocket:
    """One netlink socket for request/response (and, with ``groups``, for events)."""

    def __init__(self, protocol: int, groups: int = 0, timeout_s: float = 2.0) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, protocol)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.sock.bind((0, groups))
            self.sock.settimeout(timeout_s)
        except OSError:
            self.sock.close()
            raise
        self._seq = 0

    def close(self) -> None:
        self.sock.close()

    def fileno(self) -> int:
        return self.sock.fileno()

    def request(self, mtype: int, flags: int, payload: bytes) -> list[tuple[int, bytes]]:
        """Send one request; return (type, payload) of every reply until DONE or the ACK."""
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        seq = self._seq
        msg = _NLMSGHDR.pack(_NLMSGHDR.size + len(payload), mtype, NLM_F_REQUEST | flags, seq, 0) + payload
        self.sock.send(msg)
        replies: list[tuple[int, bytes]] = []
        while True:
            try:
                buf = self.sock.recv(RECV_BYTES)
            except TimeoutError:
                raise SourceError("netlink: no reply within the timeout") from None
            multi = False
            for rtype, rflags, rseq, body in iter_messages(buf):
                if rseq != seq:
                    continue  # a stale reply or an event on a shared socket
                if rtype == NLMSG_DONE:
                    return replies
                if rtype == NLMSG_ERROR:
                    code = attr("i", body[:4]) if len(body) >= 4 else None
                    if code == 0:
                        return replies  # the ACK
                    err = -(code or 0)
                    raise NetlinkError(err, f"netlink: {os.strerror(err) if err else 'malformed error'}"
                                            f" ({errno.errorcode.get(err, err)})")
                if rtype in (NLMSG_NOOP, NLMSG_OVERRUN):
                    continue
                replies.append((rtype, body))
                multi = multi or bool(rflags & NLM_F_MULTI)
            if not multi and not flags & (NLM_F_DUMP | NLM_F_ACK):
                return replies

    def recv_events(self) -> list[tuple[int, bytes]]:
        """Read one datagram of multicast events (blocking up to the socket timeout)."""
        try:
            buf = self.sock.recv(RECV_BYTES)
        except TimeoutError:
            return []
        return [(t, body) for t, _f, _s, body in iter_messages(buf) if t not in (NLMSG_NOOP, NLMSG_DONE)]


class NetlinkError(SourceError):
    """The kernel answered a request with an error; ``errno`` lets callers tell "not supported
    here" (EOPNOTSUPP, ENOENT) from a real failure."""

    def __init__(self, errno_: int, message: str) -> None:
        super().__init__(message)
        self.errno = errno_
