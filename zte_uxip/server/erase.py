"""`zte-uxip-server erase DEVICE`: delete everything held about a device (samples, events,
batches, commands, the device row); prints what was deleted. The audit entry stays."""

from __future__ import annotations

import argparse
from typing import Any

from . import common


def add_parser(sub: Any) -> None:
    p = sub.add_parser("erase", help="delete everything held about a device; prints what was deleted")
    common.add_config(p)
    p.add_argument("device")


def run(args: argparse.Namespace) -> int:
    device_id = common.device_arg(args.device)
    common.store_setup(args)
    from .commands.models import Command
    from .store.erase import erase_device
    from .store.models import Device

    if not (Device.objects.filter(device_id=device_id).exists()
            or Command.objects.filter(device_id=device_id).exists()):
        raise common.InputError(f"unknown device {device_id} (nothing held about it)")
    counts = erase_device(device_id, username=common.cli_user(), remote_addr="cli", now=common.now())
    print(f"erased {device_id}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0
