"""Agent footprint at the default cadence (sample 10 s, report 60 s), against references
measured in the same run on the same machine: a bare `python3`, collectd (cpu, memory, load,
interface plugins at a 10 s interval, csv output to tmpfs), and a minimal paho + TLS + cbor2
client that publishes one small CBOR message a minute (what the 24 MiB budget is based on).

Measured, all in one window after a warm-up:
- RSS (/proc/PID/status VmRSS) and Pss (/proc/PID/smaps_rollup);
- CPU-s per minute from /proc/PID/task/*/schedstat (ns on CPU), scaled from the window;
- flash write bytes while connected (/proc/PID/io write_bytes; state dir on tmpfs as on a router,
  spool dir on disk);
- wire bytes per day: every byte both ways through a loopback TCP proxy in front of mosquitto,
  steady-state rate over the window extrapolated to 24 h, plus one connection set-up;
- opt-out-to-silence: toggle file renamed -> the retained consent_withdrawn status at the
  subscriber, and -> the agent's TCP connection closed at the proxy; nothing after it.

Env: BENCH_WINDOW_S (default 120), BENCH_WARMUP_S (default 75), BENCH_OPTOUT_TRIALS (3).
Results also go to bench/results/agent.json.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
BIN = Path(sys.executable).parent

TARGETS = {"rss_mib": 24.0, "pss_mib": 16.0, "cpu_s_per_min": 0.02, "flash_write_bytes_connected": 0,
           "wire_kb_per_day": 600.0, "opt_out_s": 1.0}

PAHO_REF = r"""
import ssl, sys, time, cbor2
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
host, port, ca, cert, key, topic = sys.argv[1:7]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile=ca)
ctx.load_cert_chain(cert, key)
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="paho-ref", protocol=mqtt.MQTTv5)
c.tls_set_context(ctx)
c.connect(host, int(port), keepalive=300)
c.loop_start()
while True:
    c.publish(topic, cbor2.dumps({0: 1, 1: 2, 3: int(time.time())}), qos=1)
    time.sleep(60)
"""

COLLECTD_CONF = """Interval 10
FQDNLookup false
BaseDir "{d}"
PIDFile "{d}/collectd.pid"
LoadPlugin cpu
LoadPlugin memory
LoadPlugin load
LoadPlugin interface
LoadPlugin csv
<Plugin csv>
  DataDir "{d}/csv"
</Plugin>
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def cpu_ns(pid: int) -> int:
    total = 0
    for f in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(Path(f).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def collectd_bin() -> str | None:
    found = shutil.which("collectd") or ("/usr/sbin/collectd" if os.path.exists("/usr/sbin/collectd") else None)
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    print("bench: installing collectd-core (apt, --no-install-recommends) for the reference", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300", "--no-install-recommends",
                    "collectd-core"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                   capture_output=True, check=False)
    return shutil.which("collectd") or ("/usr/sbin/collectd" if os.path.exists("/usr/sbin/collectd") else None)


def main() -> int:
    from agentrig import AgentRig
    from broker import Mosquitto, Subscriber, mosquitto_skip_reason
    from tcpproxy import TcpProxy

    why = mosquitto_skip_reason()
    if why:
        print(f"bench_agent: skipped: {why}")
        return 0
    window_s = float(os.environ.get("BENCH_WINDOW_S", "120"))
    if window_s % 60:
        print("bench: BENCH_WINDOW_S is not a multiple of the 60 s report interval; the wire rate will be skewed",
              flush=True)
    warmup_s = float(os.environ.get("BENCH_WARMUP_S", "75"))
    trials = int(os.environ.get("BENCH_OPTOUT_TRIALS", "3"))
    work = Path(tempfile.mkdtemp(prefix="uxip-bench-"))
    shm = Path(tempfile.mkdtemp(prefix="uxip-bench-", dir="/dev/shm"))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    broker = Mosquitto(work / "broker").start()
    proxy = TcpProxy(broker.port).up()
    sub = Subscriber(broker)
    results: dict[str, object] = {"window_s": window_s, "warmup_s": warmup_s}
    try:

        class Via:
            port = proxy.port

            def __getattr__(self, name: str) -> object:
                return getattr(broker, name)

        rig = AgentRig(work / "agent", Via(), sample_s=10, report_s=60, keepalive_s=300,  # type: ignore[arg-type]
                       reconnect_max_s=300)
        # The state dir is RAM on a router (/tmp is tmpfs on OpenWrt); here /tmp is disk.
        rig.config.write_text(rig.config.read_text().replace(f'dir = "{rig.state_dir}"', f'dir = "{shm / "run"}"'))
        rig.state_dir = shm / "run"
        rig.start()
        assert rig.proc is not None
        procs["agent"] = rig.proc
        procs["python3"] = subprocess.Popen(["python3", "-c", "import time; time.sleep(100000)"])
        pair = broker.client("paho-ref")
        procs["paho+tls+cbor2"] = subprocess.Popen(
            [sys.executable, "-c", PAHO_REF, "127.0.0.1", str(broker.port), str(broker.ca.pem), str(pair.cert),
             str(pair.key), "uxip/v1/paho-ref/telemetry"])
        cd = collectd_bin()
        if cd:
            (shm / "collectd").mkdir()
            conf = shm / "collectd" / "collectd.conf"
            conf.write_text(COLLECTD_CONF.format(d=shm / "collectd"))
            procs["collectd"] = subprocess.Popen([cd, "-f", "-C", str(conf)], stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL)
        else:
            results["collectd"] = "not installed (needs root and apt): no collectd reference in this run"
        print(f"bench: warm-up {warmup_s:.0f} s, then a {window_s:.0f} s window at the default cadence", flush=True)
        time.sleep(warmup_s)
        if not sub.wait(lambda: len(sub.telemetry()) >= 1, 30):
            print("bench: no telemetry from the agent after the warm-up:\n" + rig.log_text(), file=sys.stderr)
            return 1
        start = {n: (cpu_ns(p.pid), write_bytes(p.pid)) for n, p in procs.items()}
        wire0, conns0 = proxy.bytes_total, proxy.connections
        t0 = time.monotonic()
        time.sleep(window_s)
        dt = time.monotonic() - t0
        wire = proxy.bytes_total - wire0
        table = {}
        for n, p in procs.items():
            if p.poll() is not None:
                table[n] = {"error": f"exited with {p.returncode}"}
                continue
            c0, w0 = start[n]
            table[n] = {
                "rss_mib": round(rss_kib(p.pid) / 1024, 2),
                "pss_mib": round(pss_kib(p.pid) / 1024, 2),
                "cpu_s_per_min": round((cpu_ns(p.pid) - c0) / 1e9 * 60 / dt, 4),
                "disk_write_bytes": write_bytes(p.pid) - w0,
            }
        results["processes"] = table
        status = json.loads(rig.cli("status").stdout)
        # One connection set-up a day (TLS handshake with certificates, CONNECT, online status).
        setup = int(status.get("wire_bytes_today", 0)) - wire if conns0 == proxy.connections else 0
        per_day = wire / dt * 86400 + max(0, setup)
        results["agent_wire"] = {"window_bytes": wire, "reports_in_window": round(dt / 60, 2),
                                 "reconnects_in_window": proxy.connections - conns0,
                                 "bytes_per_report": round(wire / (dt / 60)), "connection_setup_bytes": setup,
                                 "kb_per_day": round(per_day / 1000, 1)}
        results["agent_flash_write_bytes_connected"] = table["agent"].get("disk_write_bytes")
        results["agent_connected_throughout"] = bool(status.get("connected")) and conns0 == proxy.connections

        # opt-out to silence, a few times
        opt = []
        for _ in range(trials):
            n_msgs = len(sub.messages)
            t_write = time.monotonic()
            rig.set_toggle("0\n")
            ok = sub.wait(lambda n=n_msgs: any(m.get("state") == "consent_withdrawn"
                                               for _t, m, _r, _ts in sub.messages[n:]), 5)
            t_status = next((ts for _t, m, _r, ts in sub.messages[n_msgs:] if m.get("state") == "consent_withdrawn"),
                            None)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and proxy.open_connections:
                time.sleep(0.005)
            t_closed = time.monotonic() if not proxy.open_connections else None
            time.sleep(2)
            after = [m for _t, m, _r, ts in sub.messages if t_status is not None and ts > t_status]
            opt.append({"withdrawn_status_s": round(t_status - t_write, 3) if ok and t_status else None,
                        "connection_closed_s": round(t_closed - t_write, 3) if t_closed else None,
                        "messages_after": len(after)})
            n_back = len(sub.messages)
            rig.set_toggle("1\n")
            sub.wait(lambda n=n_back: any(m.get("state") == "online" for _t, m, _r, _ts in sub.messages[n:]), 20)
            time.sleep(1)
        results["opt_out"] = opt
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        sub.close()
        proxy.down()
        broker.stop()
        shutil.rmtree(shm, ignore_errors=True)
    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "agent.json").write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def report(r: dict) -> None:
    procs = r["processes"]
    print(f"\nwindow {r['window_s']:.0f} s after {r['warmup_s']:.0f} s warm-up; sample 10 s, report 60 s")
    print(f"{'process':<16}{'RSS MiB':>9}{'Pss MiB':>9}{'CPU-s/min':>11}{'disk writes B':>15}")
    for n, v in procs.items():
        if "error" in v:
            print(f"{n:<16}{v['error']}")
            continue
        print(f"{n:<16}{v['rss_mib']:>9}{v['pss_mib']:>9}{v['cpu_s_per_min']:>11}{v['disk_write_bytes']:>15}")
    if "collectd" in r:
        print(f"collectd: {r['collectd']}")
    a = procs.get("agent", {})
    w = r["agent_wire"]
    print(f"agent wire: {w['window_bytes']} B in {w['reports_in_window']} reports ({w['bytes_per_report']} B/report), "
          f"connection set-up {w['connection_setup_bytes']} B -> {w['kb_per_day']} KB/day")
    print(f"agent flash writes while connected: {r['agent_flash_write_bytes_connected']} B "
          f"(connected throughout: {r['agent_connected_throughout']})")
    for i, o in enumerate(r["opt_out"]):
        print(f"opt-out {i + 1}: withdrawn status at the server after {o['withdrawn_status_s']} s, connection closed "
              f"after {o['connection_closed_s']} s, messages after it: {o['messages_after']}")
    worst_opt = max((o["withdrawn_status_s"] or 99) for o in r["opt_out"]) if r["opt_out"] else None
    measured = {"rss_mib": a.get("rss_mib"), "pss_mib": a.get("pss_mib"), "cpu_s_per_min": a.get("cpu_s_per_min"),
                "flash_write_bytes_connected": r["agent_flash_write_bytes_connected"],
                "wire_kb_per_day": w["kb_per_day"], "opt_out_s": worst_opt}
    print("\ntarget check:")
    for k, target in TARGETS.items():
        v = measured[k]
        verdict = "ok" if v is not None and v <= target else "MISSED"
        over = "" if verdict == "ok" or v is None else f" (over by {v - target:.4g})"
        print(f"  {k:<30} {v!s:>10}  target <= {target}: {verdict}{over}")
    r["targets"] = {k: {"measured": measured[k], "target": t} for k, t in TARGETS.items()}


if __name__ == "__main__":
    sys.exit(main())
