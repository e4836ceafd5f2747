"""The device id used in topics: the configured one, else a pseudonym of the base MAC under the
per-device secret, so the id that travels in every topic is no identifier itself."""

from __future__ import annotations

import os

from . import privacy
from .config import Config
from .errors import ConfigError

SYS_NET = "/sys/class/net"


def base_mac(sys_net: str = SYS_NET) -> str | None:
    """The lowest MAC of the physical interfaces (those backed by a device), else of any
    non-loopback interface. Stable across reboots on a router whose MACs come from flash."""
    physical: list[str] = []
    other: list[str] = []
    try:
        names = sorted(os.listdir(sys_net))
    except OSError:
        return None
    for name in names:
        try:
            with open(os.path.join(sys_net, name, "address"), encoding="ascii") as fh:
                mac = fh.read(64).strip().lower()
        except (OSError, UnicodeDecodeError):
            continue
        if len(mac) != 17 or mac == "00:00:00:00:00:00":
            continue
        (physical if os.path.exists(os.path.join(sys_net, name, "device")) else other).append(mac)
    pool = physical or other
    return min(pool) if pool else None


def device_id(cfg: Config, key: bytes | None) -> str:
    if cfg.device_id:
        return cfg.device_id
    if key is None:
        raise ConfigError(f"privacy.secret_file {cfg.privacy.secret_file}: cannot read or create the device secret")
    mac = base_mac()
    if mac is None:
        raise ConfigError("device_id: no base MAC found in /sys/class/net; set device_id")
    return privacy.device_id_from_mac(key, mac)
