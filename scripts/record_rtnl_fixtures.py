"""Record real rtnetlink messages for the unit tests (tests/fixtures/rtnl/), as root:

    python scripts/record_rtnl_fixtures.py

Creates a throw-away network namespace, drives a veth pair through traffic, a rename, a
re-creation, address and route changes, and writes each kernel message as it arrived
(nlmsghdr included). Event streams are the multicast datagrams, concatenated.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "rtnl"


def sh(ns: str, *cmd: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True)


def inside(out: Path) -> None:
    """Runs inside the namespace (re-executed through `ip netns exec`)."""
    from zte_uxip.sources import netlink, rtnl

    def link_msg(name: str) -> bytes:
        index = socket.if_nametoindex(name)
        s = netlink.NetlinkSocket(netlink.NETLINK_ROUTE)
        try:
            s.sock.send(netlink._NLMSGHDR.pack(16 + rtnl.IFINFOMSG.size, rtnl.RTM_GETLINK, netlink.NLM_F_REQUEST, 1, 0)
                        + rtnl.IFINFOMSG.pack(0, 0, index, 0, 0))
            return s.sock.recv(65536)
        finally:
            s.close()

    def run(*cmd: str) -> None:
        subprocess.run(list(cmd), check=True)

    def traffic(n: int) -> None:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)  # no ARP needed: every datagram counts
        for _ in range(n):
            u.sendto(b"x" * 1000, ("10.98.0.255", 9))
        u.close()

    run("ip", "link", "set", "lo", "up")
    run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
    run("ip", "link", "add", "rec0", "type", "veth", "peer", "name", "rec1")
    run("ip", "addr", "add", "10.98.0.1/24", "dev", "rec0")
    run("ip", "link", "set", "rec1", "up")
    run("ip", "link", "set", "rec0", "up")
    run("ip", "route", "add", "default", "via", "10.98.0.2")
    time.sleep(0.5)
    traffic(10)
    (out / "link_before.bin").write_bytes(link_msg("rec0"))
    traffic(100)
    (out / "link_after.bin").write_bytes(link_msg("rec0"))
    run("ip", "link", "set", "rec0", "down")
    run("ip", "link", "set", "rec0", "name", "wan0")
    run("ip", "link", "set", "wan0", "up")
    traffic(5)
    (out / "link_renamed.bin").write_bytes(link_msg("wan0"))
    run("ip", "link", "del", "wan0")
    run("ip", "link", "add", "rec0", "type", "veth", "peer", "name", "rec1")
    run("ip", "link", "set", "rec1", "up")
    run("ip", "link", "set", "rec0", "up")
    run("ip", "addr", "add", "10.98.0.1/24", "dev", "rec0")
    run("ip", "route", "add", "default", "via", "10.98.0.2")
    time.sleep(0.5)
    (out / "link_recreated.bin").write_bytes(link_msg("rec0"))

    # An event stream: the WAN admin down and up again, then its route put back.
    ev = netlink.NetlinkSocket(netlink.NETLINK_ROUTE, groups=rtnl.WATCH_GROUPS, timeout_s=1.0)
    run("ip", "link", "set", "rec0", "down")
    run("ip", "link", "set", "rec0", "up")
    run("ip", "route", "add", "default", "via", "10.98.0.2")
    run("ip", "addr", "del", "10.98.0.1/24", "dev", "rec0")
    stream = b""
    while True:
        try:
            stream += ev.sock.recv(65536)
        except TimeoutError:
            break
    (out / "events_down_up_route_addr.bin").write_bytes(stream)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--inside":
        inside(Path(sys.argv[2]))
        return 0
    if os.geteuid() != 0:
        print("record_rtnl_fixtures: needs root (network namespaces)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    ns = f"uxrec{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        sh(ns, sys.executable, __file__, "--inside", str(OUT))
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    print(f"recorded into {OUT}: {sorted(p.name for p in OUT.iterdir())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
