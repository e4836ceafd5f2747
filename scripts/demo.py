"""`make demo` (for now): a few real samples from this machine, encoded as they would be sent
and decoded back to JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    for i in range(3):
        cbor = subprocess.run([BIN / "zte-uxip", "sample", "--once", "--modem", "none", "--format", "cbor"],
                              check=True, capture_output=True).stdout
        decoded = subprocess.run([BIN / "zte-uxip", "decode", "-"], input=cbor, check=True,
                                 capture_output=True).stdout
        snap = json.loads(decoded)
        print(f"--- sample {i + 1}: {len(cbor)} bytes of CBOR ---")
        print(json.dumps(snap, indent=2))
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
