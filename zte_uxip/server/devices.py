"""`zte-uxip-server devices [--json]`: every device the store knows, with its state."""

from __future__ import annotations

import argparse
import json
from typing import Any

from . import common
from .textfmt import when


def add_parser(sub: Any) -> None:
    p = sub.add_parser("devices", help="list known devices: id, last seen, state, batches held")
    common.add_config(p)
    p.add_argument("--json", action="store_true", help="a JSON list instead of a table")


def run(args: argparse.Namespace) -> int:
    cfg = common.store_setup(args)
    from .store import queries

    rows = queries.device_list(common.now(), cfg.console.offline_after_s)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'DEVICE':<40} {'LAST SEEN (UTC)':<20} {'STATE':<18} {'BATCHES':>9}")
    for r in rows:
        print(f"{r['device_id']:<40} {when(r['last_seen']):<20} {r['state']:<18} {r['batches']:>9}")
    return 0
