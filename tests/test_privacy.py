"""The privacy filter: identifiers never in clear, location only with consent."""

from __future__ import annotations

import os
import stat

from zte_uxip import privacy
from zte_uxip.wire import codec

KEY = b"k" * 32
IDENTIFIERS = {"imei": "490154203237518", "imsi": "310260123456789", "iccid": "8901260123456789012",
               "msisdn": "+15555550100"}


def _snapshot():
    return {
        "ts": 1, "uptime_s": 2,
        "cellular": {"plmn": "310260", "cell_id": 27447553, "tac": 11111, "rsrp_dbm": -95, **IDENTIFIERS},
        "device": {"model": "MC801A", "serial": "ZTE1234567", "base_mac": "02:11:22:33:44:55"},
        "wifi": {"radios": [{"iface": "wlan0", "ssid": "MyHomeNet"}]},
        "wan": {"iface": "wwan0", "ipv4": "100.64.1.2"},
        "not_a_field": "x",
    }


def _clear_values():
    s = _snapshot()
    return [*IDENTIFIERS.values(), s["device"]["serial"], s["device"]["base_mac"], "MyHomeNet", "100.64.1.2"]


def test_identifiers_are_pseudonymised_and_never_reach_the_wire_in_clear():
    out = privacy.apply(_snapshot(), privacy.Policy(location=True, key=KEY))
    data = codec.encode_snapshot(out)
    decoded = codec.decode(data)
    for clear in _clear_values():
        assert clear.encode() not in data
        assert clear not in repr(decoded)
    assert decoded["cellular"]["imei"] == privacy.pseudonym(KEY, IDENTIFIERS["imei"]).hex()
    assert decoded["cellular"]["plmn"] == "310260"


def test_without_a_key_identifiers_are_dropped():
    out = privacy.apply(_snapshot(), privacy.Policy(location=True, key=None))
    assert "imei" not in out["cellular"] and "serial" not in out["device"]


def test_location_withdrawn_drops_cell_id_and_tac():
    out = privacy.apply(_snapshot(), privacy.Policy(location=False, key=KEY))
    assert "cell_id" not in out["cellular"] and "tac" not in out["cellular"]
    assert out["cellular"]["rsrp_dbm"] == -95


def test_unknown_fields_are_dropped():
    assert "not_a_field" not in privacy.apply(_snapshot(), privacy.Policy(location=True, key=KEY))


def test_pseudonym_is_keyed_and_stable():
    assert privacy.pseudonym(KEY, "ABC") == privacy.pseudonym(KEY, " abc ")
    assert privacy.pseudonym(KEY, "abc") != privacy.pseudonym(b"x" * 32, "abc")


def test_secret_created_0600_only_when_asked(tmp_path):
    path = str(tmp_path / "secret")
    assert privacy.load_or_create_secret(path, create=False) is None
    assert not os.path.exists(path)
    key = privacy.load_or_create_secret(path, create=True)
    assert key is not None and len(key) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert privacy.load_or_create_secret(path, create=False) == key


def test_device_id_is_not_the_mac():
    did = privacy.device_id_from_mac(KEY, "02:11:22:33:44:55")
    assert "02" not in did[3:5] or "1122" not in did
    assert did.startswith("zx-") and len(did) == 23
