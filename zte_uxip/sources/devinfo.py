"""Device facts from the firmware's own files: /etc/openwrt_release, /etc/os-release, the
device tree (model, compatible, serial-number), DMI on x86, and the base MAC from sysfs.

``root`` prefixes every path so tests read recorded trees. Files are read bounded; a value
with control characters or an absurd length is a SourceError, never passed on.
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from ..errors import SourceError

MAX_FILE_BYTES = 16 * 1024
MAX_VALUE_CHARS = 128
_KV = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
ARPHRD_ETHER = 1


class DeviceFacts(NamedTuple):
    manufacturer: str | None = None
    model: str | None = None
    hw_type: str | None = None
    sw_version: str | None = None
    serial: str | None = None  # identifier: the privacy filter pseudonymises it
    base_mac: str | None = None  # identifier


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise SourceError(f"device: cannot read {path}: {e.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(f"device: {path} is larger than {MAX_FILE_BYTES} bytes")
    return data


def _clean(value: str, where: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_VALUE_CHARS or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise SourceError(f"device: {where} holds control characters or is too long")
    return value


def parse_release(data: bytes, where: str) -> dict[str, str]:
    """KEY='value' / KEY="value" / KEY=value lines (os-release(5), OpenWrt's openwrt_release).
    Lines that are not assignments (comments, noise) are skipped."""
    out: dict[str, str] = {}
    text = data.decode("utf-8", "replace")
    for raw in text.splitlines():
        m = _KV.match(raw.strip())
        if not m:
            continue
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        clean = _clean(value, f"{where} {m.group(1)}")
        if clean is not None:
            out[m.group(1)] = clean
    return out


def _dt_strings(data: bytes | None, where: str) -> list[str]:
    if not data:
        return []
    return [v for v in (_clean(p.decode("utf-8", "replace"), where) for p in data.split(b"\0")) if v]


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def base_mac(root: str) -> str | None:
    """The MAC of the lowest-numbered Ethernet interface with a globally assigned address."""
    base = f"{root}/sys/class/net"
    try:
        names = os.listdir(base)
    except OSError:
        return None
    best: tuple[int, str] | None = None
    for name in names:
        try:
            if int((_read(f"{base}/{name}/type") or b"0").strip()) != ARPHRD_ETHER:
                continue
            index = int((_read(f"{base}/{name}/ifindex") or b"0").strip())
        except ValueError:
            raise SourceError(f"device: {base}/{name}: type or ifindex is not a number") from None
        mac = (_read(f"{base}/{name}/address") or b"").decode("ascii", "replace").strip().lower()
        if not _MAC.match(mac) or mac == "00:00:00:00:00:00" or int(mac[:2], 16) & 0x02:
            continue  # invalid, unset, or locally administered (veth, bridges, random)
        if best is None or index < best[0]:
            best = (index, mac)
    return best[1] if best else None


def read_facts(root: str = "") -> DeviceFacts:
    owrt = parse_release(_read(f"{root}/etc/openwrt_release") or b"", "/etc/openwrt_release")
    osr_data = _read(f"{root}/etc/os-release") or _read(f"{root}/usr/lib/os-release") or b""
    osr = parse_release(osr_data, "/etc/os-release")
    dt = f"{root}/proc/device-tree"
    if not os.path.isdir(dt):
        dt = f"{root}/sys/firmware/devicetree/base"
    dt_model = _first(*_dt_strings(_read(f"{dt}/model"), "device-tree model"))
    compat = _dt_strings(_read(f"{dt}/compatible"), "device-tree compatible")
    dmi = f"{root}/sys/class/dmi/id"

    def dmi_value(name: str) -> str | None:
        return _first(*_dt_strings(_read(f"{dmi}/{name}"), f"dmi {name}"))

    vendor = compat[0].split(",", 1)[0] if compat and "," in compat[0] else None
    manufacturer = dmi_value("sys_vendor")
    if manufacturer is None and vendor:
        # "zte,mf286r" with model "ZTE MF286R": take the model's spelling of the vendor.
        word = dt_model.split()[0] if dt_model else ""
        manufacturer = word if word.lower().replace("-", "") == vendor.replace("-", "") else vendor
    sw = _first(owrt.get("DISTRIB_RELEASE"), osr.get("VERSION_ID"))
    if sw and owrt.get("DISTRIB_REVISION") and owrt.get("DISTRIB_RELEASE"):
        sw = f"{sw} {owrt['DISTRIB_REVISION']}"
    return DeviceFacts(
        manufacturer=manufacturer,
        model=_first(dt_model, dmi_value("product_name")),
        hw_type=_first(owrt.get("DISTRIB_TARGET"), owrt.get("DISTRIB_ARCH"),
                       os.uname().machine if root == "" else None),
        sw_version=sw,
        serial=_first(*_dt_strings(_read(f"{dt}/serial-number"), "device-tree serial-number"),
                      dmi_value("product_serial")),
        base_mac=base_mac(root),
    )


def version_tuple(version: str) -> tuple[int, ...] | None:
    """Numeric parts of a version ("23.05.3 r23809" -> (23, 5, 3, 23809)); None without digits."""
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:8])
    return parts or None
