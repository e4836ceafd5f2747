"""`zte-uxip-server audit [--device ID] [--json]`: the access log, newest first — every view
of a device's data, export, erase, retention sweep, remote command and user change, with who,
when and from where."""

from __future__ import annotations

import argparse
import json
from typing import Any

from . import common
from .textfmt import clean, when


def add_parser(sub: Any) -> None:
    p = sub.add_parser("audit", help="the access log: who looked at, exported or erased which device")
    common.add_config(p)
    p.add_argument("--device", help="only this device's entries")
    p.add_argument("--limit", type=int, default=0, help="at most this many, newest first (0: all)")
    p.add_argument("--json", action="store_true", help="a JSON list")


def run(args: argparse.Namespace) -> int:
    device_id = common.device_arg(args.device) if args.device is not None else None
    if args.limit < 0:
        raise common.InputError("--limit: must be 0 or more")
    common.store_setup(args)
    from .store import queries

    rows = queries.audit_entries(device_id, args.limit or None)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'TIME (UTC)':<19} {'USER':<20} {'FROM':<16} {'ACTION':<10} {'DEVICE':<28} DETAIL")
    for r in rows:
        print(clean(f"{when(r['ts']):<19} {r['username']:<20} {r['remote_addr'] or '-':<16} {r['action']:<10} "
                    f"{r['device_id'] or '-':<28} {r['detail']}"))
    return 0
