"""Battery and external power from /sys/class/power_supply (mobile hotspots).

Routers without a battery have no Battery entry: that is "nothing here" (None), not an error.
``root`` prefixes the path so tests read recorded trees.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..errors import SourceError

EXTERNAL_TYPES = ("Mains", "USB", "USB_DCP", "USB_CDP", "USB_ACA", "USB_C", "USB_PD", "Wireless")
STATUSES = ("Unknown", "Charging", "Discharging", "Not charging", "Full")


class PowerState(NamedTuple):
    battery_pct: int | None
    status: str | None  # one of STATUSES
    external_power: bool | None


def _attr(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(65)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise SourceError(f"power: cannot read {path}: {e.strerror}") from None
    if len(data) > 64:
        raise SourceError(f"power: {path} is longer than a sysfs value")
    text = data.decode("ascii", "replace").strip()
    if any(ord(c) < 0x20 for c in text) or "\ufffd" in text:
        raise SourceError(f"power: {path} holds binary data")
    return text


def read_power(root: str = "") -> PowerState | None:
    base = f"{root}/sys/class/power_supply"
    try:
        names = sorted(os.listdir(base))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        raise SourceError(f"power: cannot list {base}: {e.strerror}") from None
    battery: tuple[int | None, str | None] | None = None
    external: bool | None = None
    for name in names:
        kind = _attr(f"{base}/{name}/type")
        if kind == "Battery" and battery is None:
            if _attr(f"{base}/{name}/present") == "0":
                continue
            cap = _attr(f"{base}/{name}/capacity")
            if cap is not None and (not cap.isdigit() or int(cap) > 100):
                raise SourceError(f"power: {name}/capacity {cap[:16]!r} is not a percentage")
            status = _attr(f"{base}/{name}/status")
            if status is not None and status not in STATUSES:
                raise SourceError(f"power: {name}/status {status[:16]!r} is not a known state")
            battery = (None if cap is None else int(cap), status)
        elif kind in EXTERNAL_TYPES:
            online = _attr(f"{base}/{name}/online")
            if online not in (None, "0", "1", "2"):
                raise SourceError(f"power: {name}/online {online[:16]!r} is not 0 or 1")
            if online is not None:
                external = bool(external) or online != "0"
    if battery is None:
        return None
    pct, status = battery
    if external is None and status in ("Charging", "Full", "Not charging", "Discharging"):
        external = status != "Discharging"
    return PowerState(battery_pct=pct, status=status, external_power=external)
