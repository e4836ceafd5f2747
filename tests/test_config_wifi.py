"""The [wifi] config section: defaults, and one clear line naming the key for bad values."""

from __future__ import annotations

import pytest

from zte_uxip.config import from_dict
from zte_uxip.errors import ConfigError


@pytest.fixture
def broker(tmp_path):
    for n in ("ca", "cert", "key"):
        (tmp_path / n).write_text("x")
    return {"host": "h", "ca_file": str(tmp_path / "ca"), "cert_file": str(tmp_path / "cert"),
            "key_file": str(tmp_path / "key")}


def test_defaults(broker):
    w = from_dict({"broker": broker}).wifi
    assert w.short_range_dbm == -75 and w.uci_file == "/etc/config/wireless"
    assert "/var/run/hostapd-*.conf" in w.hostapd_conf and w.kmsg_file == "/dev/kmsg"


def test_values_are_taken(broker):
    w = from_dict({"broker": broker, "wifi": {"short_range_dbm": -80, "hostapd_conf": ["/tmp/h.conf"],
                                              "kmsg_file": ""}}).wifi
    assert (w.short_range_dbm, w.hostapd_conf, w.kmsg_file) == (-80, ("/tmp/h.conf",), "")


@pytest.mark.parametrize(("table", "message"), [
    ({"short_range_dbm": -101}, "wifi.short_range_dbm: must be -100..0"),
    ({"short_range_dbm": 5}, "wifi.short_range_dbm: must be -100..0"),
    ({"short_range_dbm": "-70"}, "wifi.short_range_dbm: expected integer, got str"),
    ({"uci_file": "etc/config/wireless"}, "wifi.uci_file: 'etc/config/wireless' must be an absolute path"),
    ({"hostapd_conf": ["/var/run/../../etc/shadow"]}, "wifi.hostapd_conf: "),
    ({"hostapd_conf": "/etc/hostapd/hostapd.conf"}, "wifi.hostapd_conf: expected list of string"),
    ({"kmsg_file": "/dev/\0kmsg"}, "wifi.kmsg_file: "),
    ({"floor": -70}, "wifi.floor: unknown key"),
])
def test_bad_values_are_refused_naming_the_key(broker, table, message):
    with pytest.raises(ConfigError) as e:
        from_dict({"broker": broker, "wifi": table})
    assert str(e.value).startswith(message) and "\n" not in str(e.value)
