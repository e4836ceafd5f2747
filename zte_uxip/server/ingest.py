"""`zte-uxip-server ingest`: MQTT 5 shared subscriptions -> the store, exactly once per batch.

Any number of these processes share one subscription group (``$share/{group}/...``), so the
broker splits the devices' messages between them. Each process has a stable client id,
``{group}-{slot}``, and a persistent session (clean start off, session expiry from the TOML):
killed and started again with the same command line it resumes its session and the broker
redelivers whatever it had not acknowledged. Acknowledgement is manual (paho ``manual_ack``): a
message is PUBACKed only after the transaction holding it committed, so a kill -9 loses nothing
(redelivered) and doubles nothing (the store's unique (device, seq) key turns the redelivery
into a counted duplicate).

Threads: paho's network thread only queues messages; the main thread takes everything queued
(group commit: the busier it is, the more each transaction holds), writes it with
``store.write.write_many`` in one transaction, then acknowledges. It also prints the summary line
and starts the daily retention sweep in a thread of its own (with its own DB connection).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import queue
import signal
import ssl
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ..wire import topics
from . import common, conf
from .mqtt import tls_context as mqtt_tls

LEAVES = ("telemetry", "status", "cmd/result")
RECEIVE_MAXIMUM = 2000  # unacknowledged messages the broker may have in flight to one worker
MAX_PER_TRANSACTION = 500  # ~0.5 s of decoding and writing: nothing waits long for its commit
MAX_SLOTS = 256
RETRY_MAX_S = 30.0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ingest", help="subscribe (shared, QoS 1, mutual TLS) and store telemetry, status, results")
    common.add_config(p)
    p.add_argument("--worker", type=int, metavar="N",
                   help="slot: MQTT client id {group}-N (default: the lowest slot no other ingest holds)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long, as on SIGTERM (0: run until told)")
    p.add_argument("--summary-s", type=float, default=60, help="seconds between summary lines on stderr (default 60)")


def _log(line: str) -> None:
    print(f"zte-uxip-server ingest: {line}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- slot lock


def _runtime_dir() -> Path:
    for env in ("RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"):
        if os.environ.get(env):
            return Path(os.environ[env].split(":")[0]) / "zte_uxip"
    return Path("/run/zte_uxip") if os.geteuid() == 0 else Path(f"/tmp/zte_uxip-{os.getuid()}")


def lock_dir(cfg: conf.ServerConfig) -> Path:
    """Beside a SQLite store (one machine, one store), else a private runtime dir."""
    db = conf.database(cfg.store.url)
    if db["ENGINE"].endswith("sqlite3"):
        return Path(db["NAME"]).resolve().parent
    d = _runtime_dir()
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = d.stat()
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise conf.ServerConfigError(f"{d}: lock directory not owned by this user or writable by others")
    return d


def take_slot(cfg: conf.ServerConfig, group: str, wanted: int | None) -> tuple[int, int]:
    """(slot, fd of its held lock). A slot is one running process: two processes with one client
    id would take each other's session over and over."""
    d = lock_dir(cfg)
    tag = hashlib.sha256(f"{cfg.store.url}\0{group}".encode()).hexdigest()[:12]
    slots = [wanted] if wanted is not None else list(range(MAX_SLOTS))
    for slot in slots:
        path = d / f".zte-uxip-ingest-{tag}-{slot}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return slot, fd
    if wanted is not None:
        raise conf.ServerConfigError(f"--worker {wanted}: another ingest process holds that slot")
    raise conf.ServerConfigError(f"all {MAX_SLOTS} ingest slots are taken")


# ---------------------------------------------------------------- MQTT


def tls_context(broker: conf.BrokerSection) -> ssl.SSLContext:
    return mqtt_tls(broker.ca_file, broker.cert_file, broker.key_file)


class Intake:
    """paho's side: queue what arrives, acknowledge what the main thread says is committed."""

    def __init__(self, broker: conf.BrokerSection, client_id: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.broker = broker
        self.client_id = client_id
        self.queue: queue.Queue[tuple[int, int, str, bytes, int]] = queue.Queue()
        self.generation = 0  # connection count: a mid is only valid on the connection it came in on
        self.connected = threading.Event()
        self.topics = [f"$share/{broker.group}/{topics.PREFIX}/+/{leaf}" for leaf in LEAVES]
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True)
        c.tls_set_context(tls_context(broker))
        c.reconnect_delay_set(1, int(RETRY_MAX_S))
        c.on_connect, c.on_disconnect, c.on_message = self._on_connect, self._on_disconnect, self._on_message
        c.on_connect_fail = self._on_connect_fail
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = broker.session_expiry_s
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self.props = props
        self.client = c

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s,
                                  clean_start=False, properties=self.props)
        self.client.loop_start()

    def _on_connect(self, client: Any, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            _log(f"{self.broker.host}:{self.broker.port}: CONNECT refused: {rc}")
            return
        self.generation += 1
        client.subscribe([(t, 1) for t in self.topics])
        _log(f"connected to {self.broker.host}:{self.broker.port} as {self.client_id} "
             f"(session {'resumed' if flags.session_present else 'new'})")
        self.connected.set()

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        _log(f"{self.broker.host}:{self.broker.port}: cannot connect; retrying")

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected.clear()
        if rc.is_failure:
            _log(f"disconnected: {rc}; reconnecting")

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        self.queue.put((self.generation, msg.mid, msg.topic, bytes(msg.payload), int(time.time())))

    def ack(self, generation: int, mid: int) -> None:
        # After a reconnect the broker redelivers the unacknowledged; the store dedups them.
        if generation == self.generation:
            self.client.ack(mid, 1)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# ---------------------------------------------------------------- the main loop


class Summary:
    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self.since = time.monotonic()
        self.stored_at_last = 0

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def line(self) -> str:
        now = time.monotonic()
        c = self.counts
        rejects = {k.split(":", 1)[1]: n for k, n in sorted(c.items()) if k.startswith("rejected:")}
        rate = (c["stored"] - self.stored_at_last) / max(now - self.since, 1e-9)
        self.since, self.stored_at_last = now, c["stored"]
        detail = " ".join(f"{k}={n}" for k, n in rejects.items())
        return (f"{self.name}: stored={c['stored']} duplicate={c['duplicate']} status={c['status']} "
                f"withdrawn={c['withdrawn']} command={c['command']} rejected={sum(rejects.values())}"
                + (f" ({detail})" if detail else "") + f" rate={rate:.1f}/s")


class Ingest:
    def __init__(self, cfg: conf.ServerConfig, slot: int, summary_s: float) -> None:
        self.cfg = cfg
        broker = cfg.need_broker()
        self.client_id = f"{broker.group}-{slot}"
        self.intake = Intake(broker, self.client_id)
        self.summary = Summary(self.client_id)
        self.summary_s = summary_s
        self.stop = threading.Event()
        self.sweeper: threading.Thread | None = None

    def write(self, items: list[tuple[int, int, str, bytes, int]]) -> None:
        """Store ``items`` (retrying on database trouble), then acknowledge each of them."""
        from django.db import DatabaseError, IntegrityError, connection

        from .store.write import Message, rejected, write_many

        msgs: list[Any] = []
        for _gen, _mid, topic, payload, ts in items:
            try:
                device_id, leaf = topics.parse(topic)
                msgs.append(Message(device_id, leaf, payload, ts))
            except ValueError:
                msgs.append(None)
        real = [m for m in msgs if m is not None]
        delay = 1.0
        while True:
            try:
                try:
                    done = iter(write_many(real, region=self.cfg.region))
                    outcomes = [next(done) if m is not None else rejected("bad_topic") for m in msgs]
                except IntegrityError:
                    # A race with another worker (a device created twice): one message per transaction.
                    outcomes = [self._write_alone(m) for m in msgs]
                except DatabaseError:
                    raise
                except Exception:  # noqa: BLE001 - a message the write path cannot handle: find it, go on
                    outcomes = [self._write_alone(m) for m in msgs]
                break
            except DatabaseError as e:
                # Nothing was committed; nothing is acknowledged; the same messages are written again.
                _log(f"store: {' '.join(str(e).split())[:200]}; retrying in {delay:.0f} s")
                connection.close()
                if self.stop.wait(delay):
                    return  # not acknowledged: the broker redelivers them to this session
                delay = min(delay * 2, RETRY_MAX_S)
        for (gen, mid, *_rest), outcome in zip(items, outcomes, strict=True):
            self.intake.ack(gen, mid)
            self.summary.add(outcome)

    def _write_alone(self, m: Any) -> str:
        from django.db import DatabaseError, IntegrityError

        from .store.write import rejected, write_many

        if m is None:
            return rejected("bad_topic")
        for _attempt in range(3):
            try:
                return write_many([m], region=self.cfg.region)[0]
            except IntegrityError:
                continue
            except DatabaseError:
                raise  # the database, not this message: the caller retries them all
            except Exception as e:  # noqa: BLE001 - one line and the next message, never a crash loop
                _log(f"{m.device_id}/{m.leaf}: cannot be stored ({type(e).__name__}: "
                     f"{' '.join(str(e).split())[:120]}); dropped")
                return rejected("store_error")
        _log(f"{m.device_id}/{m.leaf}: refused by the store's constraints; dropped")
        return rejected("store_error")

    def sweep(self) -> None:
        """The daily retention sweep, in a thread of its own so ingest keeps flowing."""
        if self.sweeper is not None and self.sweeper.is_alive():
            return
        from .store.retention import sweep

        def run() -> None:
            from django.db import connection

            try:
                result = sweep(self.cfg, int(time.time()))
                _log(f"retention sweep: {result}")
            except Exception as e:  # noqa: BLE001 - one bad sweep must not stop ingest; tomorrow's retries
                _log(f"retention sweep failed: {' '.join(str(e).split())[:200]}")
            finally:
                connection.close()

        self.sweeper = threading.Thread(target=run, name="retention", daemon=True)
        self.sweeper.start()

    def run(self, seconds: float) -> int:
        self.intake.start()
        start = time.monotonic()
        deadline = start + seconds if seconds > 0 else None
        next_summary = start + self.summary_s
        next_sweep = start + min(60.0, self.cfg.retention.sweep_interval_s)
        q = self.intake.queue
        while not self.stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            items = []
            try:
                items.append(q.get(timeout=0.2))
                while len(items) < MAX_PER_TRANSACTION:
                    items.append(q.get_nowait())
            except queue.Empty:
                pass
            if items:
                self.write(items)
            now = time.monotonic()
            if now >= next_summary:
                _log(self.summary.line())
                next_summary = now + self.summary_s
            if now >= next_sweep:
                self.sweep()
                next_sweep = now + self.cfg.retention.sweep_interval_s
        # SIGTERM: the write in progress finished above; store what is already here, then leave.
        items = []
        while True:
            try:
                items.append(q.get_nowait())
            except queue.Empty:
                break
        if items and self.intake.connected.is_set():
            self.write(items)  # one attempt (stop is set): on database trouble they are redelivered later
        self.intake.stop()
        _log(self.summary.line() + " (stopped)")
        return 0


def run(args: argparse.Namespace) -> int:
    from django.db import DatabaseError

    cfg = common.load(args)
    broker = cfg.need_broker()
    if args.worker is not None and not 0 <= args.worker < MAX_SLOTS:
        raise conf.ServerConfigError(f"--worker: must be 0..{MAX_SLOTS - 1}")
    tls_context(broker)  # bad TLS material: one line now, not retries forever
    slot, lock_fd = take_slot(cfg, broker.group, args.worker)
    try:
        common.store_setup(args)
    except DatabaseError as e:
        print(f"zte-uxip-server: ingest: store: {' '.join(str(e).split())[:200]}", file=sys.stderr)
        return 1
    ing = Ingest(cfg, slot, args.summary_s)

    def on_signal(_sig: int, _frame: Any) -> None:
        ing.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return ing.run(args.seconds)
    finally:
        os.close(lock_fd)
