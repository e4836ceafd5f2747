"""Hostile input to the decoder and to `zte-uxip decode`: a clear one-line error, exit 2."""

from __future__ import annotations

import struct

import cbor2
import pytest
from conftest import zte_uxip
from hypothesis import given, settings
from hypothesis import strategies as st

from zte_uxip.wire import codec

GOOD = codec.encode_snapshot({"ts": 1, "uptime_s": 2, "system": {"cpu_pct": 1.5}, "links": [{"name": "lo"}]})

HOSTILE = {
    "empty": b"",
    "truncated": GOOD[:-3],
    "trailing bytes": GOOD + b"\x00",
    "not a map": cbor2.dumps([1, 2, 3]),
    "deep nesting": b"\x81" * 5000 + b"\x00",
    "huge byte string header": b"\x5b" + struct.pack(">Q", 2**62),
    "huge array header": b"\x9b" + struct.pack(">Q", 2**62),
    "huge map header": b"\xbb" + struct.pack(">Q", 2**62),
    "invalid utf-8": b"\xa3\x00\x01\x01\x01\x02\x62\xff\xfe",
    "wrong type for uint": cbor2.dumps({0: 1, 1: 1, 2: "yesterday"}),
    "negative uptime": cbor2.dumps({0: 1, 1: 1, 3: -5}),
    "float where int": cbor2.dumps({0: 1, 1: 1, 3: 1.5}),
    "bool where int": cbor2.dumps({0: 1, 1: 1, 3: True}),
    "unknown key": cbor2.dumps({0: 1, 1: 1, 999: 1}),
    "string key": cbor2.dumps({0: 1, 1: 1, "ts": 1}),
    "unknown kind": cbor2.dumps({0: 1, 1: 42}),
    "no version": cbor2.dumps({1: 1, 2: 3}),
    "future version": cbor2.dumps({0: 99, 1: 1}),
    "null value": cbor2.dumps({0: 1, 1: 1, 2: None}),
    "tagged datetime": b"\xa3\x00\x01\x01\x01\x02\xc1\x1a\x00\x00\x00\x01",
    "bignum": cbor2.dumps({0: 1, 1: 1, 2: 2**70}),
    "list of scalars for links": cbor2.dumps({0: 1, 1: 1, 5: [1, 2]}),
    "pseudonym wrong size": cbor2.dumps({0: 1, 1: 1, 9: {5: b"\x01\x02"}}),
    "pseudonym as clear text": cbor2.dumps({0: 1, 1: 1, 8: {14: "490154203237518"}}),
    "indefinite length": b"\xbf\x00\x01\x01\x01\xff",
    "too long string": cbor2.dumps({0: 1, 1: 1, 5: [{1: "x" * 10000}]}),
    "batch diff of wrong type": cbor2.dumps({0: 1, 1: 2, 2: "d", 3: 1, 5: [{2: 5}, [1]]}),
    "batch delta not int": cbor2.dumps({0: 1, 1: 2, 2: "d", 3: 1, 5: [{2: 5}, {2: "x"}]}),
    "batch delta below zero": cbor2.dumps({0: 1, 1: 2, 2: "d", 3: 1, 5: [{2: 5}, {2: -10}]}),
    "batch without device": cbor2.dumps({0: 1, 1: 2, 3: 1}),
    "status with bad state": cbor2.dumps({0: 1, 1: 3, 2: "rebooting", 3: 1}),
    "oversized": b"\x5a" + struct.pack(">I", 2**20) + b"\x00" * 2**20,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_decoder_rejects(name):
    with pytest.raises(codec.DecodeError) as exc:
        codec.decode(HOSTILE[name])
    assert "\n" not in str(exc.value) and str(exc.value)


@pytest.mark.parametrize("name", ["truncated", "deep nesting", "huge byte string header", "invalid utf-8",
                                  "wrong type for uint", "trailing bytes", "not a map", "empty"])
def test_decode_command_exit_2_one_line(name, tmp_path):
    f = tmp_path / "msg.cbor"
    f.write_bytes(HOSTILE[name])
    for args, stdin in (([str(f)], None), (["-"], HOSTILE[name])):
        r = zte_uxip("decode", *args, input=stdin)
        assert r.returncode == 2, r
        err = r.stderr.decode()
        assert err.count("\n") == 1 and err.startswith("zte-uxip: decode:"), err
        assert "Traceback" not in err
        assert r.stdout == b""


def test_decode_command_prints_json_for_a_good_message():
    r = zte_uxip("decode", "-", input=GOOD)
    assert r.returncode == 0
    assert b'"cpu_pct": 1.5' in r.stdout


def test_decode_missing_file_is_one_line():
    r = zte_uxip("decode", "/nonexistent/x.cbor")
    assert r.returncode == 2 and r.stderr.decode().count("\n") == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_escape_as_other_errors(data):
    try:
        codec.decode(data)
    except codec.DecodeError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(GOOD) - 1), st.integers(0, 255))
def test_single_byte_corruption_is_decoded_or_rejected(pos, value):
    data = bytearray(GOOD)
    data[pos] = value
    try:
        codec.decode(bytes(data))
    except codec.DecodeError:
        pass
