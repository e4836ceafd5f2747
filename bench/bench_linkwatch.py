"""CPU cost of the link watcher for 1000 rtnetlink link events, against one `ip -s link` run
measured in the same run.

In a throw-away network namespace the watcher (our thread, our socket) follows a veth pair
that `ip -batch` flips down and up; its CPU is the thread's own run time from
/proc/self/task/<tid>/schedstat (nanoseconds), so the flipping `ip` process does not count.
Two cases: events on a LAN link (parse + state update), and on the WAN link itself (each state
change also re-reads the routes, since the kernel flushes them silently). The reference is the
CPU (user + system, from wait4) of one `ip -s link` process in the same namespace. Needs root.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

CLONE_NEWNET = 0x40000000
EVENTS = 1000


def setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


def thread_ns(tid: int) -> int:
    with open(f"/proc/self/task/{tid}/schedstat") as fh:
        return int(fh.read().split()[0])


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def flip(dev: str, events_wanted: int, watcher, restore_route: bool) -> tuple[int, float]:
    """Flip ``dev`` until the watcher has read ``events_wanted`` messages; (messages, cpu s)."""
    start_msgs, start_cpu = watcher.messages_total, thread_ns(watcher.native_id)
    while watcher.messages_total - start_msgs < events_wanted:
        with tempfile.NamedTemporaryFile("w", suffix=".ip", delete=False) as fh:
            for _ in range(25):
                fh.write(f"link set {dev} down\nlink set {dev} up\n")
                if restore_route:
                    fh.write("route replace default via 10.97.0.2\n")
        ip("-batch", fh.name)
        os.unlink(fh.name)
        time.sleep(0.05)
    settle = watcher.messages_total
    time.sleep(0.3)
    while watcher.messages_total != settle:
        settle = watcher.messages_total
        time.sleep(0.3)
    msgs = watcher.messages_total - start_msgs
    return msgs, (thread_ns(watcher.native_id) - start_cpu) / 1e9


def ip_s_link_cpu(runs: int = 20) -> tuple[float, float]:
    """Median CPU seconds (user+sys) and wall seconds of one `ip -s link` process."""
    cpus, walls = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen(["ip", "-s", "link"], stdout=subprocess.DEVNULL)
        _pid, _status, ru = os.wait4(p.pid, 0)
        p.returncode = 0
        walls.append(time.perf_counter() - t0)
        cpus.append(ru.ru_utime + ru.ru_stime)
    return sorted(cpus)[runs // 2], sorted(walls)[runs // 2]


def main() -> int:
    if os.geteuid() != 0:
        print("bench_linkwatch: skipped, needs root for a network namespace")
        return 0
    from zte_uxip.collectors.disconnects import WanTracker
    from zte_uxip.collectors.linkwatch import LinkWatcher

    ns = f"uxbench{uuid.uuid4().hex[:6]}"
    ip("netns", "add", ns)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        setns(f"/run/netns/{ns}")
        ip("link", "set", "lo", "up")
        ip("link", "add", "wan0", "type", "veth", "peer", "name", "wan1")
        ip("link", "add", "lan0", "type", "veth", "peer", "name", "lan1")
        for d in ("wan0", "wan1", "lan0", "lan1"):
            ip("link", "set", d, "up")
        ip("addr", "add", "10.97.0.1/24", "dev", "wan0")
        ip("route", "add", "default", "via", "10.97.0.2")
        events: list[dict] = []
        tracker = WanTracker(boot_s=lambda: time.clock_gettime(time.CLOCK_BOOTTIME), wall=time.time,
                             emit=events.append)
        watcher = LinkWatcher(tracker)
        watcher.start()
        while watcher.native_id is None:
            time.sleep(0.01)
        lan_msgs, lan_cpu = flip("lan0", EVENTS, watcher, restore_route=False)
        wan_msgs, wan_cpu = flip("wan0", EVENTS, watcher, restore_route=True)
        ref_cpu, ref_wall = ip_s_link_cpu()
        watcher.close()
    finally:
        setns(f"/proc/self/fd/{home}")
        os.close(home)
        subprocess.run(["ip", "netns", "del", ns], check=False)
    per_k_lan = lan_cpu / lan_msgs * 1000
    per_k_wan = wan_cpu / wan_msgs * 1000
    result = {
        "events": EVENTS,
        "lan_link": {"messages": lan_msgs, "cpu_s": round(lan_cpu, 4), "cpu_s_per_1000": round(per_k_lan, 4)},
        "wan_link": {"messages": wan_msgs, "cpu_s": round(wan_cpu, 4), "cpu_s_per_1000": round(per_k_wan, 4),
                     "outages_counted": tracker.counts.disconnects_total, "wan_down_events": len(events)},
        "ip_s_link": {"cpu_s": round(ref_cpu, 4), "wall_s": round(ref_wall, 4)},
        "ratio_lan_per_1000_vs_ip_s_link": round(per_k_lan / ref_cpu, 2) if ref_cpu else None,
        "ratio_wan_per_1000_vs_ip_s_link": round(per_k_wan / ref_cpu, 2) if ref_cpu else None,
    }
    print(f"link watcher, 1000 link events on a LAN link : {per_k_lan * 1000:7.1f} ms CPU ({lan_msgs} msgs read)")
    print(f"link watcher, 1000 link events on the WAN    : {per_k_wan * 1000:7.1f} ms CPU ({wan_msgs} msgs, "
          f"{tracker.counts.disconnects_total} outages counted, route re-read on each change)")
    print(f"one `ip -s link` run (reference)             : {ref_cpu * 1000:7.1f} ms CPU, {ref_wall * 1000:.1f} ms wall")
    print(f"ratio (1000 events / one ip -s link)         : LAN {result['ratio_lan_per_1000_vs_ip_s_link']}x, "
          f"WAN {result['ratio_wan_per_1000_vs_ip_s_link']}x")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "linkwatch.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
