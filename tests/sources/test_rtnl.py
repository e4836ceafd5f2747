"""Our rtnetlink parser against the real kernel, with pyroute2 and sysfs as references."""

from __future__ import annotations

import json
import struct

import pytest

from zte_uxip.errors import SourceError
from zte_uxip.sources import netlink, rtnl

DUMP = """
import json
from zte_uxip.sources.rtnl import RtnlSource
src = RtnlSource()
print(json.dumps([l._asdict() for l in src.links()]))
"""

PYROUTE2 = """
import json
from pyroute2 import IPRoute
with IPRoute() as ipr:
    out = []
    for l in ipr.get_links():
        s = l.get_attr("IFLA_STATS64")
        out.append({"name": l.get_attr("IFLA_IFNAME"), "index": l["index"], "oper": l.get_attr("IFLA_OPERSTATE"),
                    "rx_bytes": s["rx_bytes"], "tx_packets": s["tx_packets"],
                    "carrier_changes": l.get_attr("IFLA_CARRIER_CHANGES")})
print(json.dumps(out))
"""


def test_link_dump_matches_pyroute2_and_sysfs(netns_pair):
    a, b = netns_pair
    for ns in (a, b):  # no IPv6 autoconfiguration traffic between the two dumps
        ns.sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
    a.sh("ip", "tuntap", "add", "wwan0", "mode", "tun")
    ours = {li["name"]: li for li in json.loads(a.python(DUMP))}
    ref = {li["name"]: li for li in json.loads(a.python(PYROUTE2))}
    assert set(ours) == set(ref) == {"lo", "a0", "wwan0"}
    for name, r in ref.items():
        o = ours[name]
        assert o["index"] == r["index"]
        assert o["oper"] == r["oper"].lower()
        assert o["counters"]["rx_bytes_total"] == r["rx_bytes"]
        assert o["carrier_changes_total"] == r["carrier_changes"] == a.sysfs(name, "carrier_changes")
    assert ours["a0"]["kind"] == "veth" and ours["wwan0"]["kind"] == "tun"
    assert ours["wwan0"]["oper"] == "down" and ours["a0"]["oper"] == "up"


def _link_msg(attrs: bytes) -> bytes:
    return rtnl.IFINFOMSG.pack(0, 1, 7, rtnl.IFF_UP, 0) + attrs


def test_parse_minimal_link():
    li = rtnl.parse_link(_link_msg(netlink.pack_attr(rtnl.IFLA_IFNAME, b"eth9\0")
                                   + netlink.pack_attr(rtnl.IFLA_OPERSTATE, b"\x06")))
    assert (li.name, li.oper, li.admin_up, li.counters) == ("eth9", "up", True, {})


@pytest.mark.parametrize("payload", [
    b"",
    b"\x00" * 8,
    _link_msg(b""),  # no name
    _link_msg(struct.pack("=HH", 200, rtnl.IFLA_IFNAME) + b"eth0"),  # attribute longer than message
    _link_msg(struct.pack("=HH", 2, rtnl.IFLA_IFNAME)),  # attribute shorter than its header
    _link_msg(netlink.pack_attr(rtnl.IFLA_IFNAME, b"x\0") + netlink.pack_attr(rtnl.IFLA_MTU, b"\x01")),
])
def test_malformed_link_messages_raise_source_error(payload):
    with pytest.raises(SourceError):
        rtnl.parse_link(payload)


def test_unknown_operstate_is_unknown():
    li = rtnl.parse_link(_link_msg(netlink.pack_attr(rtnl.IFLA_IFNAME, b"x\0")
                                   + netlink.pack_attr(rtnl.IFLA_OPERSTATE, b"\x63")))
    assert li.oper == "unknown"


def test_truncated_datagram():
    with pytest.raises(SourceError):
        list(netlink.iter_messages(struct.pack("=IHHII", 100, 16, 0, 1, 0) + b"\x00" * 10))
