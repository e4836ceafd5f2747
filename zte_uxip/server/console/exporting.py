"""The data-subject copy of one device's data as JSON (DESIGN.md `export`).

The console's privacy role downloads it; the content is what `zte-uxip-server export` writes:
``device_id``, ``exported_at``, ``region``, ``status``, ``batches[]`` (each as `zte-uxip decode`
prints it, by ``seq``), ``commands[]``, ``audit[]``. To be unified with the `export` verb.
"""

from __future__ import annotations

import time
from typing import Any

from ...wire import codec
from ..commands.models import Command
from ..store.models import AuditEntry, Batch, Device


def build_export(device_id: str) -> dict[str, Any] | None:
    device = Device.objects.filter(device_id=device_id).first()
    if device is None:
        return None
    batches: list[dict[str, Any]] = []
    for seq, cbor in Batch.objects.filter(device=device).order_by("seq").values_list("seq", "cbor").iterator(2000):
        try:
            batches.append(codec.decode(bytes(cbor)))
        except codec.DecodeError as e:  # stored before a schema change, or damaged: say so, keep going
            batches.append({"seq": seq, "error": str(e)})
    commands = [
        {"id": c.command_id, "verb": c.verb, "args": c.args, "status": c.status, "issued_ts": c.issued_ts,
         "answered_ts": c.answered_ts, "reason": c.reason, "result": c.result}
        for c in Command.objects.filter(device_id=device_id).order_by("issued_ts", "id")
    ]
    audit = [
        {"ts": a.ts, "username": a.username, "action": a.action, "detail": a.detail, "remote_addr": a.remote_addr}
        for a in AuditEntry.objects.filter(device_id=device_id).order_by("ts", "id")
    ]
    return {
        "device_id": device.device_id,
        "exported_at": int(time.time()),
        "region": device.region,
        "status": {"state": device.state, "ts": device.state_ts, "policy_version": device.policy_version},
        "batches": batches,
        "commands": commands,
        "audit": audit,
    }
