"""The data-subject copy of everything held about one device, written as a stream.

Batches are the original CBOR decoded with the wire codec — exactly the JSON `zte-uxip decode`
prints for it — one per line, by seq, read a page at a time: a device with a year of one-minute
batches (525,600) is never in memory at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from ...wire import codec
from ..commands.models import Command
from . import queries


def commands(device_id: str) -> list[dict[str, Any]]:
    """The remote commands sent to the device and its answers (id in hex, as on the device)."""
    rows = Command.objects.filter(device_id=device_id).order_by("issued_ts", "id")
    return [{"id": c.command_id, "verb": c.verb, "args": c.args, "status": c.status, "ts": c.issued_ts,
             "expires_ts": c.expires_ts, "answered_ts": c.answered_ts, "reason": c.reason, "result": c.result}
            for c in rows.iterator(chunk_size=500)]


def chunks(device_id: str, *, now: int, region: str, status: dict[str, Any]) -> Iterator[str]:
    """The export JSON in pieces (one batch each), for a file or a streamed HTTP download.
    The last piece is ``None``-free; ``count`` of batches is not known until the end."""
    head = {"device_id": device_id, "exported_at": now, "region": region, "status": status}
    yield json.dumps(head, indent=2, ensure_ascii=False)[:-2] + ',\n  "batches": ['
    n = 0
    for page in queries.batch_cbor_pages(device_id):
        for seq, cbor in page:
            try:
                item: dict[str, Any] = codec.decode(cbor)
            except codec.DecodeError as e:  # ingest stores only what decodes; say so rather than skip
                item = {"seq": seq, "error": str(e)}
            yield ("\n" if n == 0 else ",\n") + json.dumps(item, separators=(",", ":"), ensure_ascii=False)
            n += 1
    yield "\n  ],\n"
    tail = {"commands": commands(device_id), "audit": queries.audit_entries(device_id)}
    yield json.dumps(tail, indent=2, ensure_ascii=False)[2:] + "\n"


def write(out: TextIO, device_id: str, *, now: int, region: str, status: dict[str, Any]) -> int:
    """Write the export JSON to ``out``; returns the number of batches written."""
    n = -3  # the head, the list's end and the tail are pieces too
    for piece in chunks(device_id, now=now, region=region, status=status):
        out.write(piece)
        n += 1
    return n
