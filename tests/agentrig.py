"""An agent under test: config, certificates and toggle file in a temp dir, the real
`zte-uxip run` as a subprocess against a real broker (tests/broker.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from broker import Mosquitto

BIN = Path(sys.executable).parent


class AgentRig:
    def __init__(self, dir: Path, broker: Mosquitto, device_id: str = "dev-1", *, host: str = "127.0.0.1",
                 ca: Path | None = None, client_expired: bool = False, sample_s: int = 1, report_s: int = 2,
                 max_bytes: int = 256 * 1024, persist_after_s: int = 1800, reconnect_max_s: int = 2,
                 spool_dir: Path | None = None, enabled: str | None = "1\n", keepalive_s: int = 60,
                 reports_per_batch: int = 1, extra: str = "") -> None:
        self.dir = dir
        dir.mkdir(parents=True, exist_ok=True)
        self.broker = broker
        self.device_id = device_id
        pair = broker.client(device_id, expired=client_expired)
        self.toggle = dir / "etc" / "enabled"
        self.toggle.parent.mkdir(exist_ok=True)
        if enabled is not None:
            self.toggle.write_text(enabled)
        self.state_dir = dir / "run"
        self.spool_dir = spool_dir or dir / "spool"
        self.config = dir / "config.toml"
        self.config.write_text(f"""device_id = "{device_id}"
[broker]
host = "{host}"
port = {broker.port}
ca_file = "{ca or broker.ca.pem}"
cert_file = "{pair.cert}"
key_file = "{pair.key}"
keepalive_s = {keepalive_s}
reconnect_max_s = {reconnect_max_s}
[consent]
toggle_file = "{self.toggle}"
[intervals]
sample_s = {sample_s}
report_s = {report_s}
reports_per_batch = {reports_per_batch}
[spool]
dir = "{self.spool_dir}"
max_bytes = {max_bytes}
persist_after_s = {persist_after_s}
[state]
dir = "{self.state_dir}"
flash_dir = "{dir / 'flash'}"
[modem]
backend = "none"
[privacy]
secret_file = "{dir / 'secret'}"
{extra}""")
        self.log = dir / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str] | None = None) -> AgentRig:
        fh = open(self.log, "ab")
        self.proc = subprocess.Popen([str(BIN / "zte-uxip"), "run", "--config", str(self.config)],
                                     stdout=fh, stderr=fh, env=None if env is None else {**os.environ, **env})
        fh.close()
        return self

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "zte-uxip"), *args, "--config", str(self.config)],
                              capture_output=True, text=True, timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        rc, self.proc = self.proc.returncode, None
        return rc

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def set_toggle(self, text: str | None) -> None:
        """As the WebUI does: write a temp file and rename it over the toggle file."""
        if text is None:
            self.toggle.unlink(missing_ok=True)
            return
        tmp = self.toggle.with_name(".enabled.new")
        tmp.write_text(text)
        os.replace(tmp, self.toggle)

    def wait_log(self, needle: str, timeout_s: float = 20) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.05)
        return False
