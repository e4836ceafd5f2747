"""`zte-uxip-server diagnose DEVICE [--json]`: the device page's findings, on the command line.

The rules are ``console.diagnosis`` (shared with the console). Reading a device's data is an
access like any other: it leaves an audit entry (the operator's login name, from ``cli``).
Device-sent text is printed with control characters replaced, so it cannot drive the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from . import common


def add_parser(sub: Any) -> None:
    p = sub.add_parser("diagnose", help="findings for one device: what is wrong, the evidence, what to do next")
    p.add_argument("device")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_config(p)


def printable(value: Any) -> str:
    """Device text for a terminal: control characters (ESC, CR, ...) shown as '?'."""
    return "".join(c if c.isprintable() else "?" for c in str(value))


def _when(ts: Any) -> str:
    if not isinstance(ts, int) or isinstance(ts, bool):
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def run(args: argparse.Namespace) -> int:
    cfg = common.store_setup(args)
    from .console.diagnosis import diagnose
    from .store.models import AuditEntry

    d = diagnose(args.device, offline_after_s=cfg.console.offline_after_s)
    if d is None:
        print(f"zte-uxip-server: diagnose: {printable(args.device)}: no such device", file=sys.stderr)
        return 1
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    AuditEntry.objects.create(ts=int(time.time()), username=who, action="diagnose", device_id=args.device,
                              detail=f"diagnose: {d.health}, {len(d.findings)} findings", remote_addr="cli")
    if args.json:
        print(json.dumps(d.to_json(), indent=2))
        return 0
    print(f"{printable(d.device_id)}: health {d.health} (score {d.score}), {d.state}")
    if not d.findings:
        print(f"no findings in the last {d.window_s / 86400:.0f} days")
    for f in d.findings:
        print(f"\n{f.severity.upper():8} {f.code}: {printable(f.summary)}")
        for e in f.evidence:
            rest = " ".join(f"{k}={printable(v)}" for k, v in e.items() if k != "ts" and v is not None)
            print(f"         {_when(e.get('ts'))}  {rest}")
        print(f"         next: {f.next_step}")
    return 0
