"""`zte-uxip-server export DEVICE [--out FILE]`: the data-subject copy, as JSON (FILE 0600).

`device_id`, `exported_at`, `region`, `status` (state and the facts held about the device),
`batches[]` (each exactly as `zte-uxip decode` prints it, by seq, one per line), `commands[]`,
`audit[]` (who looked at this device's data, and when — this export included). The file is
written beside FILE under a temporary name (0600) and renamed into place when complete.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import common


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="the data-subject copy of a device's data as JSON")
    common.add_config(p)
    p.add_argument("device")
    p.add_argument("--out", help="write here (mode 0600) instead of stdout")


def run(args: argparse.Namespace) -> int:
    device_id = common.device_arg(args.device)
    cfg = common.store_setup(args)
    from .commands.models import Command
    from .store import dsar, queries
    from .store.audit import record
    from .store.models import AuditEntry

    now = common.now()
    status = queries.device_summary(device_id, now, cfg.console.offline_after_s)
    if status is None and not (Command.objects.filter(device_id=device_id).exists()
                               or AuditEntry.objects.filter(device_id=device_id).exists()):
        raise common.InputError(f"unknown device {device_id}")
    status = status or {"device_id": device_id, "state": "unknown", "batches": 0}
    region = status.get("region") or cfg.region
    record("export", username=common.cli_user(), remote_addr="cli", device_id=device_id, ts=now,
           detail=f"to {args.out}" if args.out else "to stdout")
    if not args.out:
        dsar.write(sys.stdout, device_id, now=now, region=region, status=status)
        return 0
    target = Path(args.out)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")  # 0600
    except OSError as e:
        raise common.InputError(f"--out {args.out}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            n = dsar.write(fh, device_id, now=now, region=region, status=status)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise common.InputError(f"--out {args.out}: {e.strerror}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"exported {n} batches of {device_id} to {target}", file=sys.stderr)
    return 0
