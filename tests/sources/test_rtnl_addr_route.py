"""Addresses and routes from our rtnetlink parser against the real kernel (pyroute2 as the
reference), and hostile messages."""

from __future__ import annotations

import json
import struct

import pytest

from zte_uxip.errors import SourceError
from zte_uxip.sources import netlink, rtnl

OURS = """
import json
from zte_uxip.sources.rtnl import RtnlSource
s = RtnlSource()
print(json.dumps({"addrs": [a._asdict() for a in s.addrs()],
                  "defaults": [r._asdict() for r in s.routes() if r.is_default]}))
"""

REF = """
import json
from pyroute2 import IPRoute
with IPRoute() as ip:
    addrs = [{"index": a["index"], "family": a["family"], "prefixlen": a["prefixlen"], "scope": a["scope"],
              "address": a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS")} for a in ip.get_addr()]
    defaults = [{"family": r["family"], "oif": r.get_attr("RTA_OIF"), "gateway": r.get_attr("RTA_GATEWAY"),
                 "priority": r.get_attr("RTA_PRIORITY") or 0}
                for r in ip.get_routes(table=254) if r["dst_len"] == 0 and r["type"] == 1]
print(json.dumps({"addrs": addrs, "defaults": defaults}))
"""


@pytest.mark.netns
def test_addresses_and_default_routes_match_pyroute2(netns_pair):
    a, _b = netns_pair
    a.sh("ip", "-6", "addr", "add", "2001:db8:99::1/64", "dev", "a0", "nodad")
    a.sh("ip", "route", "add", "default", "via", "10.99.0.2", "metric", "7")
    a.sh("ip", "-6", "route", "add", "default", "via", "2001:db8:99::2", "dev", "a0")
    ours, ref = json.loads(a.python(OURS)), json.loads(a.python(REF))
    key = lambda d: (d["index"], d["family"], d["address"])  # noqa: E731
    assert sorted(map(key, ours["addrs"])) == sorted(map(key, ref["addrs"]))
    mine = {key(x): x for x in ours["addrs"]}
    for r in ref["addrs"]:
        assert (mine[key(r)]["prefixlen"], mine[key(r)]["scope"]) == (r["prefixlen"], r["scope"])
    rkey = lambda d: (d["family"], d["oif"], d["gateway"], d["priority"])  # noqa: E731
    assert sorted(map(rkey, ours["defaults"])) == sorted(map(rkey, ref["defaults"]))
    assert {(d["family"], d["gateway"]) for d in ours["defaults"]} == {(2, "10.99.0.2"), (10, "2001:db8:99::2")}


def _addr(attrs: bytes, family: int = rtnl.AF_INET) -> bytes:
    return rtnl.IFADDRMSG.pack(family, 24, 0, 0, 3) + attrs


def _route(attrs: bytes, family: int = rtnl.AF_INET) -> bytes:
    return rtnl.RTMSG.pack(family, 0, 0, 0, 254, 3, 0, 1, 0) + attrs


def test_minimal_address_and_route():
    a = rtnl.parse_addr(_addr(netlink.pack_attr(rtnl.IFA_LOCAL, bytes([192, 0, 2, 1]))))
    assert (a.index, a.address, a.prefixlen, a.routable) == (3, "192.0.2.1", 24, True)
    r = rtnl.parse_route(_route(netlink.pack_attr(rtnl.RTA_OIF, struct.pack("=I", 3))
                                + netlink.pack_attr(rtnl.RTA_GATEWAY, bytes([192, 0, 2, 254]))))
    assert r.is_default and (r.oif, r.gateway, r.linkdown) == (3, "192.0.2.254", False)


@pytest.mark.parametrize("payload", [
    b"",
    b"\x02\x18",
    _addr(b""),  # no address at all
    _addr(netlink.pack_attr(rtnl.IFA_LOCAL, b"\x01\x02\x03")),  # 3-byte IPv4 address
    _addr(netlink.pack_attr(rtnl.IFA_LOCAL, bytes(4)), family=10),  # IPv4-sized IPv6 address
    _addr(netlink.pack_attr(rtnl.IFA_LOCAL, bytes(4)), family=99),  # unknown family
    _addr(struct.pack("=HH", 300, rtnl.IFA_LOCAL) + bytes(4)),  # attribute longer than the message
])
def test_hostile_address_messages(payload):
    with pytest.raises(SourceError) as e:
        rtnl.parse_addr(payload)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("payload", [
    b"\x00" * 11,
    _route(netlink.pack_attr(rtnl.RTA_OIF, b"\x01")),  # 1-byte interface index
    _route(netlink.pack_attr(rtnl.RTA_GATEWAY, bytes(5))),
    _route(struct.pack("=HH", 3, rtnl.RTA_OIF)),  # attribute shorter than its header + payload claims
    _route(b"\xff" * 64),
])
def test_hostile_route_messages(payload):
    with pytest.raises(SourceError):
        rtnl.parse_route(payload)
