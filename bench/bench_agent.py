"""The agent at the default cadence (config defaults: sample 10 s, report 60 s, 5 reports per
batch, keepalive 300 s), against references measured in the same run on the same machine: a
bare `python3`, collectd (cpu, memory, load, interface plugins at a 10 s interval, csv output
to tmpfs), and a minimal paho + TLS + cbor2 client that publishes one small CBOR message a
minute (the "bare client" the memory targets are based on).

Measured:
- time from process start to the first publish the broker acknowledged (the retained "online"
  status, seen by a subscriber), three starts (the first one a first-ever start that creates the
  device secret and the sequence reservation); references: the bare paho client's first
  acknowledged publish and `python3 -c pass`, same run;
- then, all in one window after a warm-up: RSS (/proc/PID/status VmRSS) and Pss
  (/proc/PID/smaps_rollup); CPU-s per minute from /proc/PID/task/*/schedstat (ns on CPU);
  flash write bytes while connected (/proc/PID/io write_bytes; state dir on tmpfs as on a
  router, spool dir on disk);
- wire bytes per day: every byte both ways through a loopback TCP proxy in front of mosquitto,
  split by reading the TLS record headers (TLS 1.3: 22 B per record) into CBOR payload, MQTT
  framing, TLS framing and keepalives, extrapolated to 24 h, plus one connection set-up a day;
  the payload of one batch split by field group;
- CPU per sample: the sampler + privacy filter + report in this process (thread CPU time),
  against one `ip -s link` process (its CPU from wait4), same run;
- opt-out-to-silence: toggle file renamed -> the retained consent_withdrawn status at the
  subscriber, and -> the agent's TCP connection closed at the proxy; nothing after it.

Env: BENCH_WINDOW_S (default 600: two batches), BENCH_WARMUP_S (default 75),
BENCH_OPTOUT_TRIALS (3), BENCH_START_TRIALS (3). Results also go to bench/results/agent.json.
"""

from __future__ import annotations

import glob
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
BIN = Path(sys.executable).parent

TARGETS = {"rss_mib": 24.0, "pss_mib": 16.0, "cpu_s_per_min": 0.02, "cpu_ms_per_sample": 1.0,
           "flash_write_bytes_connected": 0, "wire_kb_per_day": 300.0, "first_publish_s": 0.4, "opt_out_s": 1.0}
TLS13_RECORD_OVERHEAD = 5 + 16 + 1  # header, AEAD tag, inner content type
PING_INNER = 2  # PINGREQ / PINGRESP: two bytes of MQTT

PAHO_REF = r"""
import ssl, sys, time, cbor2
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
host, port, ca, cert, key, topic = sys.argv[1:7]
once = len(sys.argv) > 7
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(cafile=ca)
ctx.load_cert_chain(cert, key)
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=topic.split("/")[2], protocol=mqtt.MQTTv5)
c.tls_set_context(ctx)
c.connect(host, int(port), keepalive=300)
c.loop_start()
while True:
    c.publish(topic, cbor2.dumps({0: 1, 1: 2, 3: int(time.time())}), qos=1).wait_for_publish(10)
    if once:
        c.disconnect()
        c.loop_stop()
        break
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


def tls_records(chunks: list, conn: int, direction: str) -> list[tuple[float, int, int]]:
    """(time, content type, length) of every TLS record one way on one proxied connection."""
    buf, out = b"", []
    for c, d, t, data in chunks:
        if c != conn or d != direction:
            continue
        buf += data
        while len(buf) >= 5:
            length = int.from_bytes(buf[3:5], "big")
            if len(buf) < 5 + length:
                break
            out.append((t, buf[0], length))
            buf = buf[5 + length:]
    return out


def wire_breakdown(chunks: list, t0: float, t1: float, payloads: list[bytes]) -> dict[str, int]:
    """Bytes of [t0, t1) on every proxied connection, by what they carry."""
    out = {"payload": sum(map(len, payloads)), "mqtt_framing": 0, "tls_framing": 0, "keepalive": 0, "other": 0,
           "batches": 0, "pings": 0}
    conns = sorted({c for c, _d, _t, _b in chunks})
    inner_msgs = 0
    total = 0
    for conn in conns:
        for direction in ("up", "down"):
            for t, typ, length in tls_records(chunks, conn, direction):
                if not t0 <= t < t1:
                    continue
                total += 5 + length
                inner = length - (TLS13_RECORD_OVERHEAD - 5)
                if typ == 23 and inner == PING_INNER:
                    out["keepalive"] += 5 + length
                    out["pings"] += direction == "up"
                elif typ == 23:
                    out["tls_framing"] += TLS13_RECORD_OVERHEAD
                    inner_msgs += inner
                    out["batches"] += direction == "up"
                else:
                    out["other"] += 5 + length
    out["mqtt_framing"] = inner_msgs - out["payload"]
    out["total"] = total
    return out


def setup_bytes(chunks: list, conn: int, within_s: float = 2.0) -> int:
    """A connection's first seconds: TCP payload of the TLS handshake, CONNECT/CONNACK and the
    retained online status (the first batch comes minutes later)."""
    mine = [(t, data) for c, _d, t, data in chunks if c == conn]
    return sum(len(d) for t, d in mine if t - mine[0][0] < within_s) if mine else 0


def payload_groups(payload: bytes) -> dict[str, object]:
    """One batch's CBOR by field group: the first snapshot in full, the rest as differences."""
    import cbor2

    from zte_uxip.wire.schema import BATCH

    m = cbor2.loads(payload)
    snaps_f = next(f for f in BATCH if f.name == "snapshots")
    snaps = m.get(snaps_f.key, [])
    names = {f.key: f.name for f in snaps_f.children}
    first = {names.get(k, str(k)): len(cbor2.dumps(k)) + len(cbor2.dumps(v)) for k, v in snaps[0].items()} \
        if snaps else {}
    diffs: dict[str, int] = {}
    for d in snaps[1:]:
        for k, v in d.items():
            diffs[names.get(k, str(k))] = diffs.get(names.get(k, str(k)), 0) + len(cbor2.dumps(k)) + \
                len(cbor2.dumps(v))
    return {"batch_bytes": len(payload), "snapshots": len(snaps), "first_snapshot_bytes": len(cbor2.dumps(snaps[0]))
            if snaps else 0, "diff_bytes": [len(cbor2.dumps(d)) for d in snaps[1:]],
            "header_bytes": len(payload) - len(cbor2.dumps(snaps)), "first_snapshot_by_group": first,
            "diffs_by_group": diffs}


def disconnect_cost(payload: bytes) -> int:
    """Bytes one WAN outage adds to a batch: its wan_down event with the field data at the drop
    (here: the batch's own first snapshot as that field data). Built on the wire maps, so the
    pseudonyms stay bytes; the result must still decode."""
    import cbor2

    from zte_uxip.wire import codec
    from zte_uxip.wire.schema import BATCH, EVENT_FIELDS

    m = cbor2.loads(payload)
    key = {f.name: f.key for f in BATCH}
    ev = {f.name: f.key for f in EVENT_FIELDS}
    events_key = next(f.key for f in next(f for f in BATCH if f.name == "snapshots").children if f.name == "events")
    field_data = {k: v for k, v in m[key["snapshots"]][0].items() if k != events_key}
    event = {ev["type"]: "wan_down", ev["ts"]: 1_700_000_000, ev["duration_s"]: 42, ev["cause"]: "carrier_lost",
             ev["iface"]: "wwan0", ev["snapshot"]: field_data}
    with_event = cbor2.dumps({**m, key["events"]: [*m.get(key["events"], []), event]})
    codec.decode(with_event)
    return len(with_event) - len(payload)


def first_publish_s(sub, topic: str, start) -> tuple[object, float | None]:
    """Process start -> the broker delivered its first (acknowledged, QoS 1) publish to ``sub``."""
    n = len(sub.raw)
    t0 = time.monotonic()
    proc = start()
    ok = sub.wait(lambda: any(t == topic for t, _p, _ts in sub.raw[n:]), 20)
    t = next((ts for tt, _p, ts in sub.raw[n:] if tt == topic), None)
    return proc, (round(t - t0, 3) if ok and t is not None else None)


def cpu_per_sample_ms(n: int = 20, spacing_s: float = 0.5) -> float:
    """Thread CPU of one sample as the agent takes it: collectors, privacy filter, report.
    Samples are spaced (caches cool down as between real samples) and the report interval is
    six spacings, so the rate history holds as many samples as at the default cadence."""
    from zte_uxip import privacy
    from zte_uxip.collectors import Context
    from zte_uxip.config import BrokerConfig, Config, IntervalsConfig
    from zte_uxip.report import Report
    from zte_uxip.sampler import Sampler

    cfg = Config(broker=BrokerConfig(host="unused", ca_file="", cert_file="", key_file=""),
                 intervals=IntervalsConfig(sample_s=1, report_s=max(1, round(6 * spacing_s))))
    sampler = Sampler.from_table(Context(config=cfg, modem_spec="none"))
    sampler.prime()
    policy = privacy.Policy(location=True, key=os.urandom(32))
    rep = Report()
    used = 0.0
    for i in range(n + 2):
        time.sleep(spacing_s)
        t = time.thread_time()
        rep.add(time.monotonic(), privacy.apply(sampler.sample(), policy))
        if i >= 2:  # the first samples set the rate baselines
            used += time.thread_time() - t
    sampler.close()
    return used / n * 1000


def ip_link_cpu_ms(runs: int = 5) -> float | None:
    if shutil.which("ip") is None:
        return None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        subprocess.run(["ip", "-s", "link"], capture_output=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / runs * 1000, 3)


def main() -> int:
    from agentrig import AgentRig
    from broker import Mosquitto, Subscriber, mosquitto_skip_reason
    from tcpproxy import TcpProxy

    from zte_uxip.config import BrokerConfig, IntervalsConfig

    why = mosquitto_skip_reason()
    if why:
        print(f"bench_agent: skipped: {why}")
        return 0
    # Measure the agent as installed: pip and OpenWrt's packages ship bytecode. This environment
    # sets PYTHONDONTWRITEBYTECODE, so an editable checkout would otherwise compile the whole
    # package from source at every start (measured: ~1 MiB more RSS, ~0.1-0.2 s more start-up),
    # while the reference client's paho and cbor2 come precompiled from site-packages.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "zte_uxip")], check=True)
    cadence = IntervalsConfig()
    keepalive_s = BrokerConfig(host="", ca_file="", cert_file="", key_file="").keepalive_s
    batch_s = cadence.report_s * cadence.reports_per_batch
    window_s = float(os.environ.get("BENCH_WINDOW_S", str(2 * batch_s)))
    if window_s % batch_s:
        print(f"bench: BENCH_WINDOW_S is not a multiple of the {batch_s} s batch interval; the wire rate will be "
              "skewed", flush=True)
    warmup_s = float(os.environ.get("BENCH_WARMUP_S", "75"))
    trials = int(os.environ.get("BENCH_OPTOUT_TRIALS", "3"))
    start_trials = int(os.environ.get("BENCH_START_TRIALS", "3"))
    work = Path(tempfile.mkdtemp(prefix="uxip-bench-"))
    shm = Path(tempfile.mkdtemp(prefix="uxip-bench-", dir="/dev/shm"))
    procs: dict[str, subprocess.Popen[bytes]] = {}
    broker = Mosquitto(work / "broker").start()
    proxy = TcpProxy(broker.port, capture=True).up()
    sub = Subscriber(broker)
    results: dict[str, object] = {"window_s": window_s, "warmup_s": warmup_s,
                                  "cadence": {"sample_s": cadence.sample_s, "report_s": cadence.report_s,
                                              "reports_per_batch": cadence.reports_per_batch,
                                              "keepalive_s": keepalive_s}}
    try:

        class Via:
            port = proxy.port

            def __getattr__(self, name: str) -> object:
                return getattr(broker, name)

        # -- process start to the first acknowledged publish (directly to the broker)
        starter = AgentRig(work / "start", broker, device_id="dev-start", sample_s=cadence.sample_s,
                           report_s=cadence.report_s, reports_per_batch=cadence.reports_per_batch,
                           keepalive_s=keepalive_s)
        agent_starts = []
        for _ in range(start_trials):
            _p, t = first_publish_s(sub, "uxip/v1/dev-start/status", starter.start)
            agent_starts.append(t)
            starter.stop()
        ref_pair = broker.client("paho-first")
        ref_starts = []
        for _ in range(start_trials):
            p, t = first_publish_s(sub, "uxip/v1/paho-first/telemetry", lambda: subprocess.Popen(
                [sys.executable, "-c", PAHO_REF, "127.0.0.1", str(broker.port), str(broker.ca.pem),
                 str(ref_pair.cert), str(ref_pair.key), "uxip/v1/paho-first/telemetry", "once"]))
            ref_starts.append(t)
            p.wait(20)
        py_starts = []
        for _ in range(start_trials):
            t0 = time.monotonic()
            subprocess.run([sys.executable, "-c", "pass"], check=False)  # not a pyenv shim
            py_starts.append(round(time.monotonic() - t0, 3))
        results["first_publish_s"] = {"agent": agent_starts, "paho+tls+cbor2": ref_starts, "python3 -c pass": py_starts}

        # -- steady state at the default cadence
        rig = AgentRig(work / "agent", Via(), sample_s=cadence.sample_s, report_s=cadence.report_s,  # type: ignore[arg-type]
                       reports_per_batch=cadence.reports_per_batch, keepalive_s=keepalive_s, reconnect_max_s=300)
        # The state dir is RAM on a router (/tmp is tmpfs on OpenWrt); here /tmp is disk.
        rig.config.write_text(rig.config.read_text().replace(f'dir = "{rig.state_dir}"', f'dir = "{shm / "run"}"'))
        rig.state_dir = shm / "run"
        rig.start()
        assert rig.proc is not None
        procs["agent"] = rig.proc
        procs["python3"] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(100000)"])
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
        print(f"bench: warm-up {warmup_s:.0f} s, then a {window_s:.0f} s window at the default cadence "
              f"(sample {cadence.sample_s} s, report {cadence.report_s} s, {cadence.reports_per_batch} reports "
              f"per batch, keepalive {keepalive_s} s)", flush=True)
        time.sleep(warmup_s)
        if not sub.wait(lambda: any(t == "uxip/v1/dev-1/status" for t, _p, _ts in sub.raw), 30):
            print("bench: the agent did not come online after the warm-up:\n" + rig.log_text(), file=sys.stderr)
            return 1
        start = {n: (cpu_ns(p.pid), write_bytes(p.pid)) for n, p in procs.items()}
        conns0 = proxy.connections
        t0 = time.monotonic()
        time.sleep(window_s)
        t1 = time.monotonic()
        dt = t1 - t0
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
        payloads = [p for t, p, ts in sub.raw if t == "uxip/v1/dev-1/telemetry" and t0 <= ts < t1 + 1]
        wb = wire_breakdown(proxy.chunks, t0, t1, payloads)
        setup = setup_bytes(proxy.chunks, 1)
        day = 86400 / dt
        per_day = {k: round(v * day) for k, v in wb.items() if k not in ("batches", "pings")}
        total_day = per_day["total"] + setup
        results["agent_wire"] = {"window_bytes": wb["total"], "batches_in_window": wb["batches"],
                                 "pings_in_window": wb["pings"], "connection_setup_bytes": setup,
                                 "bytes_per_day": {**per_day, "connection_setup": setup},
                                 "kb_per_day": round(total_day / 1000, 1),
                                 "mb_per_30_days": round(total_day * 30 / 1e6, 2),
                                 "reconnects_in_window": proxy.connections - conns0}
        if payloads:
            try:
                results["batch_payload"] = payload_groups(payloads[-1])
                results["disconnect_adds_bytes"] = disconnect_cost(payloads[-1])
            except Exception as e:  # an analysis bug must not cost the run's measurements
                results["batch_payload_error"] = f"{type(e).__name__}: {e}"
        results["agent_flash_write_bytes_connected"] = table["agent"].get("disk_write_bytes")
        results["agent_connected_throughout"] = bool(status.get("connected")) and conns0 == proxy.connections
        results["cpu_per_sample_ms"] = {"agent": round(cpu_per_sample_ms(), 3),
                                        "ip -s link (one run)": ip_link_cpu_ms()}

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
            after = [m for t, m, _r, ts in sub.messages
                     if t_status is not None and ts > t_status and "/dev-1/" in t]
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


def _median(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 3) if xs else None


def report(r: dict) -> None:
    procs = r["processes"]
    c = r["cadence"]
    print(f"\nwindow {r['window_s']:.0f} s after {r['warmup_s']:.0f} s warm-up; sample {c['sample_s']} s, report "
          f"{c['report_s']} s, {c['reports_per_batch']} reports per batch, keepalive {c['keepalive_s']} s")
    print(f"{'process':<16}{'RSS MiB':>9}{'Pss MiB':>9}{'CPU-s/min':>11}{'disk writes B':>15}")
    for n, v in procs.items():
        if "error" in v:
            print(f"{n:<16}{v['error']}")
            continue
        print(f"{n:<16}{v['rss_mib']:>9}{v['pss_mib']:>9}{v['cpu_s_per_min']:>11}{v['disk_write_bytes']:>15}")
    if "collectd" in r:
        print(f"collectd: {r['collectd']}")
    a = procs.get("agent", {})
    ref = procs.get("paho+tls+cbor2", {})
    if "rss_mib" in a and "rss_mib" in ref:
        print(f"agent vs the bare paho+TLS+cbor2 client: RSS {a['rss_mib'] - ref['rss_mib']:+.2f} MiB, "
              f"Pss {a['pss_mib'] - ref['pss_mib']:+.2f} MiB")
    fp = r["first_publish_s"]
    print("first acknowledged publish after process start (s): " +
          "; ".join(f"{k} {v} (median {_median(v)})" for k, v in fp.items()))
    w = r["agent_wire"]
    d = w["bytes_per_day"]
    print(f"agent wire: {w['window_bytes']} B in the window ({w['batches_in_window']} batches, "
          f"{w['pings_in_window']} keepalive pings, {w['reconnects_in_window']} reconnects); per day:")
    for k in ("payload", "mqtt_framing", "tls_framing", "keepalive", "other", "connection_setup"):
        print(f"  {k:<18}{d[k] / 1000:>9.1f} KB")
    print(f"  {'total':<18}{w['kb_per_day']:>9.1f} KB/day = {w['mb_per_30_days']} MB per 30 days")
    if "batch_payload_error" in r:
        print(f"batch analysis failed: {r['batch_payload_error']}")
    if "batch_payload" in r:
        b = r["batch_payload"]
        groups = ", ".join(f"{k} {v}" for k, v in sorted(b["first_snapshot_by_group"].items(), key=lambda kv: -kv[1]))
        dgroups = ", ".join(f"{k} {v}" for k, v in sorted(b["diffs_by_group"].items(), key=lambda kv: -kv[1]))
        print(f"one batch: {b['batch_bytes']} B = header/consent {b['header_bytes']} B + first snapshot "
              f"{b['first_snapshot_bytes']} B ({groups}) + {len(b['diff_bytes'])} differences {b['diff_bytes']} B "
              f"({dgroups})")
        print(f"a WAN outage adds {r['disconnect_adds_bytes']} B to its batch (wan_down event with the field data "
              "snapshot taken at the drop), and closes that batch at its report")
    if "batch_payload" in r and w["batches_in_window"]:
        b = r["batch_payload"]
        framing = (d["mqtt_framing"] + d["tls_framing"]) / (w["batches_in_window"] * 86400 / r["window_s"])
        diff = statistics.mean(b["diff_bytes"]) if b["diff_bytes"] else 0
        rows = []
        for report_s, per_batch in ((60, 1), (60, 5), (60, 10), (300, 1), (60, 15)):
            size = b["header_bytes"] + b["first_snapshot_bytes"] + (per_batch - 1) * diff + framing
            rows.append({"report_s": report_s, "reports_per_batch": per_batch,
                         "kb_per_day": round(86400 / (report_s * per_batch) * size / 1000, 1)})
        r["interval_model"] = {"framing_bytes_per_batch": round(framing), "mean_diff_bytes": round(diff), "rows": rows}
        print(f"computed from these sizes (framing {framing:.0f} B per batch, a difference {diff:.0f} B; "
              "keepalives and set-up not included): " +
              "; ".join(f"report {x['report_s']} s x {x['reports_per_batch']} -> {x['kb_per_day']} KB/day"
                        for x in rows))
    cps = r["cpu_per_sample_ms"]
    print(f"CPU per sample: agent {cps['agent']} ms; one `ip -s link` run {cps['ip -s link (one run)']} ms")
    print(f"agent flash writes while connected: {r['agent_flash_write_bytes_connected']} B "
          f"(connected throughout: {r['agent_connected_throughout']})")
    for i, o in enumerate(r["opt_out"]):
        print(f"opt-out {i + 1}: withdrawn status at the server after {o['withdrawn_status_s']} s, connection closed "
              f"after {o['connection_closed_s']} s, messages after it: {o['messages_after']}")
    worst_opt = max((o["withdrawn_status_s"] or 99) for o in r["opt_out"]) if r["opt_out"] else None
    measured = {"rss_mib": a.get("rss_mib"), "pss_mib": a.get("pss_mib"), "cpu_s_per_min": a.get("cpu_s_per_min"),
                "cpu_ms_per_sample": cps["agent"],
                "flash_write_bytes_connected": r["agent_flash_write_bytes_connected"],
                "wire_kb_per_day": w["kb_per_day"], "first_publish_s": _median(fp["agent"]), "opt_out_s": worst_opt}
    refs = {"rss_mib": ref.get("rss_mib"), "pss_mib": ref.get("pss_mib"), "cpu_s_per_min": ref.get("cpu_s_per_min"),
            "cpu_ms_per_sample": cps["ip -s link (one run)"], "first_publish_s": _median(fp["paho+tls+cbor2"])}
    print(f"\ntarget check ({'measured':>10} | {'target':>8} | same-run reference):")
    for k, target in TARGETS.items():
        v = measured[k]
        verdict = "ok" if v is not None and v <= target else "MISSED"
        over = "" if verdict == "ok" or v is None else f" (over by {v - target:.4g})"
        rv = refs.get(k)
        print(f"  {k:<30} {v!s:>10} | <= {target!s:<6}| {'' if rv is None else rv!s:<10} {verdict}{over}")
    r["targets"] = {k: {"measured": measured[k], "target": t, "reference": refs.get(k)} for k, t in TARGETS.items()}


if __name__ == "__main__":
    sys.exit(main())
