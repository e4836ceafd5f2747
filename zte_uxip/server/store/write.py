"""The write path: MQTT messages -> rows, many messages per transaction.

``write_many(messages)`` is what ingest calls (at least once a second); it returns one outcome
per message and never raises for bad input: a payload that does not decode, is not the kind
its topic carries, names another device, or is too large is *rejected* with a reason, counted
by the caller and acknowledged (redelivering it would not make it valid). Database trouble
(connection lost, disk full) does raise: then nothing is acknowledged and the broker redelivers.

Telemetry is decoded with :func:`zte_uxip.wire.codec.decode`, the same JSON view that
``zte-uxip decode`` prints and the export holds; the original CBOR is kept with the batch. A
batch is stored once per (device, seq): a second copy is counted as ``duplicate``.

Consent withdrawal (status ``consent_withdrawn``) erases the device through
:func:`..erase.erase_device`, leaving the tombstone and one audit entry. The rule for late and
retained messages after that: **a batch whose data was collected at or before the withdrawal
(its oldest snapshot or event time <= the tombstone's ``withdrawn_ts``, both on the device's
own clock) is never stored** — it is rejected as ``withdrawn``, whatever its seq and however
late it comes, so a redelivered or spooled batch cannot bring erased data back. Data collected
after the withdrawal (the owner opted in again) is stored as new. A withdrawal status at or
before the tombstone's time is a redelivery of one already applied and erases nothing more;
any other status from before it (a will, a late retained ``online``) and an answer to a
command the erase removed are rejected as ``withdrawn`` too.
Status updates apply only if their ``ts`` is not older than the last one applied, so a stale
retained ``offline`` cannot overwrite a newer ``online``.

Everything a device sends is untrusted: integers outside a column's range become NULL (or
reject the batch when it is the seq), text is cut to the column's length and loses NUL
characters (PostgreSQL refuses them), and location-class fields (cell id, TAC, ...) land only in
their own Sample columns — never in an event's JSON — and only when the batch's consent allows
location.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from ...wire import codec, schema
from ..commands.models import Command
from .erase import erase_device
from .models import Batch, Device, Event, Sample, Tombstone

# Outcomes (the ingest summary counts these; rejects as "rejected:<reason>").
STORED = "stored"
DUPLICATE = "duplicate"
STATUS = "status"
WITHDRAWN = "withdrawn"  # a consent_withdrawn status: the device was erased
COMMAND = "command"

INT64_MAX = 2**63 - 1
INT32 = 2**31 - 1
COMMAND_STATUSES = ("ok", "refused", "failed", "timeout")
COMMAND_ID_BYTES = 16
LEAVES = ("telemetry", "status", "cmd/result")


@dataclass(frozen=True)
class Message:
    """One received MQTT message: the device id comes from the topic (the broker's ACL vouches
    for it), never from the payload."""

    device_id: str
    leaf: str  # telemetry | status | cmd/result
    payload: bytes
    received_ts: int


def rejected(reason: str) -> str:
    return f"rejected:{reason}"


# ---------------------------------------------------------------- sanitising untrusted values


def _text(value: Any, max_len: int) -> str:
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "")[:max_len]


def _int(value: Any, lo: int = -INT64_MAX, hi: int = INT64_MAX) -> int | None:
    if type(value) is int and lo <= value <= hi:
        return value
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _location_paths(fields: tuple[schema.Field, ...]) -> dict[str, Any]:
    """{name: True} for a location-class field, {name: {...}} for a map/list holding some."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.privacy is schema.Privacy.LOCATION:
            out[f.name] = True
        elif f.children:
            sub = _location_paths(f.children)
            if sub:
                out[f.name] = sub
    return out


_SNAPSHOT_LOCATION = _location_paths(schema.SNAPSHOT_BODY)


def _strip(value: Any, spec: dict[str, Any] | None) -> Any:
    """A JSON-safe copy without location-class fields and without NUL characters."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            sub = spec.get(k) if spec else None
            if sub is True:
                continue
            out[k.replace("\x00", "")] = _strip(v, sub)
        return out
    if isinstance(value, list):
        return [_strip(v, spec) for v in value]
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------- telemetry -> rows


@dataclass
class _Accepted:
    """One batch that passed every check, with its rows still to insert."""

    msg: Message
    batch: dict[str, Any]
    seq: int
    sampled_ts: int
    newest_ts: int | None
    index: int  # position in the caller's list
    samples: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)


def _batch_times(batch: dict[str, Any], received_ts: int) -> tuple[int, int | None]:
    """(sampled_ts: oldest data in it, newest snapshot ts). Device clock, validated ranges."""
    times = [t for s in batch["snapshots"] if (t := _int(s.get("ts"), 0)) is not None]
    newest = max(times) if times else None
    times += [t for e in _events_of(batch) if (t := _int(e[0].get("ts"), 0)) is not None]
    if (bt := _int(batch.get("ts"), 0)) is not None:
        times.append(bt)
    return (min(times) if times else received_ts), newest


def _events_of(batch: dict[str, Any]) -> Iterable[tuple[dict[str, Any], int | None]]:
    """Every event of the batch and of its snapshots, with the snapshot's ts as a fallback."""
    for e in batch.get("events") or ():
        yield e, None
    for s in batch["snapshots"]:
        for e in s.get("events") or ():
            yield e, _int(s.get("ts"), 0)


SAMPLE_COLUMNS = (
    "ts", "uptime_s", "cpu_pct", "mem_used_pct", "load1",
    "wan_iface", "wan_up", "disconnects_total", "rx_bps", "tx_bps", "rx_bps_peak", "tx_bps_peak",
    "usage_cycle_bytes", "rat", "plmn", "registration", "roaming", "attached",
    "rssi_dbm", "rsrp_dbm", "rsrq_db", "sinr_db", "cell_id", "tac", "wifi_clients", "wifi_clients_by_radio",
)
EVENT_COLUMNS = ("kind", "ts", "duration_s", "cause", "fields", "snapshot")
BATCH_COLUMNS = ("device_id", "seq", "received_ts", "sampled_ts", "snapshots", "consent_enabled", "consent_location",
                 "policy_version", "dropped_total", "region", "cbor")


def _wan_link(snap: dict[str, Any] | None, iface: str) -> dict[str, Any]:
    for link in (snap or {}).get("links") or ():
        if isinstance(link, dict) and link.get("name") == iface:
            return link
    return {}


def _mean_bps(link: dict[str, Any], prev_link: dict[str, Any], dt_s: Any, key: str) -> int | None:
    """The mean rate between two snapshots from the kernel's byte counters (None after a reset)."""
    cur, old = _int(link.get(key), 0), _int(prev_link.get(key), 0)
    if cur is None or old is None or cur < old or not isinstance(dt_s, int) or dt_s <= 0:
        return None
    return _int(round((cur - old) * 8 / dt_s), 0)


def sample_facts(snap: dict[str, Any], *, location: bool, prev: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """One snapshot's facts in SAMPLE_COLUMNS order (JSON column as a Python value). A summarised
    report carries no instantaneous WAN rate (only peaks and counters): the mean rate since the
    previous snapshot of the same batch is derived from the counters instead."""
    system = snap.get("system") or {}
    wan = snap.get("wan") or {}
    cell = snap.get("cellular") or {}
    iface = _text(wan.get("iface"), 32)
    rx_bps = tx_bps = None
    if iface:
        link = _wan_link(snap, iface)
        rx_bps, tx_bps = _int(link.get("rx_bps"), 0), _int(link.get("tx_bps"), 0)
        if rx_bps is None and tx_bps is None and prev is not None:
            prev_link = _wan_link(prev, iface)
            ts, prev_ts = snap.get("ts"), prev.get("ts")
            dt_s = ts - prev_ts if isinstance(ts, int) and isinstance(prev_ts, int) else None
            rx_bps = _mean_bps(link, prev_link, dt_s, "rx_bytes_total")
            tx_bps = _mean_bps(link, prev_link, dt_s, "tx_bytes_total")
    clients: int | None = None
    by_radio: dict[str, int] | None = None
    for radio in (snap.get("wifi") or {}).get("radios") or ():
        n = _int(radio.get("clients"), 0, INT32)
        if n is None:
            continue
        clients = (clients or 0) + n
        by_radio = by_radio or {}
        name = _text(radio.get("iface"), 32) or f"radio{len(by_radio)}"
        by_radio[name] = by_radio.get(name, 0) + n
    return (
        _int(snap.get("ts"), 0), _int(snap.get("uptime_s"), 0),
        _float(system.get("cpu_pct")), _float(system.get("mem_used_pct")), _float(system.get("load1")),
        iface, _bool(wan.get("up")), _int(wan.get("disconnects_total"), 0), rx_bps, tx_bps,
        _int(wan.get("rx_bps_peak"), 0), _int(wan.get("tx_bps_peak"), 0), _int(wan.get("usage_cycle_bytes"), 0),
        _text(cell.get("rat"), 16), _text(cell.get("plmn"), 8), _text(cell.get("registration"), 24),
        _bool(cell.get("roaming")), _bool(cell.get("attached")),
        _int(cell.get("rssi_dbm"), -INT32, INT32), _int(cell.get("rsrp_dbm"), -INT32, INT32),
        _float(cell.get("rsrq_db")), _float(cell.get("sinr_db")),
        _int(cell.get("cell_id"), 0) if location else None,
        _int(cell.get("tac"), 0, INT32) if location else None,
        clients, by_radio,
    )


def event_row(event: dict[str, Any], fallback_ts: int) -> tuple[Any, ...]:
    rest = {k: v for k, v in event.items() if k not in ("type", "ts", "duration_s", "cause", "snapshot")}
    snapshot = event.get("snapshot")
    return (
        _text(event.get("type"), 32), _int(event.get("ts"), 0) or fallback_ts, _int(event.get("duration_s"), 0),
        _text(event.get("cause"), 32), _strip(rest, None),
        _strip(snapshot, _SNAPSHOT_LOCATION) if isinstance(snapshot, dict) else None,
    )


def _check_batch(msg: Message, index: int) -> _Accepted | str:
    if len(msg.payload) > schema.MAX_MESSAGE_BYTES:
        return rejected("oversized")
    try:
        batch = codec.decode(msg.payload)
    except codec.DecodeError:
        return rejected("undecodable")
    if "snapshots" not in batch or "seq" not in batch:
        return rejected("not_a_batch")
    if batch.get("device_id") != msg.device_id:
        return rejected("device_mismatch")
    seq = _int(batch["seq"], 0)
    if seq is None:
        return rejected("out_of_range")
    consent = batch.get("consent") or {}
    if consent.get("enabled") is False:
        return rejected("consent_off")  # an agent never sends while opted out
    sampled_ts, newest = _batch_times(batch, msg.received_ts)
    acc = _Accepted(msg, batch, seq, sampled_ts, newest, index)
    location = consent.get("location") is not False
    snaps = batch["snapshots"]
    acc.samples = [sample_facts(s, location=location, prev=snaps[i - 1] if i else None) for i, s in enumerate(snaps)]
    acc.samples = [s for s in acc.samples if s[0] is not None]  # a snapshot without a time is not a fact
    acc.events = [event_row(e, ts if ts is not None else sampled_ts) for e, ts in _events_of(batch)]
    return acc


# ---------------------------------------------------------------- status and cmd/result


def _check_status(msg: Message) -> dict[str, Any] | str:
    if len(msg.payload) > schema.MAX_MESSAGE_BYTES:
        return rejected("oversized")
    try:
        status = codec.decode(msg.payload)
    except codec.DecodeError:
        return rejected("undecodable")
    if "state" not in status:
        return rejected("not_a_status")
    status["ts"] = _int(status.get("ts"), 0) or msg.received_ts
    return status


def _jsonable(value: Any, depth: int = 0) -> Any:
    """A command result (generic CBOR from the device) as JSON: text keys, bytes as hex."""
    if depth > schema.MAX_DEPTH:
        raise ValueError("too deep")
    if isinstance(value, dict):
        return {_text(str(k), 256): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -INT64_MAX <= value <= INT64_MAX else str(value)
    raise ValueError(f"unsupported value {type(value).__name__}")


def _check_result(msg: Message) -> dict[str, Any] | str:
    if len(msg.payload) > schema.MAX_MESSAGE_BYTES:
        return rejected("oversized")
    try:
        m = codec.loads_limited(msg.payload)
    except codec.DecodeError:
        return rejected("undecodable")
    if not isinstance(m, dict):
        return rejected("not_a_result")
    cid, status = m.get("id"), m.get("status")
    if not isinstance(cid, bytes) or len(cid) != COMMAND_ID_BYTES or status not in COMMAND_STATUSES:
        return rejected("not_a_result")
    result = m.get("result")
    try:
        result = _jsonable(result) if isinstance(result, dict) else None
    except ValueError:
        return rejected("not_a_result")
    return {"command_id": cid.hex(), "status": status, "result": result, "reason": _text(m.get("reason"), 200)}


def _store_result(msg: Message, r: dict[str, Any]) -> str:
    cmd = Command.objects.select_for_update().filter(command_id=r["command_id"]).first()
    if cmd is None:
        if Tombstone.objects.filter(device_id=msg.device_id).exists():
            return rejected("withdrawn")  # a late answer must not bring an erased device back
        Command.objects.create(command_id=r["command_id"], device_id=msg.device_id, verb="", status=r["status"],
                               result=r["result"], reason=r["reason"], answered_ts=msg.received_ts)
        return COMMAND
    if cmd.device_id != msg.device_id:
        return rejected("device_mismatch")  # one device answering another's command
    cmd.status, cmd.result, cmd.reason, cmd.answered_ts = r["status"], r["result"], r["reason"], msg.received_ts
    cmd.save(update_fields=["status", "result", "reason", "answered_ts"])
    return COMMAND


# ---------------------------------------------------------------- the transaction


class _Txn:
    """State of one write_many transaction: devices and tombstones loaded once."""

    def __init__(self, region: str, device_ids: set[str]) -> None:
        self.region = region
        # Row locks on PostgreSQL (a no-op on SQLite, whose writers are serialised anyway): a
        # concurrent withdrawal of one of these devices waits for this transaction, and a batch
        # waits for a withdrawal in progress, so erase and store cannot interleave.
        self.devices: dict[str, Device] = {
            d.device_id: d for d in Device.objects.select_for_update().filter(device_id__in=device_ids)
        }
        self.tombstones: dict[str, int] = dict(
            Tombstone.objects.filter(device_id__in=device_ids).values_list("device_id", "withdrawn_ts")
        )
        self.dirty: set[str] = set()

    def device(self, device_id: str, now: int) -> Device:
        d = self.devices.get(device_id)
        if d is None:
            d = Device(device_id=device_id, region=self.region, first_seen_ts=now, last_seen_ts=now)
            self.devices[device_id] = d
        self.dirty.add(device_id)
        return d

    def store_batches(self, accepted: list[_Accepted], outcomes: list[str]) -> None:
        if not accepted:
            return
        # Devices first (new ones need their primary key).
        for a in accepted:
            self.device(a.msg.device_id, a.msg.received_ts)
        self.save_devices()
        pks = {self.devices[a.msg.device_id].pk for a in accepted}
        seqs = {a.seq for a in accepted}
        have = set(Batch.objects.filter(device_id__in=pks, seq__in=seqs).values_list("device_id", "seq"))
        rows: list[tuple[Any, ...]] = []
        kept: list[_Accepted] = []
        for a in accepted:
            dev = self.devices[a.msg.device_id]
            key = (dev.pk, a.seq)
            if key in have:
                outcomes[a.index] = DUPLICATE
                continue
            have.add(key)
            consent = a.batch.get("consent") or {}
            rows.append((
                dev.pk, a.seq, a.msg.received_ts, a.sampled_ts, len(a.batch["snapshots"]),
                consent.get("enabled") is not False, consent.get("location") is not False,
                _text(consent.get("policy_version"), 64), _int(a.batch.get("dropped_total"), 0) or 0,
                self.region, a.msg.payload,
            ))
            kept.append(a)
            self._update_device(dev, a)
            self.dirty.add(a.msg.device_id)
            outcomes[a.index] = STORED
        if not rows:
            return
        _insert(Batch, BATCH_COLUMNS, rows)
        # The new rows' ids, by their unique key (one indexed query; no reliance on RETURNING order).
        ids = {(d, q): i for i, d, q in Batch.objects.filter(
            device_id__in={r[0] for r in rows}, seq__in={r[1] for r in rows}).values_list("id", "device_id", "seq")}
        samples: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        for a, r in zip(kept, rows, strict=True):
            dev_pk, batch_pk = r[0], ids[(r[0], r[1])]
            samples.extend((dev_pk, batch_pk, *s) for s in a.samples)
            events.extend((dev_pk, batch_pk, *e) for e in a.events)
        _insert(Sample, ("device_id", "batch_id", *SAMPLE_COLUMNS), samples, json_columns=("wifi_clients_by_radio",))
        _insert(Event, ("device_id", "batch_id", *EVENT_COLUMNS), events, json_columns=("fields", "snapshot"))

    @staticmethod
    def _update_device(dev: Device, a: _Accepted) -> None:
        dev.batches_total += 1
        dev.last_seen_ts = max(dev.last_seen_ts, a.msg.received_ts)
        if a.newest_ts is not None and (dev.last_sample_ts is None or a.newest_ts > dev.last_sample_ts):
            dev.last_sample_ts = a.newest_ts
        ts = a.newest_ts if a.newest_ts is not None else a.sampled_ts
        if dev.state != "online" and (dev.state_ts is None or ts >= dev.state_ts):
            dev.state, dev.state_ts = "online", ts  # it sent data after it last said otherwise
        if dev.last_seq is not None and a.seq < dev.last_seq:
            return  # an older batch (spooled, redelivered): it does not describe the device now
        consent = a.batch.get("consent") or {}
        dev.last_seq = a.seq
        dev.dropped_total = _int(a.batch.get("dropped_total"), 0) or 0
        if "policy_version" in consent:
            dev.policy_version = _text(consent["policy_version"], 64)
        dev.location_enabled = consent.get("location") is not False
        snaps = a.batch["snapshots"]
        info = next((s["device"] for s in reversed(snaps) if isinstance(s.get("device"), dict)), None)
        if info:
            dev.manufacturer = _text(info.get("manufacturer"), 64) or dev.manufacturer
            dev.model = _text(info.get("model"), 64) or dev.model
            dev.hw_type = _text(info.get("hw_type"), 64) or dev.hw_type
            dev.sw_version = _text(info.get("sw_version"), 64) or dev.sw_version
            dev.agent_version = _text(info.get("agent_version"), 64) or dev.agent_version

    def apply_status(self, msg: Message, status: dict[str, Any]) -> str:
        ts, state = status["ts"], status["state"]
        policy = _text(status.get("policy_version"), 64)
        if state == "consent_withdrawn":
            if self.tombstones.get(msg.device_id, -1) >= ts:
                return DUPLICATE  # this withdrawal was applied already (redelivered, retained)
            self.save_devices()
            dev = self.devices.pop(msg.device_id, None)
            self.dirty.discard(msg.device_id)
            erase_device(msg.device_id, username="system", remote_addr="ingest", withdrawn_ts=ts,
                         policy_version=policy or (dev.policy_version if dev else ""), region=self.region)
            self.tombstones[msg.device_id] = ts
            return WITHDRAWN
        if self.tombstones.get(msg.device_id, -1) >= ts:
            return rejected("withdrawn")  # from before the withdrawal (a will, a late retained status)
        dev = self.devices.get(msg.device_id)
        if dev is not None and dev.state_ts is not None and ts < dev.state_ts:
            return STATUS  # stale (a late or retained message): newer state already applied
        dev = self.device(msg.device_id, msg.received_ts)
        dev.state, dev.state_ts = state, ts
        if policy:
            dev.policy_version = policy
        if state == "online":
            dev.last_seen_ts = max(dev.last_seen_ts, msg.received_ts)
        return STATUS

    def save_devices(self) -> None:
        new_ids = {i for i in self.dirty if self.devices[i].pk is None}
        new = [self.devices[i] for i in new_ids]
        if new:
            Device.objects.bulk_create(new)
            if any(d.pk is None for d in new):  # a backend that cannot return ids from a bulk insert
                for d in new:
                    d.pk = Device.objects.only("pk").get(device_id=d.device_id).pk
        old = [self.devices[i] for i in self.dirty - new_ids]
        if old:
            cols = ("state", "state_ts", "last_seen_ts", "last_sample_ts", "last_seq", "batches_total",
                    "dropped_total", "policy_version", "location_enabled", "manufacturer", "model", "hw_type",
                    "sw_version", "agent_version")
            table = connection.ops.quote_name(Device._meta.db_table)
            sets = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in cols)
            with connection.cursor() as cur:
                cur.executemany(f"UPDATE {table} SET {sets} WHERE id = %s",  # noqa: S608 (names are ours)
                                [(*(getattr(d, c) for c in cols), d.pk) for d in old])
        self.dirty.clear()


def _with_json(row: tuple[Any, ...], at: Sequence[int]) -> tuple[Any, ...]:
    """JSON columns as text: SQLite stores it so, PostgreSQL's COPY parses it into jsonb."""
    out = list(row)
    for i in at:
        if out[i] is not None:
            out[i] = _dumps(out[i])
    return tuple(out)


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _insert(model: Any, names: Sequence[str], rows: list[tuple[Any, ...]], json_columns: Sequence[str] = ()) -> None:
    """executemany INSERT: a model instance per row costs more than the row itself at this rate."""
    if not rows:
        return
    json_at = [names.index(c) for c in json_columns]
    if json_at:
        rows = [_with_json(r, json_at) for r in rows]
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(n) for n in names)
    if connection.vendor == "postgresql":
        # COPY: the bulk path PostgreSQL is built for (rows streamed, no per-row statement).
        connection.ensure_connection()
        with connection.connection.cursor() as cur, cur.copy(
                f"COPY {table} ({cols}) FROM STDIN") as copy:  # noqa: S608 (names are ours)
            for r in rows:
                copy.write_row(r)
        return
    marks = ", ".join(["%s"] * len(names))
    with connection.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)  # noqa: S608 (names are ours)


def write_many(messages: Sequence[Message], *, region: str) -> list[str]:
    """Store ``messages`` in one transaction; one outcome per message, in order.

    Decoding happens before the transaction opens (no lock held while the CPU works). Raises
    only for database errors; the caller then acknowledges nothing and tries again.
    """
    outcomes: list[str] = [""] * len(messages)
    checked: list[Any] = []
    for i, m in enumerate(messages):
        if m.leaf == "telemetry":
            checked.append(_check_batch(m, i))
        elif m.leaf == "status":
            checked.append(_check_status(m))
        elif m.leaf == "cmd/result":
            checked.append(_check_result(m))
        else:
            checked.append(rejected("bad_topic"))
    for i, c in enumerate(checked):
        if isinstance(c, str):
            outcomes[i] = c
    if all(isinstance(c, str) for c in checked):
        return outcomes  # nothing to store: no transaction at all
    device_ids = {m.device_id for m, c in zip(messages, checked, strict=True)
                  if not isinstance(c, str) and m.leaf != "cmd/result"}
    with transaction.atomic():
        txn = _Txn(region, device_ids)
        pending: list[_Accepted] = []
        for i, (m, c) in enumerate(zip(messages, checked, strict=True)):
            if isinstance(c, str):
                continue
            if isinstance(c, _Accepted):
                withdrawn_ts = txn.tombstones.get(m.device_id)
                if withdrawn_ts is not None and c.sampled_ts <= withdrawn_ts:
                    outcomes[i] = rejected("withdrawn")  # collected before the owner withdrew
                    continue
                pending.append(c)
            elif m.leaf == "status":
                if c["state"] == "consent_withdrawn":  # order matters: store what came before it
                    txn.store_batches(pending, outcomes)
                    pending = []
                outcomes[i] = txn.apply_status(m, c)
            else:
                outcomes[i] = _store_result(m, c)
        txn.store_batches(pending, outcomes)
        txn.save_devices()
    return outcomes


def write(message: Message, *, region: str) -> str:
    return write_many([message], region=region)[0]


def now_ts() -> int:
    return int(time.time())
