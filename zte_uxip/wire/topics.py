"""MQTT topic names (DESIGN.md contract). Device ids are checked so that no id from config or
the network can inject a wildcard or another device's topic level."""

from __future__ import annotations

import re

PREFIX = "uxip/v1"
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def check_device_id(device_id: str) -> str:
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(f"device_id {device_id!r}: use 1-64 of A-Z a-z 0-9 _ . : -")
    return device_id


def telemetry(device_id: str) -> str:
    return f"{PREFIX}/{check_device_id(device_id)}/telemetry"


def status(device_id: str) -> str:
    return f"{PREFIX}/{check_device_id(device_id)}/status"


def cmd(device_id: str) -> str:
    return f"{PREFIX}/{check_device_id(device_id)}/cmd"


def cmd_result(device_id: str) -> str:
    return f"{PREFIX}/{check_device_id(device_id)}/cmd/result"


def parse(topic: str) -> tuple[str, str]:
    """``uxip/v1/{id}/{leaf}`` -> (device_id, leaf); ValueError for anything else."""
    parts = topic.split("/")
    if len(parts) < 4 or "/".join(parts[:2]) != PREFIX:
        raise ValueError(f"not a uxip/v1 topic: {topic!r}")
    leaf = "/".join(parts[3:])
    if leaf not in ("telemetry", "status", "cmd", "cmd/result"):
        raise ValueError(f"unknown topic leaf {leaf!r}")
    return check_device_id(parts[2]), leaf
