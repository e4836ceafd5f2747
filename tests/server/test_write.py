"""The write path (decode -> rows) on batches made with the agent's codec: every fact mapped,
exactly once per (device, seq), hostile payloads rejected by reason, withdrawal erases and late
batches cannot resurrect, command results upserted. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import cbor2
import pytest
from batches import T0, batch, encoded, wan_down_event

from zte_uxip.server.commands.models import Command
from zte_uxip.server.store.models import AuditEntry, Batch, Device, Event, Sample, Tombstone
from zte_uxip.server.store.write import Message, write, write_many
from zte_uxip.wire import codec, schema

NOW = T0 + 100_000


def tele(device_id: str, payload: bytes, now: int = NOW) -> Message:
    return Message(device_id, "telemetry", payload, now)


def status(device_id: str, state: str, ts: int, policy: str = "2.1") -> Message:
    return Message(device_id, "status", codec.encode_status(state, ts, policy), NOW)


def w(*msgs: Message) -> list[str]:
    return write_many(list(msgs), region="eu")


def test_every_fact_of_a_batch_is_mapped(db):
    ev = wan_down_event(T0 + 60 * 3 + 25)
    b = batch("zx-1", 3, policy="2.1", dropped_total=4, events=[ev])
    b["snapshots"][2]["events"] = [{"type": "reboot", "ts": T0 + 60 * 3 + 20, "previous_uptime_s": 999}]
    data = codec.encode_batch(b)

    assert w(tele("zx-1", data)) == ["stored"]

    d = Device.objects.get(device_id="zx-1")
    assert (d.region, d.state, d.last_seq, d.batches_total, d.dropped_total) == ("eu", "online", 3, 1, 4)
    assert (d.first_seen_ts, d.last_seen_ts, d.last_sample_ts) == (NOW, NOW, T0 + 180 + 50)
    assert (d.policy_version, d.location_enabled) == ("2.1", True)
    assert (d.manufacturer, d.model, d.hw_type, d.sw_version, d.agent_version) == (
        "ZTE", "MF286D", "router", "BD_MF286DV1.0.0B05", "0.1.0")
    bt = Batch.objects.get(device=d)
    assert (bt.seq, bt.received_ts, bt.sampled_ts, bt.snapshots) == (3, NOW, T0 + 180, 6)
    assert (bt.consent_enabled, bt.consent_location, bt.policy_version, bt.dropped_total, bt.region) == (
        True, True, "2.1", 4, "eu")
    assert bytes(bt.cbor) == data  # the owner's copy: exactly what the device sent

    samples = list(Sample.objects.filter(device=d).order_by("ts"))
    assert [s.ts for s in samples] == [T0 + 180 + 10 * i for i in range(6)]
    s = samples[1]
    snap = b["snapshots"][1]
    wwan = next(li for li in snap["links"] if li["name"] == "wwan0")
    assert s.batch_id == bt.pk and s.uptime_s == snap["uptime_s"]
    assert (s.cpu_pct, s.mem_used_pct, s.load1) == (4.5, 41.2, 0.31)
    assert (s.wan_iface, s.wan_up, s.disconnects_total) == ("wwan0", True, 1)
    assert (s.rx_bps, s.tx_bps) == (wwan["rx_bps"], wwan["tx_bps"])  # the WAN link's rates, not another's
    assert (s.rx_bps_peak, s.tx_bps_peak, s.usage_cycle_bytes) == (900_000, 210_000, 1_234_567_890 + 190_000)
    assert (s.rat, s.plmn, s.registration, s.roaming, s.attached) == ("lte", "310260", "home", False, True)
    assert (s.rssi_dbm, s.rsrp_dbm, s.rsrq_db, s.sinr_db) == (-69, -96, -10.5, 12.0)
    assert (s.cell_id, s.tac) == (0x01A2D101, 0x2B67)
    assert (s.wifi_clients, s.wifi_clients_by_radio) == (4, {"wlan0": 3, "wlan1": 1})

    events = {e.kind: e for e in Event.objects.filter(device=d)}
    assert set(events) == {"wan_down", "reboot"}
    down = events["wan_down"]
    assert (down.ts, down.duration_s, down.cause, down.batch_id) == (ev["ts"], 42, "carrier_lost", bt.pk)
    assert down.fields == {"iface": "wwan0"}
    # The field data at the drop, without location-class fields (those live only in Sample columns).
    assert down.snapshot == {"ts": ev["ts"], "cellular": {"rat": "lte", "rsrp_dbm": -121},
                             "wan": {"iface": "wwan0", "up": False}}
    assert events["reboot"].fields == {"previous_uptime_s": 999}


def test_location_withdrawn_leaves_location_columns_null(db):
    data = codec.encode_batch(batch("zx-2", 1, location=False))
    assert w(tele("zx-2", data)) == ["stored"]
    assert not Device.objects.get(device_id="zx-2").location_enabled
    assert set(Sample.objects.values_list("cell_id", "tac")) == {(None, None)}


def test_location_sent_against_the_batch_consent_is_not_stored(db):
    b = batch("zx-3", 1)
    b["consent"]["location"] = False  # cell_id present although the batch says location is off
    assert w(tele("zx-3", codec.encode_batch(b))) == ["stored"]
    assert set(Sample.objects.values_list("cell_id", "tac")) == {(None, None)}


def test_duplicate_is_counted_not_stored(db):
    data = encoded("zx-d", 5)
    assert w(tele("zx-d", data), tele("zx-d", data)) == ["stored", "duplicate"]
    assert w(tele("zx-d", data)) == ["duplicate"]
    assert Batch.objects.count() == 1 and Sample.objects.count() == 6
    assert Device.objects.get(device_id="zx-d").batches_total == 1


def test_older_batch_is_stored_but_does_not_rewind_the_device(db):
    assert w(tele("zx-o", encoded("zx-o", 9, policy="3"))) == ["stored"]
    assert w(tele("zx-o", encoded("zx-o", 4, policy="1"))) == ["stored"]  # from the spool, late
    d = Device.objects.get(device_id="zx-o")
    assert (d.last_seq, d.policy_version, d.batches_total) == (9, "3", 2)


@pytest.mark.parametrize("payload, reason", [
    (encoded("zx-h", 1)[:-7], "undecodable"),  # truncated
    (b"\xff\x00garbage", "undecodable"),
    (b"", "undecodable"),
    (cbor2.dumps([1, 2, 3]), "undecodable"),  # not a map
    (cbor2.dumps({0: 1, 1: 2, 2: "zx-h"}), "undecodable"),  # a batch without its seq
    (b"\xa0" + b"\x00" * (schema.MAX_MESSAGE_BYTES + 1), "oversized"),
    (codec.encode_status("online", T0), "not_a_batch"),
    (codec.encode_snapshot({"ts": T0}), "not_a_batch"),
    (encoded("zx-other", 1), "device_mismatch"),  # names another device than the topic's
])
def test_hostile_telemetry_is_rejected_by_reason(db, payload, reason):
    good = encoded("zx-h", 2)
    out = w(tele("zx-h", payload), tele("zx-h", good))
    assert out == [f"rejected:{reason}", "stored"]  # one bad message does not sink the others
    assert list(Batch.objects.values_list("seq", flat=True)) == [2]


def test_batch_claiming_consent_off_is_rejected(db):
    b = batch("zx-c", 1)
    b["consent"]["enabled"] = False
    assert w(tele("zx-c", codec.encode_batch(b))) == ["rejected:consent_off"]
    assert not Device.objects.exists()


def test_hostile_values_do_not_break_the_transaction(db):
    b = batch("zx-v", 1)
    s = b["snapshots"][0]
    s["cellular"].update(rsrp_dbm=-(2**62), rat="x" * 200, plmn="31\x00026")
    s["wan"]["iface"] = "\x00" * 3 + "wwan0"
    b["events"] = [{"type": "wan_down", "ts": 2**64 - 1, "cause": "c" * 250, "iface": "bad\x00name"}]
    out = w(tele("zx-v", codec.encode_batch(b)), tele("zx-v", encoded("zx-v", 2)))
    assert out == ["stored", "stored"]
    first = Sample.objects.filter(batch__seq=1).order_by("ts").first()
    assert first.rsrp_dbm is None and first.rat == "x" * 16 and first.plmn == "31026"
    e = Event.objects.get()
    assert e.ts == Batch.objects.get(seq=1).sampled_ts and len(e.cause) == 32 and e.fields == {"iface": "badname"}


def test_two_devices_and_many_batches_in_one_call(db):
    msgs = [tele(f"zx-{n}", encoded(f"zx-{n}", seq)) for seq in range(1, 6) for n in range(3)]
    assert w(*msgs) == ["stored"] * 15
    assert Device.objects.count() == 3
    assert set(Device.objects.values_list("batches_total", "last_seq")) == {(5, 5)}
    assert Sample.objects.count() == 90


def test_status_updates_state_and_ignores_stale(db):
    assert w(tele("zx-s", encoded("zx-s", 1))) == ["stored"]
    assert w(status("zx-s", "offline", T0 + 500, "2.2")) == ["status"]
    d = Device.objects.get(device_id="zx-s")
    assert (d.state, d.state_ts, d.policy_version) == ("offline", T0 + 500, "2.2")
    assert w(status("zx-s", "online", T0 + 400)) == ["status"]  # older than what we have: a late retained one
    assert Device.objects.get(device_id="zx-s").state == "offline"
    assert w(status("zx-s", "online", T0 + 600)) == ["status"]
    assert Device.objects.get(device_id="zx-s").state == "online"


def test_status_for_an_unknown_device_creates_it(db):
    assert w(status("zx-new", "online", T0)) == ["status"]
    d = Device.objects.get(device_id="zx-new")
    assert (d.state, d.batches_total, d.first_seen_ts) == ("online", 0, NOW)


def test_hostile_status_is_rejected(db):
    assert w(Message("zx-s", "status", b"\x01", NOW)) == ["rejected:undecodable"]
    assert w(Message("zx-s", "status", encoded("zx-s", 1), NOW)) == ["rejected:not_a_status"]
    assert not Device.objects.exists()


def test_withdrawal_erases_and_late_batches_do_not_resurrect(db):
    Command.objects.create(command_id="ab" * 16, device_id="zx-w", verb="ping")
    assert w(*(tele("zx-w", encoded("zx-w", s)) for s in (1, 2, 3))) == ["stored"] * 3
    withdrawn_at = T0 + 60 * 3 + 100  # after batch 3's data, before batch 4's would be
    late = encoded("zx-w", 2)  # a redelivery of data sent before the withdrawal
    spooled = encoded("zx-w", 4, ts0=withdrawn_at - 30)  # higher seq, but collected before it
    out = w(tele("zx-w", encoded("zx-w", 3)), status("zx-w", "consent_withdrawn", withdrawn_at, "2.1"),
            tele("zx-w", late), tele("zx-w", spooled))
    assert out == ["duplicate", "withdrawn", "rejected:withdrawn", "rejected:withdrawn"]
    assert not Device.objects.exists() and not Batch.objects.exists() and not Sample.objects.exists()
    assert not Command.objects.exists()
    t = Tombstone.objects.get(device_id="zx-w")
    assert (t.withdrawn_ts, t.policy_version, t.region) == (withdrawn_at, "2.1", "eu")
    assert AuditEntry.objects.get(device_id="zx-w").action == "withdrawn"

    # Later, in another transaction: still refused; the retained withdrawal redelivered erases nothing new.
    assert w(tele("zx-w", encoded("zx-w", 1))) == ["rejected:withdrawn"]
    assert w(status("zx-w", "consent_withdrawn", withdrawn_at)) == ["duplicate"]
    assert AuditEntry.objects.filter(device_id="zx-w").count() == 1

    # Nor do a status or a command answer from before it bring the device back.
    assert w(status("zx-w", "offline", withdrawn_at - 5)) == ["rejected:withdrawn"]
    late_answer = cbor2.dumps({"id": bytes(range(16)), "status": "ok", "result": {}})
    assert w(Message("zx-w", "cmd/result", late_answer, NOW)) == ["rejected:withdrawn"]
    assert not Device.objects.exists() and not Command.objects.exists()

    # The owner opts in again: data collected after the withdrawal is stored as new.
    again = encoded("zx-w", 7, ts0=withdrawn_at + 60)
    assert w(tele("zx-w", again)) == ["stored"]
    assert Device.objects.get(device_id="zx-w").batches_total == 1


def test_withdrawal_of_a_device_never_seen_leaves_a_tombstone(db):
    assert w(status("zx-never", "consent_withdrawn", T0, "2")) == ["withdrawn"]
    assert Tombstone.objects.filter(device_id="zx-never").exists()


def result(cid: bytes, status_: str, **kw) -> bytes:
    return cbor2.dumps({"id": cid, "status": status_, **kw})


def test_command_result_upserts_by_id(db):
    cid = bytes(range(16))
    Command.objects.create(command_id=cid.hex(), device_id="zx-c", verb="ping", args={"host": "example.net"})
    out = w(Message("zx-c", "cmd/result", result(cid, "ok", result={"loss_pct": 0, "rtt_ms": [1.5, 2.0],
                                                                    "raw": b"\x01\x02"}), NOW))
    assert out == ["command"]
    c = Command.objects.get(command_id=cid.hex())
    assert (c.verb, c.status, c.answered_ts, c.reason) == ("ping", "ok", NOW, "")
    assert c.result == {"loss_pct": 0, "rtt_ms": [1.5, 2.0], "raw": "0102"}

    unknown = bytes(16)
    assert w(Message("zx-c", "cmd/result", result(unknown, "refused", reason="expired"), NOW)) == ["command"]
    c = Command.objects.get(command_id=unknown.hex())
    assert (c.verb, c.device_id, c.status, c.reason, c.result) == ("", "zx-c", "refused", "expired", None)

    # Another device cannot answer zx-c's command.
    assert w(Message("zx-x", "cmd/result", result(cid, "failed", reason="x"), NOW)) == ["rejected:device_mismatch"]
    assert Command.objects.get(command_id=cid.hex()).status == "ok"


@pytest.mark.parametrize("payload", [
    cbor2.dumps({"id": b"short", "status": "ok"}),
    cbor2.dumps({"id": bytes(16), "status": "maybe"}),
    cbor2.dumps([bytes(16), "ok"]),
    cbor2.dumps({"id": bytes(16), "status": "ok", "result": {"t": cbor2.CBORTag(999, 1)}}),
    b"\x9f" * 40,  # deep nesting / indefinite
    b"",
])
def test_hostile_command_results_are_rejected(db, payload):
    out = w(Message("zx-c", "cmd/result", payload, NOW))
    assert out[0].startswith("rejected:")
    assert not Command.objects.exists()


def test_single_write_helper(db):
    assert write(tele("zx-1", encoded("zx-1", 1)), region="eu") == "stored"


def test_summarised_reports_get_their_wan_rate_from_the_counters(db):
    """The agent's summarised reports carry counters and peaks but no instantaneous rate: the
    throughput chart still gets the mean rate between consecutive snapshots of a batch."""
    b = batch("zx-rate", 1, snapshots=3)
    for s in b["snapshots"]:
        for link in s["links"]:
            link.pop("rx_bps"), link.pop("tx_bps")
    b["snapshots"][2]["links"][3]["rx_bytes_total"] = 0  # wwan0's counter reset (driver reload)
    assert w(tele("zx-rate", codec.encode_batch(b))) == ["stored"]
    rates = [(s.rx_bps, s.tx_bps) for s in Sample.objects.filter(device__device_id="zx-rate").order_by("ts")]
    # wwan0 moved 150,000 B down and 40,000 B up per 10 s sample: 120,000 and 32,000 bit/s
    assert rates == [(None, None), (120_000, 32_000), (None, 32_000)]
