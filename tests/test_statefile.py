"""State files: atomic writes, and anything corrupt or foreign is ignored with a log line."""

from __future__ import annotations

import os

import pytest

from zte_uxip.statefile import MAX_STATE_BYTES, read_json, write_json


def test_round_trip_and_no_temporary_left(tmp_path):
    p = str(tmp_path / "d" / "s.json")
    write_json(p, {"a": 1})
    assert read_json(p) == {"a": 1} and os.listdir(tmp_path / "d") == ["s.json"]
    assert oct(os.stat(p).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("content", [b"", b"{", b"[1, 2]", b"\xff\xfe\x00garbage", b'"str"',
                                     b"{" + b'"a":1,' * (MAX_STATE_BYTES // 6) + b'"b":2}'])
def test_corrupt_state_is_ignored(tmp_path, content, caplog):
    p = tmp_path / "s.json"
    p.write_bytes(content)
    assert read_json(str(p)) is None
    assert len(caplog.records) == 1 and "\n" not in caplog.records[0].getMessage()


def test_missing_is_silent(tmp_path, caplog):
    assert read_json(str(tmp_path / "nope.json")) is None and caplog.records == []
