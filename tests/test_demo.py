"""`make demo` end to end, non-interactive: it must show telemetry and the opt-out, end by
itself, and leave nothing running."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from broker import mosquitto_skip_reason

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(mosquitto_skip_reason() is not None, reason=mosquitto_skip_reason() or "")
def test_demo_runs_the_whole_loop_and_stops_everything():
    env = {**os.environ, "DEMO_SECONDS": "14", "DEMO_SAMPLE_S": "1", "DEMO_REPORT_S": "3"}
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")], capture_output=True, text=True,
                       timeout=90, env=env, stdin=subprocess.DEVNULL, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert '"leaf": "telemetry"' in out and '"seq": 1' in out
    assert '"state": "consent_withdrawn"' in out
    assert " snapshot: ok in " in out and '"leaf": "cmd/result"' in out  # the remote diagnostic round trip
    assert "support console: http://127.0.0.1:" in out and "log in as demo / " in out
    assert out.rstrip().endswith("stopped everything it started")
    assert "Traceback" not in r.stderr
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(ROOT / ".demo").encode() in cmdline.read_bytes():
                left.append(cmdline.parent.name)
        except OSError:
            continue  # gone meanwhile
    assert left == []  # no broker, agent or watcher of the demo left behind
