"""`zte-uxip-server retention [--dry-run]`: delete what is older than `[retention] days` (and
access-log entries older than `audit_days`) now, instead of waiting for ingest's daily sweep."""

from __future__ import annotations

import argparse
import json
from typing import Any

from . import common
from .textfmt import when


def add_parser(sub: Any) -> None:
    p = sub.add_parser("retention", help="delete data older than [retention] days; prints counts")
    common.add_config(p)
    p.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    p.add_argument("--json", action="store_true", help="the counts as JSON")


def run(args: argparse.Namespace) -> int:
    cfg = common.store_setup(args)
    from .store.retention import sweep

    counts = sweep(cfg, common.now(), dry_run=args.dry_run, username=common.cli_user(), remote_addr="cli")
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, **counts}, indent=2))
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    print(f"data older than {when(counts['cutoff_ts'])} UTC ({cfg.retention.days} d), "
          f"audit older than {when(counts['audit_cutoff_ts'])} UTC ({cfg.retention.audit_days} d)")
    print(f"{verb}: " + ", ".join(f"{n} {k}" for k, n in counts.items() if not k.endswith("_ts")))
    return 0
