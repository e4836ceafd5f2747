"""`zte-uxip-server ingest` end to end: a real mosquitto with mutual TLS and per-device ACLs,
devices publishing recorded batches with paho, real ingest processes on one shared-subscription
group, and the store read back afterwards (SQLite or PostgreSQL, as the suite runs)."""

from __future__ import annotations

import signal
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import cbor2
import pytest
from batches import T0, encoded
from broker import SERVER_USER, Mosquitto, mosquitto_skip_reason

from zte_uxip.wire import codec, topics

pytestmark = [pytest.mark.slow, pytest.mark.skipif(mosquitto_skip_reason() is not None,
                                                   reason=mosquitto_skip_reason() or "")]
SERVER = str(Path(sys.executable).parent / "zte-uxip-server")


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def server_toml(tmp_path, broker, store_url) -> Path:
    pair = broker.client(SERVER_USER)
    p = tmp_path / "server.toml"
    p.write_text(f"""region = "eu"
[broker]
host = "127.0.0.1"
port = {broker.port}
ca_file = "{broker.ca.pem}"
cert_file = "{pair.cert}"
key_file = "{pair.key}"
group = "uxip-test"
[store]
url = "{store_url}"
[console]
secret_key_file = "{tmp_path / 'console.secret'}"
""")
    return p


class Worker:
    """One `ingest` process; its stderr goes to a file the test reads."""

    def __init__(self, toml: Path, log: Path, *args: str) -> None:
        self.cmd = [SERVER, "ingest", "--config", str(toml), "--summary-s", "1", *args]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        mark = len(self.text())
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(self.cmd, stdout=fh, stderr=fh)
        deadline = time.monotonic() + 60
        while "connected to" not in self.text()[mark:]:
            assert self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.1)
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def summaries(self) -> list[str]:
        return [ln for ln in self.text().splitlines() if " stored=" in ln]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


class Device:
    """A device's MQTT identity (its own certificate: the ACL lets it write only its topics)."""

    def __init__(self, broker: Mosquitto, device_id: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.device_id = device_id
        pair = broker.client(device_id)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=str(broker.ca.pem))
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv5)
        c.tls_set_context(ctx)
        c.max_inflight_messages_set(100)
        c.max_queued_messages_set(0)
        ready = threading.Event()
        c.on_connect = lambda *_a: ready.set()
        c.connect("127.0.0.1", broker.port, keepalive=30)
        c.loop_start()
        assert ready.wait(10)
        self.client = c

    def publish(self, leaf: str, payload: bytes, retain: bool = False):
        return self.client.publish(f"{topics.PREFIX}/{self.device_id}/{leaf}", payload, qos=1, retain=retain)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def stored(store_url: str, sql: str) -> list[tuple]:
    """Read the store the way an operator's SQL would, independent of the server's code."""
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url[len("sqlite:///"):]) as con:
            return con.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(store_url) as con:
        return con.execute(sql).fetchall()


BATCH_KEYS = ("SELECT d.device_id, b.seq FROM store_batch b JOIN store_device d ON d.id = b.device_id")


def wait_for(pred, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def publish_all(devices: list[Device], seqs: range, pause_every: int = 0, pause_s: float = 0, hook=None):
    infos = []
    n = 0
    for seq in seqs:
        for d in devices:
            infos.append(d.publish("telemetry", encoded(d.device_id, seq, snapshots=2)))
            n += 1
            if hook is not None:
                hook(n)
            if pause_every and n % pause_every == 0:
                time.sleep(pause_s)
    for info in infos:
        info.wait_for_publish(30)


def test_two_workers_on_one_group_store_each_batch_once(tmp_path, broker, server_toml, store_url):
    w0 = Worker(server_toml, tmp_path / "w0.log", "--worker", "0").start()
    w1 = Worker(server_toml, tmp_path / "w1.log").start()  # takes the lowest free slot: 1
    devices = [Device(broker, f"zx-{n}") for n in range(4)]
    try:
        publish_all(devices, range(1, 51), pause_every=20, pause_s=0.02)
        want = {(d.device_id, s) for d in devices for s in range(1, 51)}
        assert wait_for(lambda: len(stored(store_url, BATCH_KEYS)) >= len(want))
        time.sleep(1.5)  # a last summary line from each
    finally:
        for d in devices:
            d.close()
        rc = (w0.stop(), w1.stop())
    assert rc == (0, 0)
    assert "as uxip-test-0 " in w0.text() and "as uxip-test-1 " in w1.text()
    rows = stored(store_url, BATCH_KEYS)
    assert len(rows) == len(want) and set(rows) == want
    assert stored(store_url, "SELECT COUNT(*) FROM store_sample")[0][0] == 2 * len(want)
    # The broker split the load: both stored some, and together exactly what was sent.
    n0, n1 = (int(w.summaries()[-1].split("stored=")[1].split()[0]) for w in (w0, w1))
    assert n0 > 0 and n1 > 0 and n0 + n1 == len(want)
    counts = stored(store_url, "SELECT device_id, batches_total, last_seq FROM store_device ORDER BY device_id")
    assert counts == [(f"zx-{n}", 50, 50) for n in range(4)]


def test_kill9_mid_stream_loses_nothing_doubles_nothing(tmp_path, broker, server_toml, store_url):
    w0 = Worker(server_toml, tmp_path / "w0.log", "--worker", "0").start()
    w1 = Worker(server_toml, tmp_path / "w1.log", "--worker", "1").start()
    devices = [Device(broker, f"zx-{n}") for n in range(3)]
    killed = threading.Event()

    def kill_midway(n: int) -> None:
        if n == 150 and not killed.is_set():
            w0.proc.kill()  # SIGKILL: no clean-up at all
            w0.proc.wait(10)
            killed.set()

    try:
        publish_all(devices, range(1, 201), pause_every=10, pause_s=0.01, hook=kill_midway)
        assert killed.is_set()
        w0.start()  # the same command line: same slot, same client id, same session
        want = {(d.device_id, s) for d in devices for s in range(1, 201)}
        assert wait_for(lambda: len(stored(store_url, BATCH_KEYS)) >= len(want))
        time.sleep(1.5)
    finally:
        for d in devices:
            d.close()
        w0.stop()
        w1.stop()
    rows = stored(store_url, BATCH_KEYS)
    assert len(rows) == len(want) and set(rows) == want  # none lost, none doubled
    assert "(session resumed)" in w0.text()
    assert stored(store_url, "SELECT SUM(batches_total) FROM store_device")[0][0] == len(want)


def test_sigterm_finishes_and_disconnects_cleanly(tmp_path, broker, server_toml, store_url):
    w = Worker(server_toml, tmp_path / "w.log").start()
    dev = Device(broker, "zx-t")
    try:
        publish_all([dev], range(1, 31))
        assert wait_for(lambda: len(stored(store_url, BATCH_KEYS)) == 30)
    finally:
        dev.close()
    t0 = time.monotonic()
    assert w.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 5
    assert "(stopped)" in w.text() and "Traceback" not in w.text()
    # A clean DISCONNECT, not a dropped connection.
    assert wait_for(lambda: "Client uxip-test-0 disconnected." in broker.log_text(), 5), broker.log_text()[-2000:]


def test_spoofed_and_undecodable_payloads_are_counted_and_ingest_keeps_running(tmp_path, broker, server_toml,
                                                                              store_url):
    w = Worker(server_toml, tmp_path / "w.log").start()
    dev = Device(broker, "zx-a")
    try:
        dev.publish("telemetry", b"\xa3\x00\x01\x01").wait_for_publish(10)  # truncated map
        dev.publish("telemetry", encoded("zx-victim", 1)).wait_for_publish(10)  # another device's id
        dev.publish("telemetry", b"\x00" * 300_000).wait_for_publish(10)  # over the size limit
        dev.publish("cmd/result", cbor2.dumps({"id": b"x", "status": "ok"})).wait_for_publish(10)
        dev.publish("telemetry", encoded("zx-a", 1)).wait_for_publish(10)
        assert wait_for(lambda: any("rejected=4" in s for s in w.summaries()), 20), w.text()
        assert w.proc.poll() is None  # still running
        dev.publish("telemetry", encoded("zx-a", 2)).wait_for_publish(10)
        dev.publish("telemetry", encoded("zx-a", 1)).wait_for_publish(10)  # resent, as after a lost PUBACK
        assert wait_for(lambda: any("duplicate=1" in s for s in w.summaries()), 20), w.text()
    finally:
        dev.close()
        w.stop()
    line = w.summaries()[-1]
    assert "stored=2 duplicate=1" in line
    assert "rejected=4 (device_mismatch=1 not_a_result=1 oversized=1 undecodable=1)" in line
    assert sorted(stored(store_url, BATCH_KEYS)) == [("zx-a", 1), ("zx-a", 2)]
    assert "Traceback" not in w.text()


def test_withdrawal_status_erases_and_command_results_land(tmp_path, broker, server_toml, store_url):
    w = Worker(server_toml, tmp_path / "w.log").start()
    dev = Device(broker, "zx-w")
    try:
        publish_all([dev], range(1, 6))
        dev.publish("cmd/result", cbor2.dumps({"id": bytes(range(16)), "status": "ok", "result": {"ok": True}}))
        assert wait_for(lambda: len(stored(store_url, BATCH_KEYS)) == 5)
        assert wait_for(lambda: stored(store_url, "SELECT status FROM commands_command") == [("ok",)])
        dev.publish("status", codec.encode_status("consent_withdrawn", T0 + 10_000, "2.1"), retain=True)
        assert wait_for(lambda: stored(store_url, "SELECT COUNT(*) FROM store_tombstone")[0][0] == 1)
        late = encoded("zx-w", 3)  # redelivered from before the withdrawal
        dev.publish("telemetry", late).wait_for_publish(10)
        assert wait_for(lambda: any("rejected=1 (withdrawn=1)" in s for s in w.summaries()), 20), w.text()
    finally:
        dev.close()
        w.stop()
    assert stored(store_url, BATCH_KEYS) == []
    assert stored(store_url, "SELECT COUNT(*) FROM store_sample")[0][0] == 0
    assert stored(store_url, "SELECT COUNT(*) FROM commands_command")[0][0] == 0
    assert stored(store_url, "SELECT device_id, withdrawn_ts FROM store_tombstone") == [("zx-w", T0 + 10_000)]


def test_second_process_on_a_taken_slot_is_refused(tmp_path, broker, server_toml):
    w = Worker(server_toml, tmp_path / "w.log", "--worker", "3").start()
    try:
        r = subprocess.run([SERVER, "ingest", "--config", str(server_toml), "--worker", "3"],
                           capture_output=True, text=True, timeout=60)
    finally:
        w.stop()
    assert r.returncode == 2
    assert r.stderr.strip() == "zte-uxip-server: ingest: --worker 3: another ingest process holds that slot"


def test_missing_tls_file_is_one_line(tmp_path, server_toml):
    bad = server_toml.read_text().replace('cert_file = "', 'cert_file = "/nonexistent')
    server_toml.write_text(bad)
    r = subprocess.run([SERVER, "ingest", "--config", str(server_toml)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "broker.cert_file" in r.stderr


@pytest.fixture(autouse=True)
def _private_runtime_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # slot locks of PostgreSQL runs stay per test
