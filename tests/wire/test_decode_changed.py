"""The batch decoder converts only what each snapshot's diff changed (codec._from_wire_changed);
it must give exactly what converting every full snapshot gives — same values, same key order,
independent objects — and refuse exactly the same hostile diffs."""

from __future__ import annotations

import copy
import json

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import record

from zte_uxip.wire import codec
from zte_uxip.wire.schema import BATCH, SNAPSHOT

SNAPS = next(f for f in BATCH if f.name == "snapshots")
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference(data: bytes) -> list[dict]:
    """The straightforward decode: every snapshot rebuilt in full, then converted in full."""
    raw = cbor2.loads(data).get(SNAPS.key) or []
    out, prev = [], None
    for i, item in enumerate(raw):
        full = item if prev is None else codec.apply_diff(SNAPS.children, prev, item, f"snapshots[{i}].")
        out.append(codec.from_wire(SNAPS.children, full, f"snapshots[{i}]."))
        prev = full
    return out


def evolve(draw, prev: dict, new: dict) -> dict:
    """Snapshot after ``prev``: some keys from ``new`` (recursively), some removed, the rest kept."""
    out = copy.deepcopy(prev)
    for k, v in new.items():
        choice = draw(st.sampled_from(["keep", "take", "drop", "merge"]))
        if choice == "take":
            out[k] = copy.deepcopy(v)
        elif choice == "drop":
            out.pop(k, None)
        elif choice == "merge" and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = evolve(draw, out[k], v)
    return out


@FAST
@given(st.data())
def test_same_as_converting_every_snapshot_in_full(data):
    snaps = [data.draw(record(SNAPSHOT))]
    for _ in range(data.draw(st.integers(1, 5))):
        snaps.append(evolve(data.draw, snaps[-1], data.draw(record(SNAPSHOT))))
    encoded = codec.encode_batch({"device_id": "d", "seq": 1, "snapshots": snaps})
    got = codec.decode(encoded)["snapshots"]
    want = reference(encoded)
    assert got == want
    assert [json.dumps(s) for s in got] == [json.dumps(s) for s in want]  # key order too


def test_snapshots_share_no_objects():
    from batches import batch

    out = codec.decode(codec.encode_batch(batch("d", 1)))["snapshots"]
    ids = [{id(o) for o in _containers(s)} for s in out]
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            assert not ids[i] & ids[j]
    out[0]["wifi"]["radios"][0]["clients"] = 99
    assert out[1]["wifi"]["radios"][0]["clients"] == 3


def _containers(v):
    if isinstance(v, dict | list):
        yield v
        for x in v.values() if isinstance(v, dict) else v:
            yield from _containers(x)


@FAST
@given(st.data())
def test_hostile_diffs_refused_alike(data):
    from batches import batch

    m = cbor2.loads(codec.encode_batch(batch("d", 1, snapshots=3)))
    diff = m[SNAPS.key][data.draw(st.integers(1, 2))]
    # Put a hostile value somewhere in the diff (or in a nested map or list item of it).
    target = diff
    while True:
        key = data.draw(st.sampled_from(sorted(target))) if target else None
        if key is None or not isinstance(target[key], dict | list) or data.draw(st.booleans()):
            break
        nxt = target[key]
        if isinstance(nxt, list):
            if not nxt or not isinstance(nxt[0], dict):
                break
            nxt = nxt[data.draw(st.integers(0, len(nxt) - 1))]
        target = nxt
    bad = data.draw(st.sampled_from(["x", -(2**70), 2**70, 1.5, True, b"\x00", [1], {999: 1}, {"k": 1}, -5]))
    target[data.draw(st.sampled_from([key, 999, "s"])) if key is not None else 999] = bad
    hostile = cbor2.dumps(m)
    try:
        want = reference(hostile)
    except codec.DecodeError:
        with pytest.raises(codec.DecodeError):
            codec.decode(hostile)
        return
    assert codec.decode(hostile)["snapshots"] == want
