"""Re-record tier 1's nl80211 fixtures from the real kernel (tier 2's VM).

    .venv/bin/python tests/vm/record_fixtures.py

Boots the VM (tests/vm/wifi_vm.py), which records every nl80211 reply our source receives plus
`iw dev` / `iw dev wlan0 station dump` taken right after, and replaces
tests/fixtures/nl80211-hwsim/ with them. Nothing in that folder is typed by hand.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel import ROOT, prepare  # noqa: E402
from wifi_vm import run  # noqa: E402

DEST = ROOT / "tests" / "fixtures" / "nl80211-hwsim"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="uxip-vm-") as tmp:
        res = run(Path(tmp))
        rc = (res.out / "collect.rc").read_text().strip() if (res.out / "collect.rc").exists() else "missing"
        if rc != "collect_rc=0":
            print(f"record: the guest failed ({rc}):\n{(res.out / 'guest.log').read_text()}", file=sys.stderr)
            return 1
        if DEST.exists():
            shutil.rmtree(DEST)
        shutil.copytree(res.out / "fixtures", DEST)
        (DEST / "KERNEL").write_text(f"linux-image-{prepare().abi} (Debian), mac80211_hwsim radios=2, "
                                     "hostapd WPA2 channel 6 on wlan0, wpa_supplicant on wlan1\n")
    print(f"recorded {len(list(DEST.iterdir()))} files into {DEST.relative_to(ROOT)} in {res.wall_s:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
