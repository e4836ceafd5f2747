"""Entry point for `make bench`: runs every bench_*.py in this folder, or only the ones named
(`python bench/run.py store wire` runs bench_store.py and bench_wire.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    wanted = set(sys.argv[1:])
    rc = 0
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        if wanted and script.stem.removeprefix("bench_") not in wanted:
            continue
        print(f"== {script.name}", flush=True)
        rc |= subprocess.run([sys.executable, str(script)], check=False).returncode
    return rc


if __name__ == "__main__":
    sys.exit(main())
