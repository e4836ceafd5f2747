"""Wire size and CPU of `sample --once`: CBOR bytes per snapshot alone and in a batch of six,
RSS and wall time against a bare `python3 -c pass` measured in the same run."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def measure(cmd: list[str], runs: int = 5) -> tuple[bytes, float, int]:
    """(stdout of last run, median wall s, max RSS KiB of the children)."""
    walls = []
    out = b""
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, check=True).stdout
        walls.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return out, sorted(walls)[len(walls) // 2], rss


def main() -> int:
    from zte_uxip.wire import codec

    _, ref_wall, ref_rss = measure([sys.executable, "-c", "pass"])
    cbor, wall, rss = measure([str(BIN / "zte-uxip"), "sample", "--once", "--modem", "none", "--format", "cbor"])
    snap = codec.decode(cbor)
    snap.pop("schema")
    batch = []
    for i in range(6):
        s = json.loads(json.dumps(snap))
        s["ts"] += 10 * i
        s["uptime_s"] += 10 * i
        for li in s.get("links", []):
            li["rx_bytes_total"] = li.get("rx_bytes_total", 0) + 15_000 * i
            li["tx_bytes_total"] = li.get("tx_bytes_total", 0) + 4_000 * i
        batch.append(s)
    b = codec.encode_batch({"device_id": "zx-bench", "seq": 1, "consent": {"enabled": True, "location": True},
                            "snapshots": batch, "dropped_total": 0})
    print(f"snapshot (this machine, {len(snap.get('links', []))} links): {len(cbor)} B CBOR")
    print(f"batch of 6: {len(b)} B = {len(b) / 6:.0f} B per snapshot")
    print(f"sample --once: wall {wall:.3f} s ({wall / ref_wall:.1f}x bare python3 {ref_wall:.3f} s); "
          f"max RSS {rss / 1024:.1f} MiB (bare python3 {ref_rss / 1024:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
