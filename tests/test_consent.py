"""Toggle-file semantics (DESIGN.md): only a clear yes is consent."""

import pytest

from zte_uxip.consent import ConsentState, parse_toggle, read_toggle


@pytest.mark.parametrize("text", ["1", "on", "true", "enabled", "1\n", " ON \n", "True"])
def test_opted_in_words(text):
    assert parse_toggle(text) == ConsentState(enabled=True, location=True, policy_version=None)


@pytest.mark.parametrize("text", ["0", "", "off", "2", "enab", "1 1", "yes please", "enabled=", "enabled=1\nlocation=",
                                  "enabled=1\nenabled=0", "enabled=1\nfoo=bar", "location=1", "enabled=maybe",
                                  "enabled=1\npolicy_version=../../x", "\x00\x01"])
def test_everything_else_is_opted_out(text):
    assert parse_toggle(text).enabled is False


def test_key_value_form():
    s = parse_toggle("enabled=1\nlocation=0\npolicy_version=2024.3\n")
    assert s == ConsentState(enabled=True, location=False, policy_version="2024.3")


def test_location_defaults_on():
    assert parse_toggle("enabled=on\n").location is True


def test_absent_unreadable_or_oversized_file(tmp_path):
    assert read_toggle(str(tmp_path / "absent")).enabled is False
    (tmp_path / "dir").mkdir()
    assert read_toggle(str(tmp_path / "dir")).enabled is False
    big = tmp_path / "big"
    big.write_text("1" + " " * 5000)
    assert read_toggle(str(big)).enabled is False
    bad = tmp_path / "bad"
    bad.write_bytes(b"\xff\xfe1")
    assert read_toggle(str(bad)).enabled is False
    good = tmp_path / "good"
    good.write_text("1\n")
    assert read_toggle(str(good)).enabled is True
