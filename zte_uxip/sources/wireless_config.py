"""The router's Wi-Fi configuration: OpenWrt UCI (/etc/config/wireless) or hostapd.conf files.

What the programme asks for that the kernel cannot say: Wi-Fi on/off as configured, band
steering, whether a guest SSID is enabled, the WPA mode, and whether the WPA passphrase is weak.
The passphrase never leaves ``password_weakness``: the parsers hand every secret option straight
to that function and keep only the verdict ("too_short", "common" or ""), stored under
"<option>:weakness"; the secret itself is never stored, so nothing returned from here holds it.
"""

from __future__ import annotations

import glob
import os
import shlex
from collections.abc import Iterable
from typing import NamedTuple

from ..errors import SourceError

MAX_CONFIG_BYTES = 256 * 1024
MAX_HOSTAPD_FILES = 16
MIN_PASSWORD_CHARS = 10

# Common passphrases of 10+ characters (shorter ones are already "too_short"), compared
# case-insensitively: the top of public leaked-password lists and typical router defaults.
COMMON_PASSWORDS = frozenset({
    "1234567890", "0123456789", "0987654321", "9876543210", "1234567891", "12345678910",
    "123456789a", "a123456789", "1111111111", "0000000000", "1212121212", "123123123123",
    "qwertyuiop", "1q2w3e4r5t", "1qaz2wsx3edc", "qwerty1234", "qwerty12345", "asdfghjkl1",
    "password12", "password123", "password1234", "passw0rd12", "iloveyou12", "abcdefghij",
    "abcd123456", "welcome123", "internet123", "wifipassword", "mywifipassword", "administrator",
    "changeme123", "letmein123",
})

# UCI `option encryption` (before any +cipher suffix) -> security label on the wire.
UCI_ENCRYPTION = {
    "none": "open", "owe": "owe",
    "wep": "wep", "wep-open": "wep", "wep-shared": "wep", "wep-mixed": "wep",
    "psk": "wpa-psk", "psk2": "wpa2-psk", "psk-mixed": "wpa/wpa2-psk",
    "sae": "wpa3-sae", "sae-mixed": "wpa2-psk/wpa3-sae",
    "wpa": "wpa-eap", "wpa2": "wpa2-eap", "wpa-mixed": "wpa/wpa2-eap", "wpa3": "wpa3-eap",
    "wpa3-mixed": "wpa2/wpa3-eap",
}
TRUE_WORDS = frozenset({"1", "on", "true", "yes", "enabled"})
# Options holding secrets (UCI and hostapd): consumed at parse time, only the verdict is kept.
SECRET_OPTIONS = frozenset({
    "key", "key1", "key2", "key3", "key4", "sae_password", "auth_secret", "acct_secret", "password",
    "priv_key_pwd", "wpa_passphrase", "wpa_psk", "wep_key0", "wep_key1", "wep_key2", "wep_key3",
    "auth_server_shared_secret", "acct_server_shared_secret", "radius_das_shared_secret",
})
WEAKNESS = ":weakness"


def password_weakness(password: str) -> str | None:
    """Why a WPA passphrase is weak ("too_short", "common"), or None. Only the verdict leaves."""
    if len(password) < MIN_PASSWORD_CHARS:
        return "too_short"
    if password.lower() in COMMON_PASSWORDS:
        return "common"
    return None


class IfaceSettings(NamedTuple):
    """One configured SSID (UCI wifi-iface or hostapd BSS). No passphrase: only the verdict."""

    ifname: str | None
    ssid: str | None  # to match the nl80211 interface; the collector does not copy it from here
    security: str | None
    enabled: bool
    guest: bool
    weak_password: str | None


class WirelessSettings(NamedTuple):
    source: str  # "uci" or "hostapd"
    enabled: bool | None
    band_steering: bool | None
    guest_enabled: bool | None
    country: str | None
    ifaces: tuple[IfaceSettings, ...] = ()


def _keep(opts: dict[str, str], name: str, value: str) -> None:
    """Store an option; a secret is replaced by its weakness verdict on the way in."""
    if name in SECRET_OPTIONS:
        if name == "sae_password":
            value = value.split("|", 1)[0]  # hostapd: "secret|id=...|mac=..."
        opts[name + WEAKNESS] = password_weakness(value) or ""
    else:
        opts[name] = value


def _truthy(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() in TRUE_WORDS


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as e:
        raise SourceError(f"wireless config {path}: {e.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise SourceError(f"wireless config {path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError(f"wireless config {path}: not UTF-8") from None


Section = tuple[str, str | None, dict[str, str]]


def parse_uci(text: str, where: str = "wireless") -> list[Section]:
    """UCI sections as (type, name, options); `list` values are joined with spaces."""
    sections: list[Section] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise SourceError(f"uci {where}: line {lineno}: {e}") from None
        if not words:
            continue
        kw = words[0]
        if kw == "package" and len(words) == 2:
            continue
        if kw == "config" and len(words) in (2, 3):
            sections.append((words[1], words[2] if len(words) == 3 else None, {}))
        elif kw in ("option", "list") and len(words) == 3 and sections:
            opts = sections[-1][2]
            name, value = words[1], words[2]
            _keep(opts, name, f"{opts[name]} {value}" if kw == "list" and name in opts else value)
        else:
            raise SourceError(f"uci {where}: line {lineno}: not a UCI statement")
    return sections


def _uci_iface(opts: dict[str, str], device_enabled: bool) -> IfaceSettings:
    enc_raw = opts.get("encryption", "none").lower()
    enc = enc_raw.split("+", 1)[0]
    security = UCI_ENCRYPTION.get(enc)
    weak = None
    if enc.startswith(("psk", "sae")):
        sae = enc.startswith("sae") and "sae_password" + WEAKNESS in opts
        weak = opts.get(("sae_password" if sae else "key") + WEAKNESS) or None
    networks = opts.get("network", "").split()
    return IfaceSettings(
        ifname=opts.get("ifname"),
        ssid=opts.get("ssid"),
        security=security,
        enabled=device_enabled and not _truthy(opts.get("disabled")),
        guest="guest" in networks or bool(_truthy(opts.get("guest"))) or bool(_truthy(opts.get("is_guest"))),
        weak_password=weak,
    )


def settings_from_uci(sections: list[Section]) -> WirelessSettings:
    devices = {name: opts for typ, name, opts in sections if typ == "wifi-device" and name}
    ifaces = []
    for typ, _name, opts in sections:
        if typ != "wifi-iface":
            continue
        dev = devices.get(opts.get("device", ""))
        dev_enabled = dev is not None and not _truthy(dev.get("disabled"))
        ifaces.append(_uci_iface(opts, dev_enabled))
    steering = [_truthy(o.get(k)) for _t, _n, o in sections for k in ("band_steering", "bandsteering") if k in o]
    guests = [i for i in ifaces if i.guest]
    countries = [d["country"] for d in devices.values() if d.get("country")]
    return WirelessSettings(
        source="uci",
        enabled=any(i.enabled for i in ifaces) if devices else None,
        band_steering=any(bool(s) for s in steering) if steering else None,
        guest_enabled=any(i.enabled for i in guests) if devices else None,
        country=countries[0] if countries else None,
        ifaces=tuple(ifaces),
    )


def parse_hostapd(text: str, where: str = "hostapd.conf") -> list[dict[str, str]]:
    """hostapd.conf as one dict per BSS (``bss=`` starts the next); values are kept verbatim."""
    bsses: list[dict[str, str]] = [{}]
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, eq, value = line.partition("=")
        if not eq or not key or " " in key:
            raise SourceError(f"hostapd {where}: line {lineno}: not key=value")
        if key == "bss":
            bsses.append({"interface": value})
            continue
        _keep(bsses[-1], key, value)
    return bsses


def _hostapd_security(bss: dict[str, str]) -> tuple[str | None, bool]:
    """(security label, uses a passphrase)."""
    try:
        wpa = int(bss.get("wpa", "0"))
    except ValueError:
        return None, False
    mgmt = set(bss.get("wpa_key_mgmt", "WPA-PSK" if wpa else "").split())
    if not wpa:
        return ("wep" if any(k.startswith("wep_key") for k in bss) else "open"), False
    psk = any(m in mgmt for m in ("WPA-PSK", "WPA-PSK-SHA256", "FT-PSK"))
    sae = any(m in mgmt for m in ("SAE", "FT-SAE", "SAE-EXT-KEY"))
    eap = any(m.startswith(("WPA-EAP", "FT-EAP")) for m in mgmt)
    version = {1: "wpa", 2: "wpa2", 3: "wpa/wpa2"}.get(wpa & 3)
    if "OWE" in mgmt:
        return "owe", False
    if sae and psk:
        return "wpa2-psk/wpa3-sae", True
    if sae:
        return "wpa3-sae", True
    if psk and version:
        return f"{version}-psk", True
    if eap and version:
        return f"{version}-eap", False
    return None, False


def settings_from_hostapd(bsses: Iterable[dict[str, str]]) -> WirelessSettings:
    ifaces = []
    country = None
    for bss in bsses:
        security, uses_passphrase = _hostapd_security(bss)
        weak = None
        if uses_passphrase:  # a raw 64-hex wpa_psk is not judged
            sae = "sae_password" + WEAKNESS in bss
            weak = bss.get(("sae_password" if sae else "wpa_passphrase") + WEAKNESS) or None
        country = country or bss.get("country_code")
        ifaces.append(IfaceSettings(
            ifname=bss.get("interface"),
            ssid=bss.get("ssid"),
            security=security,
            enabled=not _truthy(bss.get("start_disabled")),
            guest=False,
            weak_password=weak,
        ))
    return WirelessSettings(source="hostapd", enabled=None, band_steering=None, guest_enabled=None,
                            country=country, ifaces=tuple(ifaces))


def config_files(root: str, uci_file: str, hostapd_globs: Iterable[str]) -> list[str]:
    """The files that define the settings: the UCI file if present, else the hostapd configs."""
    uci = root + uci_file
    if os.path.isfile(uci):
        return [uci]
    found: list[str] = []
    for pattern in hostapd_globs:
        found.extend(p for p in sorted(glob.glob(root + pattern)) if os.path.isfile(p) and p not in found)
    return found[:MAX_HOSTAPD_FILES]


def read_settings(root: str, uci_file: str, hostapd_globs: Iterable[str]) -> WirelessSettings | None:
    """The router's Wi-Fi settings, or None when no configuration file is present."""
    files = config_files(root, uci_file, hostapd_globs)
    if not files:
        return None
    if files[0] == root + uci_file:
        return settings_from_uci(parse_uci(_read(files[0]), files[0]))
    bsses: list[dict[str, str]] = []
    for path in files:
        bsses.extend(b for b in parse_hostapd(_read(path), path) if b)
    return settings_from_hostapd(bsses)
