"""Entry point for `make bench`: runs every bench_*.py in this folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    rc = 0
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"== {script.name}", flush=True)
        rc |= subprocess.run([sys.executable, str(script)], check=False).returncode
    return rc


if __name__ == "__main__":
    sys.exit(main())
