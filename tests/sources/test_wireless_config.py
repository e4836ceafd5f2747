"""Wi-Fi settings from OpenWrt UCI and hostapd.conf: what the programme asks for, the passphrase
verdict without the passphrase, and hostile files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zte_uxip.errors import SourceError
from zte_uxip.sources import wireless_config as wc

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "nl80211-hwsim"

# /etc/config/wireless as OpenWrt 23.05 writes it for a dual-band router, plus a guest SSID
# and a vendor band-steering option.
UCI = """
config wifi-device 'radio0'
\toption type 'mac80211'
\toption path 'platform/soc/18000000.wifi'
\toption channel '6'
\toption band '2g'
\toption htmode 'HE20'
\toption country 'DE'
\toption cell_density '0'
\toption band_steering '1'

config wifi-iface 'default_radio0'
\toption device 'radio0'
\toption network 'lan'
\toption mode 'ap'
\toption ssid 'HomeNet'
\toption encryption 'psk2+ccmp'
\toption key 'correct horse battery'

config wifi-device 'radio1'
\toption type 'mac80211'
\toption channel '36'
\toption band '5g'
\toption htmode 'HE80'
\toption disabled '1'

config wifi-iface 'default_radio1'
\toption device 'radio1'
\toption network 'lan'
\toption mode 'ap'
\toption ssid "HomeNet-5G"
\toption encryption sae-mixed
\toption key 'abc123'

config wifi-iface 'guest'
\toption device 'radio0'
\toption network 'guest'
\toption mode 'ap'
\toption ifname 'wlan0-1'
\toption ssid 'Guest'
\toption encryption 'psk2'
\toption key 'qwertyuiop'
\tlist maclist '00:11:22:33:44:55'
"""


def secrets_in(obj) -> list[str]:
    """Every string reachable from a settings object (to prove no passphrase is kept)."""
    out: list[str] = []
    if isinstance(obj, list | tuple):  # the settings are NamedTuples: their values, in order
        for v in obj:
            out += secrets_in(v)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += [str(k), *secrets_in(v)]
    elif isinstance(obj, str):
        out.append(obj)
    return out


def test_uci_router_settings():
    s = wc.settings_from_uci(wc.parse_uci(UCI))
    assert (s.source, s.enabled, s.band_steering, s.guest_enabled, s.country) == ("uci", True, True, True, "DE")
    by_ssid = {i.ssid: i for i in s.ifaces}
    assert by_ssid["HomeNet"].security == "wpa2-psk" and by_ssid["HomeNet"].weak_password is None
    assert by_ssid["HomeNet-5G"].security == "wpa2-psk/wpa3-sae"
    assert by_ssid["HomeNet-5G"].enabled is False  # its radio is disabled
    assert by_ssid["HomeNet-5G"].weak_password == "too_short"
    assert by_ssid["Guest"].guest and by_ssid["Guest"].ifname == "wlan0-1"
    assert by_ssid["Guest"].weak_password == "common"


def test_no_passphrase_survives_parsing():
    sections = wc.parse_uci(UCI)
    s = wc.settings_from_uci(sections)
    for secret in ("correct horse battery", "abc123", "qwertyuiop"):
        assert secret not in secrets_in(sections)
        assert secret not in secrets_in(s) and secret not in repr(s)
    bsses = wc.parse_hostapd((FIX / "hostapd.conf").read_text())
    assert "1234567890" not in secrets_in(bsses)


def test_wifi_switched_off_and_no_guest():
    text = UCI.replace("\toption band_steering '1'\n", "").replace("'guest'\n\toption mode", "'lan'\n\toption mode")
    text = text.replace("config wifi-device 'radio0'\n", "config wifi-device 'radio0'\n\toption disabled '1'\n")
    s = wc.settings_from_uci(wc.parse_uci(text))
    assert (s.enabled, s.band_steering, s.guest_enabled) == (False, None, False)


@pytest.mark.parametrize(("password", "verdict"), [
    ("abc", "too_short"), ("123456789", "too_short"), ("", "too_short"),
    ("1234567890", "common"), ("QwertyUIOP", "common"), ("Password123", "common"),
    ("correct horse battery", None), ("x7#Vq9!mPz", None),
])
def test_password_weakness(password, verdict):
    assert wc.password_weakness(password) == verdict


def test_hostapd_conf_recorded_in_the_vm():
    s = wc.settings_from_hostapd(wc.parse_hostapd((FIX / "hostapd.conf").read_text()))
    assert s.source == "hostapd" and s.enabled is None and s.guest_enabled is None
    (i,) = s.ifaces
    assert (i.ifname, i.ssid, i.security, i.weak_password) == ("wlan0", "uxip-test-net", "wpa2-psk", "common")


@pytest.mark.parametrize(("lines", "security", "weak"), [
    ("wpa=2\nwpa_key_mgmt=SAE\nsae_password=Tr0ub4dor&3x|id=home\nwpa_passphrase=short", "wpa3-sae", None),
    ("wpa=2\nwpa_key_mgmt=WPA-PSK SAE\nwpa_passphrase=short", "wpa2-psk/wpa3-sae", "too_short"),
    ("wpa=3\nwpa_passphrase=a-long-enough-one", "wpa/wpa2-psk", None),
    ("wpa=2\nwpa_key_mgmt=WPA-EAP\nauth_server_shared_secret=x", "wpa2-eap", None),
    ("wpa=2\nwpa_key_mgmt=OWE", "owe", None),
    ("wep_key0=12345", "wep", None),
    ("", "open", None),
    ("wpa=2\nwpa_psk=" + "ab" * 32, "wpa2-psk", None),  # a raw PSK cannot be judged
    ("wpa=banana", None, None),
])
def test_hostapd_security_modes(lines, security, weak):
    (i,) = wc.settings_from_hostapd(wc.parse_hostapd("interface=wlan0\nssid=x\n" + lines)).ifaces
    assert (i.security, i.weak_password) == (security, weak)


def test_hostapd_multi_bss():
    text = "interface=wlan0\nssid=a\nwpa=2\nwpa_passphrase=1234567890\nbss=wlan0-1\nssid=b\nstart_disabled=1\n"
    a, b = wc.settings_from_hostapd(wc.parse_hostapd(text)).ifaces
    assert (a.ifname, a.enabled, a.weak_password) == ("wlan0", True, "common")
    assert (b.ifname, b.enabled, b.security) == ("wlan0-1", False, "open")


def test_uci_file_wins_over_hostapd_files(tmp_path):
    (tmp_path / "etc/config").mkdir(parents=True)
    (tmp_path / "var/run").mkdir(parents=True)
    (tmp_path / "var/run/hostapd-phy0.conf").write_text("interface=wlan0\nssid=x\n")
    globs = ("/var/run/hostapd-*.conf",)
    assert wc.read_settings(str(tmp_path), "/etc/config/wireless", globs).source == "hostapd"
    (tmp_path / "etc/config/wireless").write_text(UCI)
    assert wc.read_settings(str(tmp_path), "/etc/config/wireless", globs).source == "uci"


def test_no_config_files_is_none(tmp_path):
    assert wc.read_settings(str(tmp_path), "/etc/config/wireless", ("/var/run/hostapd-*.conf",)) is None


@pytest.mark.parametrize("text", [
    "config wifi-iface 'x'\n\toption ssid 'unterminated\n",
    "option ssid 'before any section'\n",
    "config\n",
    "garbage line here\n",
    "config a b c d\n",
])
def test_malformed_uci_is_one_line_source_error(text):
    with pytest.raises(SourceError, match=r"^uci .*line \d+") as e:
        wc.parse_uci(text)
    assert "\n" not in str(e.value)


def test_malformed_uci_error_never_quotes_the_passphrase():
    with pytest.raises(SourceError) as e:
        wc.parse_uci("config wifi-iface\n\toption key 'hunter2hunter2\n")
    assert "hunter2" not in str(e.value)


@pytest.mark.parametrize("text", ["just words\n", "=value\n", "key with space=1\n"])
def test_malformed_hostapd_is_source_error(text):
    with pytest.raises(SourceError, match=r"line 1: not key=value"):
        wc.parse_hostapd(text)


def test_oversized_and_binary_files_are_refused(tmp_path):
    (tmp_path / "etc/config").mkdir(parents=True)
    f = tmp_path / "etc/config/wireless"
    f.write_bytes(b"#" * (wc.MAX_CONFIG_BYTES + 1))
    with pytest.raises(SourceError, match="larger than"):
        wc.read_settings(str(tmp_path), "/etc/config/wireless", ())
    f.write_bytes(b"config \xff\xfe\n")
    with pytest.raises(SourceError, match="not UTF-8"):
        wc.read_settings(str(tmp_path), "/etc/config/wireless", ())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_crashes_the_parsers(text):
    for parse in (wc.parse_uci, wc.parse_hostapd):
        try:
            sections = parse(text)
        except SourceError:
            continue
        if parse is wc.parse_uci:
            wc.settings_from_uci(sections)
        else:
            wc.settings_from_hostapd(sections)
