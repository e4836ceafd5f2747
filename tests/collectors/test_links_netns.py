"""links[] against real interfaces: counters and carrier changes equal /sys/class/net."""

from __future__ import annotations

import json
import time

from conftest import zte_uxip

SEND_UDP = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range({n}):
    s.sendto(b"x" * 1000, ("10.99.0.2", 9))
"""


def _links(ns) -> dict:
    r = zte_uxip("sample", "--once", "--modem", "none", "--format", "json", ns=ns.name)
    assert r.returncode == 0, r.stderr.decode()
    return {li["name"]: li for li in json.loads(r.stdout)["links"]}


def _quiet(*namespaces) -> None:
    """No IPv6 autoconfiguration chatter between the sample and the sysfs read."""
    for ns in namespaces:
        ns.sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")


def _wait_sysfs(ns, iface: str, attr: str, value: str, timeout: float = 3.0) -> None:
    """Carrier-down notices can lag ~1 s behind the peer's change (TESTBED.md)."""
    deadline = time.monotonic() + timeout
    while ns.sh("cat", f"/sys/class/net/{iface}/{attr}").strip() != value:
        assert time.monotonic() < deadline, f"{iface} {attr} never became {value}"
        time.sleep(0.05)


def test_links_report_every_interface_with_kernel_counters(netns_pair):
    a, b = netns_pair
    _quiet(a, b)
    a.python(SEND_UDP.format(n=200))
    links = _links(a)
    assert set(links) == {"lo", "a0"}
    a0 = links["a0"]
    for key, sysfs in (("tx_bytes_total", "tx_bytes"), ("tx_packets_total", "tx_packets"),
                       ("rx_bytes_total", "rx_bytes"), ("rx_packets_total", "rx_packets"),
                       ("carrier_changes_total", "carrier_changes")):
        assert a0[key] == a.sysfs("a0", f"statistics/{sysfs}" if sysfs != "carrier_changes" else sysfs), key
    assert a0["tx_packets_total"] >= 200 and a0["tx_bytes_total"] >= 200 * 1000
    assert a0["oper"] == "up" and links["lo"]["oper"] == "unknown"


def test_down_up_counts_carrier_changes_and_shows_oper(netns_pair):
    a, b = netns_pair
    before = _links(a)["a0"]["carrier_changes_total"]
    b.sh("ip", "link", "set", "b0", "down")  # the peer drops: our carrier goes
    _wait_sysfs(a, "a0", "operstate", "down")
    down = _links(a)["a0"]
    assert down["oper"] in ("down", "lowerlayerdown") and down["admin_up"] is True
    b.sh("ip", "link", "set", "b0", "up")
    a.sh("ip", "link", "set", "a0", "down")
    a.sh("ip", "link", "set", "a0", "up")
    after = _links(a)["a0"]
    assert after["carrier_changes_total"] == a.sysfs("a0", "carrier_changes")
    assert after["carrier_changes_total"] >= before + 2


def test_exclude_list_narrows_links(netns_pair, tmp_path):
    a, _ = netns_pair
    for n in ("ca.pem", "c.pem", "c.key"):
        (tmp_path / n).write_text("x")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[broker]\nhost = "h"\nca_file = "{tmp_path}/ca.pem"\ncert_file = "{tmp_path}/c.pem"\n'
                   f'key_file = "{tmp_path}/c.key"\n[links]\nexclude = ["lo"]\n')
    r = zte_uxip("sample", "--once", "--modem", "none", "--config", str(cfg), ns=a.name)
    assert r.returncode == 0, r.stderr
    assert [li["name"] for li in json.loads(r.stdout)["links"]] == ["a0"]
