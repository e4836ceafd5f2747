"""Ingest throughput in batches/s: `zte-uxip-server ingest` (one worker on SQLite, two on
PostgreSQL) against a bare paho subscriber that only counts messages, in the same run, on the
same real mosquitto (mutual TLS, QoS 1, shared subscription, persistent session).

Each consumer first makes its session and subscription, goes away, and the load generator
queues N realistic batches (six snapshots of a typical router: five links, a cellular WAN, two
Wi-Fi radios, cellular signal and cell) in the broker; then the consumer comes back and the
time to drain them is measured. So the publisher does not compete for the two cores while the
consumer is timed, and the bare subscriber's rate is the broker's delivery ceiling.

Also in-process costs per batch (no MQTT): cbor2.loads (the C parse floor), codec.decode (the
full JSON view) and store.write.write_many on SQLite.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from batches import batch  # noqa: E402
from broker import SERVER_USER, Mosquitto, mosquitto_skip_reason  # noqa: E402

SERVER = str(Path(sys.executable).parent / "zte-uxip-server")
LOADGEN = "loadgen"


def payloads(n: int, devices: int, prefix: str = "zx") -> list[tuple[str, bytes]]:
    """n distinct (device, seq) batches; the CBOR re-keyed from one encoded batch (cheap)."""
    import cbor2

    from zte_uxip.wire import codec

    base = cbor2.loads(codec.encode_batch(batch("zx-00000", 1)))
    out = []
    for i in range(n):
        dev = f"{prefix}-{i % devices:05d}"
        base[2], base[3] = dev, i // devices + 1
        out.append((dev, cbor2.dumps(base)))
    return out


def tls(broker: Mosquitto, cn: str) -> ssl.SSLContext:
    pair = broker.client(cn)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(broker.ca.pem))
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    return ctx


def publish(broker: Mosquitto, items: list[tuple[str, bytes]]) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"loadgen-{time.monotonic_ns()}", protocol=mqtt.MQTTv5)
    c.tls_set_context(tls(broker, LOADGEN))
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    ready = threading.Event()
    c.on_connect = lambda *_a: ready.set()
    c.connect("127.0.0.1", broker.port, keepalive=60)
    c.loop_start()
    assert ready.wait(10)
    infos = [c.publish(f"uxip/v1/{dev}/telemetry", data, qos=1) for dev, data in items]
    for info in infos:
        info.wait_for_publish(120)
    c.disconnect()
    c.loop_stop()


def bare_subscriber(broker: Mosquitto, items: list[tuple[str, bytes]]) -> float:
    """Messages/s a paho client that only counts (auto-ack) drains from its session."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    n = len(items)
    got = [0]
    first = [0.0]
    done = threading.Event()
    ready = threading.Event()

    def on_message(_c, _u, _m):
        if got[0] == 0:
            first[0] = time.perf_counter()
        got[0] += 1
        if got[0] == n:
            done.set()

    def make():
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare-ref", protocol=mqtt.MQTTv5)
        c.tls_set_context(tls(broker, SERVER_USER))
        c.on_message = on_message
        c.on_subscribe = lambda *_a: ready.set()
        return c

    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 2000
    c = make()
    c.connect("127.0.0.1", broker.port, keepalive=60, clean_start=True, properties=props)
    c.loop_start()
    c.subscribe("$share/ref/uxip/v1/+/telemetry", qos=1)
    assert ready.wait(10)
    c.disconnect()
    c.loop_stop()
    publish(broker, items)
    c = make()
    c.connect("127.0.0.1", broker.port, keepalive=60, clean_start=False, properties=props)
    c.loop_start()
    assert done.wait(600), f"bare subscriber got {got[0]} of {n}"
    rate = (n - 1) / (time.perf_counter() - first[0])
    gone = Properties(PacketTypes.DISCONNECT)
    gone.SessionExpiryInterval = 0  # drop the session: it must not queue the next runs' load
    c.disconnect(properties=gone)
    c.loop_stop()
    return rate


def server_toml(d: Path, broker: Mosquitto, store_url: str, group: str) -> Path:
    pair = broker.client(SERVER_USER)
    p = d / f"{group}.toml"
    p.write_text(f"""region = "eu"
[broker]
host = "127.0.0.1"
port = {broker.port}
ca_file = "{broker.ca.pem}"
cert_file = "{pair.cert}"
key_file = "{pair.key}"
group = "{group}"
[store]
url = "{store_url}"
[console]
secret_key_file = "{d / 'console.secret'}"
""")
    return p


def count_batches(store_url: str) -> int:
    sql = "SELECT COUNT(*) FROM store_batch"
    if store_url.startswith("sqlite"):
        con = sqlite3.connect(store_url[len("sqlite:///"):], timeout=30)
        try:
            return int(con.execute(sql).fetchone()[0])
        finally:
            con.close()
    import psycopg

    with psycopg.connect(store_url) as con:
        return int(con.execute(sql).fetchone()[0])


def start_workers(toml: Path, workers: int, log: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    mark = len(log.read_text()) if log.exists() else 0
    with open(log, "ab") as fh:
        for w in range(workers):
            cmd = [SERVER, "ingest", "--config", str(toml), "--worker", str(w), "--summary-s", "5"]
            procs.append(subprocess.Popen(cmd, stdout=fh, stderr=fh))
    deadline = time.monotonic() + 120
    while log.read_text()[mark:].count("connected to") < workers:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise RuntimeError(f"ingest did not connect: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    return procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)


def ingest_rate(d: Path, broker: Mosquitto, store_url: str, workers: int, items: list[tuple[str, bytes]],
                group: str) -> float:
    toml = server_toml(d, broker, store_url, group)
    log = d / f"{group}.log"
    stop(start_workers(toml, workers, log))  # sessions and subscriptions made, schema created
    publish(broker, items)
    n = len(items)
    procs = start_workers(toml, workers, log)
    spies = []
    if os.environ.get("BENCH_PYSPY"):  # a profile of each worker while it drains: BENCH_PYSPY=DIR
        for p in procs:
            out = Path(os.environ["BENCH_PYSPY"]) / f"{group}-{p.pid}.txt"
            spies.append(subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw",
                                           "-o", str(out), "--pid", str(p.pid)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
    try:
        t_first, n_first = 0.0, 0
        deadline = time.monotonic() + 1800
        while True:
            got = count_batches(store_url)
            now = time.perf_counter()
            if got and not t_first:
                t_first, n_first = now, got
            if got >= n:
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"ingest stored {got} of {n}: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        return (n - n_first) / (now - t_first)
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        stop(procs)


def in_process(d: Path, n: int) -> None:
    import cbor2

    from zte_uxip.server import boot, conf
    from zte_uxip.wire import codec

    boot.setup(conf.from_dict({"store": {"url": f"sqlite:///{d}/inproc.sqlite3"},
                               "console": {"secret_key_file": str(d / "c.secret")}}))
    from zte_uxip.server.store.write import Message, write_many
    items = payloads(n, 100)

    def per_batch(fn) -> float:
        t = time.process_time()
        fn()
        return (time.process_time() - t) / n * 1e6

    # Interleaved rounds, the best of each: other load on the machine only ever adds time.
    loads = dec = wr = float("inf")
    for r in range(3):
        loads = min(loads, per_batch(lambda: [cbor2.loads(p) for _d, p in items]))
        dec = min(dec, per_batch(lambda: [codec.decode(p) for _d, p in items]))
        msgs = [Message(dev, "telemetry", p, int(time.time()) + r) for dev, p in payloads(n, 100, f"r{r}")]
        wr = min(wr, per_batch(lambda m=msgs: [write_many(m[i:i + 500], region="eu") for i in range(0, n, 500)]))
    print(f"in-process CPU per batch ({n} batches of 6 snapshots, {len(items[0][1])} B each): "
          f"cbor2.loads {loads:.0f} us (reference), codec.decode {dec:.0f} us ({dec / loads:.0f}x), "
          f"write_many on SQLite incl. decode {wr:.0f} us ({wr / loads:.0f}x) = {1e6 / wr:.0f} batches/s of CPU")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=10_000)
    ap.add_argument("--devices", type=int, default=1_000)
    ap.add_argument("--stores", default="sqlite,postgresql", help="which ingest runs (default both)")
    args = ap.parse_args()
    reason = mosquitto_skip_reason()
    if reason:
        print(f"bench_ingest: skipped: {reason}")
        return 0
    d = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    os.environ["XDG_RUNTIME_DIR"] = str(d)
    in_process(d, 2000)
    items = payloads(args.batches, args.devices)
    broker = Mosquitto(d / "broker", extra_conf=("max_queued_messages 0", "max_queued_bytes 0"),
                       extra_acl=f"\nuser {LOADGEN}\ntopic write uxip/v1/#\n").start()
    try:
        ref = bare_subscriber(broker, items)
        print(f"bare paho subscriber (counts only, auto-ack): {ref:,.0f} msg/s  <- the broker's delivery ceiling")
        if "sqlite" in args.stores:
            sq = ingest_rate(d, broker, f"sqlite:///{d}/server.sqlite3", 1, items, "bench-sqlite")
            print(f"ingest, 1 worker, SQLite: {sq:,.0f} batches/s = {sq / ref:.0%} of the bare subscriber; "
                  f"one worker carries {sq * 60:,.0f} devices at one report a minute")
        if "postgresql" in args.stores:
            import pgcluster

            why = pgcluster.skip_reason()
            if why:
                print(f"ingest on PostgreSQL: skipped: {why}")
            else:
                pg = pgcluster.PgCluster().start()
                try:
                    url = pg.createdb("bench_ingest")
                    pr = ingest_rate(d, broker, url, 2, items, "bench-pg")
                    print(f"ingest, 2 workers, PostgreSQL: {pr:,.0f} batches/s = {pr / ref:.0%} of the bare "
                          f"subscriber ({pr / 2 * 60:,.0f} devices a minute per worker)")
                finally:
                    pg.stop()
    finally:
        broker.stop()
    print(f"({args.batches:,} batches over {args.devices:,} devices; ingest logs in {d})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
