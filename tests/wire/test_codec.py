"""Round trips for every field (hypothesis), batch deltas, sizes and CDDL conformance."""

from __future__ import annotations

import copy
from pathlib import Path

import cbor2
import pycddl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import record, wire_equal_json

from zte_uxip.wire import codec
from zte_uxip.wire.cddl import generate
from zte_uxip.wire.schema import BATCH, SNAPSHOT, STATUS_STATES

ROOT = Path(__file__).resolve().parents[2]
CDDL = pycddl.Schema((ROOT / "docs" / "schema.cddl").read_text())

snapshots = record(SNAPSHOT)
batch_body = record(tuple(f for f in BATCH if f.name != "snapshots"))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(snapshots)
def test_snapshot_round_trip_every_field(snap):
    data = codec.encode_snapshot(snap)
    CDDL.validate_cbor(data)
    out = codec.decode(data)
    assert out.pop("schema") == 1
    assert out == wire_equal_json(snap)


@FAST
@given(batch_body, st.lists(snapshots, max_size=6))
def test_batch_round_trip_with_deltas(body, snaps):
    body = {**body, "device_id": "zx-abc", "seq": 7}
    data = codec.encode_batch({**body, "snapshots": snaps})
    CDDL.validate_cbor(data)
    out = codec.decode(data)
    assert out["snapshots"] == wire_equal_json(snaps)
    assert out["device_id"] == "zx-abc" and out["seq"] == 7


def _typical_snapshot(i: int) -> dict:
    links = []
    for n, name in enumerate(("lo", "eth0", "br-lan", "wwan0", "wlan0")):
        links.append({"name": name, "oper": "up", "admin_up": True, "carrier": True, "mtu": 1500,
                      "carrier_changes_total": 2, "rx_bytes_total": 10_000_000 * n + 150_000 * i,
                      "tx_bytes_total": 5_000_000 * n + 40_000 * i, "rx_packets_total": 90_000 * n + 120 * i,
                      "tx_packets_total": 70_000 * n + 100 * i, "rx_errors_total": 0, "tx_errors_total": 0,
                      "rx_dropped_total": 3, "tx_dropped_total": 0, "rx_bps": 120_000 + i, "tx_bps": 32_000})
    return {
        "ts": 1_790_000_000 + 10 * i, "uptime_s": 86_400 + 10 * i,
        "system": {"cpu_pct": 3.5 + i, "mem_used_pct": 41.2, "load1": 0.31, "mem_total_kib": 126_000, "procs": 61},
        "links": links,
        "wan": {"iface": "wwan0", "up": True, "disconnects_total": 1, "disconnects_today": 0, "kind": "cellular",
                "usage_cycle_bytes": 1_234_567_890 + 190_000 * i},
        "wifi": {"enabled": True, "radios": [
            {"iface": "wlan0", "band": "2.4", "freq_mhz": 2437, "channel": 6, "clients": 3, "txpower_dbm": 20.0,
             "width_mhz": 20, "mode": "ap", "signal_dbm_median": -55},
            {"iface": "wlan1", "band": "5", "freq_mhz": 5180, "channel": 36, "clients": 1, "txpower_dbm": 23.0,
             "width_mhz": 80, "mode": "ap", "signal_dbm_median": -61}]},
        "cellular": {"plmn": "310260", "mcc": "310", "mnc": "260", "rat": "lte", "cell_id": 0x01A2D101,
                     "tac": 0x2B67, "registration": "home", "roaming": False, "rssi_dbm": -69,
                     "rsrp_dbm": -95 - (i % 2), "rsrq_db": -10.5, "sinr_db": 12.0, "apn": "internet"},
    }


def test_single_snapshot_fits_600_bytes():
    data = codec.encode_snapshot(_typical_snapshot(0))
    assert len(data) <= 600, len(data)


def test_batch_of_six_costs_under_300_bytes_per_snapshot():
    snaps = [_typical_snapshot(i) for i in range(6)]
    data = codec.encode_batch({"device_id": "zx-abc", "seq": 1, "consent": {"enabled": True, "location": True},
                               "snapshots": snaps, "dropped_total": 0})
    assert len(data) / 6 <= 300, len(data)
    assert codec.decode(data)["snapshots"] == snaps


def test_removed_field_inside_a_batch_stays_removed():
    a = _typical_snapshot(0)
    b = copy.deepcopy(a)
    del b["cellular"]["sinr_db"]
    del b["wifi"]
    out = codec.decode(codec.encode_batch({"device_id": "d", "seq": 1, "snapshots": [a, b]}))
    assert "sinr_db" not in out["snapshots"][1]["cellular"]
    assert "wifi" not in out["snapshots"][1]


def test_counter_reset_is_carried_as_negative_delta():
    a, b = _typical_snapshot(5), _typical_snapshot(0)  # counters went down: interface re-created
    out = codec.decode(codec.encode_batch({"device_id": "d", "seq": 1, "snapshots": [a, b]}))
    assert out["snapshots"][1]["links"][1]["rx_bytes_total"] == b["links"][1]["rx_bytes_total"]


@pytest.mark.parametrize("state", STATUS_STATES)
def test_status_round_trip(state):
    data = codec.encode_status(state, 1_790_000_000, "2.1")
    CDDL.validate_cbor(data)
    assert codec.decode(data) == {"schema": 1, "state": state, "ts": 1_790_000_000, "policy_version": "2.1"}


def test_identifier_in_clear_cannot_be_encoded():
    with pytest.raises(codec.EncodeError, match="pseudonym"):
        codec.encode_snapshot({"cellular": {"imei": "490154203237518"}})


def test_unknown_field_cannot_be_encoded():
    with pytest.raises(codec.EncodeError, match="not in the schema"):
        codec.encode_snapshot({"cellular": {"sms_text": "hello"}})


def test_messages_are_plain_cbor_with_integer_keys():
    data = codec.encode_batch({"device_id": "d", "seq": 1, "snapshots": [_typical_snapshot(0), _typical_snapshot(1)]})
    generic = cbor2.loads(data)
    assert all(isinstance(k, int) for k in generic)
    assert b"rx_bytes_total" not in data


def test_docs_cddl_is_generated_from_the_registry():
    assert (ROOT / "docs" / "schema.cddl").read_text() == generate(), "run `make cddl`"


def test_cddl_rejects_a_wrong_type():
    bad = cbor2.dumps({0: 1, 1: 1, 3: "not a number"})
    with pytest.raises(pycddl.ValidationError):
        CDDL.validate_cbor(bad)
