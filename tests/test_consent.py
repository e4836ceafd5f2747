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


# ---------------------------------------------------------------- the watcher

import os  # noqa: E402
import select  # noqa: E402
import time  # noqa: E402

from zte_uxip import consent  # noqa: E402
from zte_uxip.consent import ConsentWatcher, write_toggle  # noqa: E402


def wait_for(w, want, limit_s=1.0):
    """Block as the agent does (select on the watcher, or its poll timeout) until the state is `want`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        fd = w.fileno()
        left = deadline - time.monotonic()
        if fd is not None:
            select.select([fd], [], [], max(0.0, left))
        else:
            time.sleep(min(w.timeout_s(), max(0.0, left)))
        if w.poll() == want:
            return time.monotonic() - (deadline - limit_s)
    raise AssertionError(f"state still {w.state}, wanted {want}")


ON = ConsentState(enabled=True)


@pytest.fixture(params=["inotify", "poll"])
def watcher_mode(request, monkeypatch):
    if request.param == "poll":
        def no_inotify():
            raise OSError(38, "Function not implemented")
        monkeypatch.setattr(consent, "_Inotify", no_inotify)
    return request.param


def test_watcher_sees_rename_replace_write_and_delete_within_1s(tmp_path, watcher_mode):
    path = tmp_path / "enabled"
    w = ConsentWatcher(str(path))
    assert (w.fileno() is not None) == (watcher_mode == "inotify")
    assert w.state.enabled is False
    tmp = tmp_path / "enabled.new"
    tmp.write_text("enabled=1\nlocation=0\npolicy_version=v3\n")
    os.replace(tmp, path)  # the WebUI's way
    assert wait_for(w, ConsentState(True, False, "v3")) < 1.0
    path.write_text("0\n")  # in place
    assert wait_for(w, consent.OPTED_OUT) < 1.0
    path.write_text("1")
    assert wait_for(w, ON) < 1.0
    path.unlink()
    assert wait_for(w, consent.OPTED_OUT) < 1.0
    w.close()


def test_watcher_half_written_file_is_off(tmp_path, watcher_mode):
    path = tmp_path / "enabled"
    path.write_text("1\n")
    w = ConsentWatcher(str(path))
    assert w.state == ON
    with open(path, "w") as fh:  # a writer that died half way through a key=value file
        fh.write("enabled=1\npolicy_vers")
    assert wait_for(w, consent.OPTED_OUT) < 1.0
    w.close()


def test_watcher_directory_created_later(tmp_path, watcher_mode):
    d = tmp_path / "later"
    w = ConsentWatcher(str(d / "enabled"))
    assert w.state.enabled is False and w.timeout_s() == consent.POLL_S
    d.mkdir()
    (d / "enabled").write_text("1")
    assert wait_for(w, ON, 2.0) < 2.0
    w.close()


def test_write_toggle_keeps_location_and_policy_lines(tmp_path):
    path = tmp_path / "enabled"
    path.write_text("enabled=1\nlocation=0\npolicy_version=2024.3\n")
    assert write_toggle(str(path), False).enabled is False
    assert path.read_text() == "enabled=0\nlocation=0\npolicy_version=2024.3\n"
    assert write_toggle(str(path), True) == ConsentState(True, False, "2024.3")
    bare = tmp_path / "bare"
    assert write_toggle(str(bare), True) == ON and bare.read_text() == "1\n"
    assert write_toggle(str(bare), False).enabled is False and bare.read_text() == "0\n"
    assert not list(tmp_path.glob("*.tmp"))
