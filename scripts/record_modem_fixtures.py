"""Regenerates tests/fixtures/mmcli/*.json and tests/fixtures/qmicli/*.txt from the real tools:
mmcli against ModemManager in test mode driving the `standard` simulated modem, and qmicli
against the fake QMUX modem. Run as root on Debian after `make venv system-deps`:

    .venv/bin/python scripts/record_modem_fixtures.py
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
sys.path.insert(0, str(TESTS))

MMCLI = {"list": ("-L",), "modem": ("-m", "0"), "signal": ("-m", "0", "--signal-get"),
         "location": ("-m", "0", "--location-get"), "sim": ("-i", "0"), "bearer": ("-b", "0")}
QMICLI = ("--nas-get-serving-system", "--nas-get-signal-info", "--nas-get-rf-band-info", "--dms-get-ids",
          "--wds-get-default-settings=3gpp", "--nas-get-cell-location-info")


def record_mmcli() -> None:
    spec = importlib.util.spec_from_file_location("test_mm", TESTS / "sources" / "test_modemmanager.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    reason = mod._live_skip_reason()
    if reason:
        raise SystemExit(f"mmcli fixtures: {reason}")
    out = TESTS / "fixtures" / "mmcli"
    with tempfile.TemporaryDirectory() as tmp:
        live = mod.LiveMM(Path(tmp), "standard")
        try:
            for name, args in MMCLI.items():
                r = live.mmcli(*args)
                r.check_returncode()
                # the test port lives in a fresh temp dir: a fixed name keeps the fixtures stable
                (out / f"{name}.json").write_bytes(r.stdout.replace(tmp.encode(), b"/tmp/uxip-mm"))
                print(f"wrote {out / name}.json")
        finally:
            live.stop()


def record_qmicli() -> None:
    from qmisim import QmiSim

    out = TESTS / "fixtures" / "qmicli"
    with QmiSim() as sim:
        for action in QMICLI:
            r = subprocess.run(["qmicli", "-d", sim.path, "--device-open-qmi", action], capture_output=True,
                               text=True, timeout=20, check=True)
            name = action.lstrip("-").split("=")[0]
            (out / f"{name}.txt").write_text(r.stdout.replace(sim.path, "/dev/cdc-wdm0"))
            print(f"wrote {out / name}.txt")


if __name__ == "__main__":
    record_mmcli()
    record_qmicli()
