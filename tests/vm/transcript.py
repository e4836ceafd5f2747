"""Record and replay nl80211 request/reply transcripts as raw netlink bytes.

The recorder wraps a real NetlinkSocket's ``request`` (inside the VM); each reply list is saved
as the kernel's messages (nlmsghdr + generic netlink payload, exactly as received) in one file
per request: ``ctrl-getfamily.bin``, ``cmd5-all.bin`` (GET_INTERFACE dump), ``cmd17-if2.bin``
(GET_STATION on ifindex 2) ... A request the kernel refused is saved as ``<name>.err`` holding
the errno name. The replayer serves these files to ``Nl80211Source`` on the host.
"""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

from zte_uxip.sources import netlink, nl80211

_HDR = struct.Struct("=IHHII")
_GENL = struct.Struct("=BBxx")


def request_name(mtype: int, payload: bytes) -> str:
    """A file name for a request: the generic netlink command and the interface it targets."""
    if mtype == nl80211.GENL_ID_CTRL:
        return "ctrl-getfamily"
    cmd = _GENL.unpack_from(payload)[0]
    ifindex = netlink.attr("I", netlink.parse_attrs(payload, _GENL.size).get(nl80211.ATTR_IFINDEX))
    return f"cmd{cmd}-{'all' if ifindex is None else f'if{ifindex}'}"


def frame(replies: list[tuple[int, bytes]]) -> bytes:
    return b"".join(_HDR.pack(_HDR.size + len(body), mtype, netlink.NLM_F_MULTI, 0, 0) + body
                    + b"\0" * (netlink.align4(len(body)) - len(body)) for mtype, body in replies)


def recorder(inner: nl80211.Requester, out: Path) -> nl80211.Requester:
    out.mkdir(parents=True, exist_ok=True)

    def request(mtype: int, flags: int, payload: bytes) -> list[tuple[int, bytes]]:
        name = request_name(mtype, payload)
        try:
            replies = inner(mtype, flags, payload)
        except netlink.NetlinkError as e:
            (out / f"{name}.err").write_text(errno.errorcode.get(e.errno, str(e.errno)) + "\n")
            raise
        (out / f"{name}.bin").write_bytes(frame(replies))
        return replies

    return request


def replayer(recorded: Path, overrides: dict[str, bytes | int] | None = None) -> nl80211.Requester:
    """Serve recorded replies; ``overrides`` maps a request name to other bytes or an errno."""
    overrides = {} if overrides is None else overrides  # the caller may change it between requests
    files = {p.name: p.read_bytes() if p.suffix == ".bin" else p.read_text() for p in recorded.iterdir()
             if p.suffix in (".bin", ".err")}  # read once: a replay costs what parsing costs

    def request(mtype: int, flags: int, payload: bytes) -> list[tuple[int, bytes]]:
        name = request_name(mtype, payload)
        data: bytes | int | None = overrides.get(name)
        if data is None:
            if f"{name}.err" in files:
                data = getattr(errno, str(files[f"{name}.err"]).strip())
            elif f"{name}.bin" in files:
                data = bytes(files[f"{name}.bin"])
            else:
                raise AssertionError(f"no recorded reply for {name} in {recorded}")
        if isinstance(data, int):
            raise netlink.NetlinkError(data, f"netlink: {os.strerror(data)} ({errno.errorcode[data]})")
        return [(t, body) for t, _f, _s, body in netlink.iter_messages(data)]

    return request

