"""The agent booted the way a busybox router starts it: init.d/zte-uxip.sysv run by busybox's sh
with busybox's start-stop-daemon, logger (to busybox syslogd), pkill and pgrep, inside the Wi-Fi
tier's QEMU guest (Debian's kernel, TCG). It publishes over mutual TLS to a mosquitto on the
host (the guest reaches the host's loopback as 10.0.2.2 through QEMU user networking).

One boot: start -> telemetry at the host -> stop (retained "offline", clean-shutdown marker) ->
start again (no "did not shut down cleanly", no unexpected_restart) -> SIGKILL, start (this
time the agent says the previous run died: the check can fail) -> stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from broker import Mosquitto, Subscriber, mosquitto_skip_reason
from vm import wifi_vm

pytestmark = pytest.mark.slow
DEVICE = "vm-dev"
STEP_WAIT_S = 150  # one agent start under TCG: python, imports, TLS handshake
CRASH_LINE = "previous run did not shut down cleanly"


def _config(broker: Mosquitto, pair) -> str:
    return f"""device_id = "{DEVICE}"
[broker]
host = "{wifi_vm.HOST_FROM_GUEST}"
port = {broker.port}
ca_file = "{broker.ca.pem}"
cert_file = "{pair.cert}"
key_file = "{pair.key}"
keepalive_s = 60
reconnect_max_s = 5
[intervals]
sample_s = 1
report_s = 2
reports_per_batch = 1
[modem]
backend = "none"
"""


def test_sysv_script_under_busybox_starts_publishes_and_shuts_down_cleanly(tmp_path):
    reason = wifi_vm.skip_reason() or mosquitto_skip_reason()
    if reason:
        pytest.skip(reason)
    broker = Mosquitto(tmp_path / "broker", server_hosts=("127.0.0.1", wifi_vm.HOST_FROM_GUEST)).start()
    sub = Subscriber(broker, f"uxip/v1/{DEVICE}/#")
    out = tmp_path / "vmout"
    out.mkdir()
    (out / "config.toml").write_text(_config(broker, broker.client(DEVICE)))
    result: dict[str, object] = {}

    def boot() -> None:
        try:
            result["vm"] = wifi_vm.run(out, guest=Path(__file__).parent / "vm" / "guest_initd.sh",
                                       timeout_s=4 * STEP_WAIT_S + 120, extra_args=wifi_vm.USER_NET)
        except (wifi_vm.VmUnavailable, AssertionError) as e:
            result["error"] = e

    def states() -> list[str]:
        return [m.get("state", "") for m, _r in sub.statuses()]

    def telemetry_since(n: int) -> bool:
        return len(sub.telemetry()) > n

    vm_thread = threading.Thread(target=boot, daemon=True)
    vm_thread.start()
    seen: dict[str, bool] = {}
    try:
        for step in (1, 2, 3):
            n_tel, n_online = len(sub.telemetry()), states().count("online")
            seen[f"online{step}"] = sub.wait(lambda n=n_online: states().count("online") > n, STEP_WAIT_S)
            seen[f"telemetry{step}"] = sub.wait(lambda n=n_tel: telemetry_since(n), 30)
            (out / f"seen{step}").write_text("1")
            if not seen[f"telemetry{step}"]:
                break
        vm_thread.join(4 * STEP_WAIT_S + 150)
        time.sleep(1)
    finally:
        for step in (1, 2, 3):  # never leave the guest waiting
            (out / f"seen{step}").write_text("1")
        vm_thread.join(60)
        sub.close()
        broker.stop()
    if isinstance(result.get("error"), wifi_vm.VmUnavailable):
        pytest.skip(str(result["error"]))
    guest_log = (out / "guest.log").read_text() if (out / "guest.log").exists() else ""
    syslog = (out / "syslog.txt").read_text(errors="replace") if (out / "syslog.txt").exists() else ""
    context = f"\nguest.log:\n{guest_log[-2000:]}\nsyslog:\n{syslog[-3000:]}\nbroker:\n{broker.log_text()[-1500:]}"
    assert "error" not in result, f"{result.get('error')}{context}"
    steps = (out / "steps.txt").read_text().split("\n") if (out / "steps.txt").exists() else []
    assert [s for s in steps if s.startswith(("start", "stop"))] == \
        ["start1 rc=0", "stop1 rc=0", "start2 rc=0", "start3 rc=0", "stop3 rc=0"], context
    assert all(seen.values()), f"{seen}{context}"
    # The first stop was clean: the retained "offline" came from the agent, its marker was written.
    assert (out / "clean_shutdown.1").exists(), context
    assert states()[:3] == ["online", "offline", "online"], f"{states()}{context}"
    # Each start logs its device line first (through logger into busybox's syslogd).
    runs = syslog.split(f"device {DEVICE}, broker")[1:]
    assert len(runs) == 3, context
    assert CRASH_LINE not in runs[0] and CRASH_LINE not in runs[1], "clean stop reported as a crash" + context
    assert CRASH_LINE in runs[2], "the SIGKILLed run was not noticed" + context
    events = [e for b in sub.telemetry() for e in b.get("events", [])]
    assert not [e for e in events if e.get("type") == "unexpected_restart"], events
    assert "Traceback" not in syslog, context
