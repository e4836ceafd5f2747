"""Remote diagnostics: what the first command costs the agent in memory, and how long a
`diag DEV snapshot` round trip takes on this machine, each beside a same-run reference.

- RSS of the real agent (with `[commands] verify_key_file`) settled and connected, then after
  its first command (PyNaCl is imported then), and after a `ping`; the reference is the same
  agent's RSS without the key in the same run.
- Round trip: `diag`'s own publish -> answer time (median of 4 `snapshot`s, which take a fresh
  sample, and 4 `selftest`s, which do not) against a bare paho
  client's publish -> own message back through the same broker (median of 20), and the whole
  `diag` process (Python start, TLS, sign, wait) against `mosquitto_pub` -> `mosquitto_sub` as
  processes with the same TLS identities.
Results also land in bench/results/remote.json.
"""

from __future__ import annotations

import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from agentrig import AgentRig  # noqa: E402
from broker import SERVER_USER, Mosquitto, mosquitto_skip_reason  # noqa: E402
from remoterig import RemoteRig, wait_subscribed  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def settle(rig: AgentRig, seconds: float = 4.0) -> int:
    time.sleep(seconds)
    assert rig.proc is not None
    return rss_kib(rig.proc.pid)


def paho_echo_ms(broker: Mosquitto, n: int = 20) -> float:
    import ssl

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    pair = broker.client(SERVER_USER)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(broker.ca.pem))
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    topic = "uxip/v1/echo-bench/cmd"  # the server may write and read it
    got = threading.Event()
    ready = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="echo-bench", protocol=mqtt.MQTTv5)
    c.tls_set_context(ctx)
    c.on_connect = lambda client, *_a: client.subscribe(topic, qos=1)
    c.on_subscribe = lambda *_a: ready.set()
    c.on_message = lambda *_a: got.set()
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    ready.wait(10)
    times = []
    for _ in range(n):
        got.clear()
        t0 = time.monotonic()
        c.publish(topic, b"x" * 200, qos=1)
        got.wait(10)
        times.append((time.monotonic() - t0) * 1000)
    c.disconnect()
    c.loop_stop()
    return statistics.median(times)


def pub_sub_processes_ms(broker: Mosquitto, n: int = 5) -> float:
    pair = broker.client(SERVER_USER)
    tls = ["-h", "127.0.0.1", "-p", str(broker.port), "--cafile", str(broker.ca.pem), "--cert", str(pair.cert),
           "--key", str(pair.key), "-V", "mqttv5", "-q", "1"]
    times = []
    for i in range(n):
        topic = f"uxip/v1/echo-bench-{i}/cmd"
        sub = subprocess.Popen(["mosquitto_sub", *tls, "-t", topic, "-C", "1"], stdout=subprocess.DEVNULL)
        time.sleep(0.5)  # subscribed
        t0 = time.monotonic()
        subprocess.run(["mosquitto_pub", *tls, "-t", topic, "-m", "x"], check=True)
        sub.wait(10)
        times.append((time.monotonic() - t0) * 1000)
    return statistics.median(times)


def nodelay_round_trips_ms(tmp: Path) -> dict[str, float]:
    """The same round trips with mosquitto's `set_tcp_nodelay true`: without it, the broker's
    PUBACK to `diag` and the answer right behind it meet Nagle and diag's delayed ACK (~40 ms)."""
    broker = Mosquitto(tmp / "broker-nodelay")
    broker.conf.write_text(broker.conf.read_text() + "set_tcp_nodelay true\n")
    broker.start()
    remote = RemoteRig(tmp / "remote-nodelay", broker)
    rig = AgentRig(tmp / "agent-nodelay", broker, "bench-nodelay", sample_s=10, report_s=60,
                   extra=remote.agent_extra())
    try:
        rig.start(env=remote.agent_env())
        assert wait_subscribed(broker, rig.device_id), rig.log_text()
        out: dict[str, list[float]] = {"snapshot": [], "selftest": []}
        for i in range(8):
            verb = "snapshot" if i % 2 == 0 else "selftest"
            rc, res, _ = remote.diag(rig.device_id, verb)
            assert rc == 0, res
            out[verb].append(res["round_trip_s"] * 1000)
        return {f"diag_{k}_median": round(statistics.median(v), 1) for k, v in out.items()}
    finally:
        rig.stop(signal.SIGTERM)
        remote.close()
        broker.stop()


def main() -> int:
    why = mosquitto_skip_reason()
    if why:
        print(f"bench_remote: skipped: {why}")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    broker = Mosquitto(tmp / "broker").start()
    remote = RemoteRig(tmp / "remote", broker)
    rigs: list[AgentRig] = []
    try:
        plain = AgentRig(tmp / "plain", broker, "bench-plain", sample_s=10, report_s=60)
        rigs.append(plain)
        plain.start(env=remote.agent_env())
        rig = AgentRig(tmp / "agent", broker, "bench-remote", sample_s=10, report_s=60, extra=remote.agent_extra())
        rigs.append(rig)
        rig.start(env=remote.agent_env())
        assert wait_subscribed(broker, rig.device_id), rig.log_text()
        assert plain.wait_log("connected to")
        rss_plain = settle(plain)
        rss_before = settle(rig, 0.5)
        rc, first, _ = remote.diag(rig.device_id, "snapshot")
        assert rc == 0, first
        rss_after_first = settle(rig, 1.0)
        rc, _ping, _ = remote.diag(rig.device_id, "ping", "host=127.0.0.1", "count=1")
        rss_after_ping = settle(rig, 1.0)
        diag_rt, diag_wall, selftest_rt = [], [], []
        for i in range(8):  # 10 commands in all: the device's rate limit for a minute
            verb = "snapshot" if i % 2 == 0 else "selftest"
            t0 = time.monotonic()
            rc, out, _ = remote.diag(rig.device_id, verb)
            assert rc == 0, out
            if verb == "snapshot":
                diag_wall.append((time.monotonic() - t0) * 1000)
                diag_rt.append(out["round_trip_s"] * 1000)
            else:
                selftest_rt.append(out["round_trip_s"] * 1000)
        nodelay = nodelay_round_trips_ms(tmp)
        echo = paho_echo_ms(broker)
        pubsub = pub_sub_processes_ms(broker)
        res = {
            "rss_kib": {"without_verify_key": rss_plain, "before_first_command": rss_before,
                        "after_first_command": rss_after_first, "after_ping": rss_after_ping,
                        "first_command_delta": rss_after_first - rss_before},
            "round_trip_ms": {"diag_snapshot_median": round(statistics.median(diag_rt), 1),
                              "diag_selftest_median": round(statistics.median(selftest_rt), 1),
                              "paho_echo_median_ref": round(echo, 2),
                              "ratio": round(statistics.median(diag_rt) / echo, 1),
                              "with_broker_set_tcp_nodelay": nodelay},
            "process_wall_ms": {"diag_snapshot_median": round(statistics.median(diag_wall)),
                                "mosquitto_pub_to_sub_ref": round(pubsub),
                                "ratio": round(statistics.median(diag_wall) / pubsub, 1)},
        }
        print(json.dumps(res, indent=2))
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "remote.json").write_text(json.dumps(res, indent=2) + "\n")
        return 0
    finally:
        for r in rigs:
            r.stop(signal.SIGTERM)
        remote.close()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
