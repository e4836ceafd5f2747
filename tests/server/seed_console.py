"""Fill a store for a real console process: `python tests/server/seed_console.py --config FILE
[--user NAME:ROLE ...] SCENARIO[:DAYS[:STEP_S]] ...` (scenarios from histories.py).

The browser test and the demo run the console as its own process on its own database, so the
histories are written by this separate process, configured from the same TOML as the console.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server import consolehelp, histories  # noqa: E402

from zte_uxip.server import boot, conf  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--user", action="append", default=[], help="NAME:ROLE")
    p.add_argument("--password", default=consolehelp.PASSWORD, help="for every --user")
    p.add_argument("scenarios", nargs="*")
    args = p.parse_args()
    boot.setup(conf.load(args.config))
    for spec in args.user:
        name, _, role = spec.partition(":")
        consolehelp.make_user(name, role, args.password)
    for spec in args.scenarios:
        name, *rest = spec.split(":")
        kw = {}
        if rest:
            kw["days"] = float(rest[0])
        h = getattr(histories, name)(**({"days": kw["days"]} if name == "poor_radio_drops" and kw else {}))
        if rest:
            h.days = float(rest[0])
        if len(rest) > 1:
            h.step_s = int(rest[1])
        histories.build(h)
        print(f"seeded {h.device_id}: {h.days:g} days every {h.step_s} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
