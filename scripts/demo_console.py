"""The console part of `make demo`: a store filled with recorded device histories (a router at
the cell edge whose WAN keeps dropping, a healthy one, one restarting, one roaming), a demo
user, and `zte-uxip-server console` (gunicorn) on a free port. It runs beside the rest of the
demo; interactive runs keep it up after the demo's timeline until Ctrl-C.

Once ingest writes the store, the histories can come from the demo's own agent instead.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCENARIOS = ["poor_radio_drops:30:300", "healthy:7:600", "restarts:7:600", "roaming:3:600"]


class DemoConsole:
    def __init__(self, where: Path, procs: list[subprocess.Popen[bytes]]) -> None:
        sys.path.insert(0, str(ROOT / "tests"))
        from broker import free_port

        self.dir, self.procs = where, procs
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.user, self.password = "demo", secrets.token_urlsafe(12)
        self.config = self.dir / "server.toml"
        self.config.write_text(f'# written by scripts/demo_console.py\nregion = "eu"\n[store]\n'
                               f'url = "sqlite:///{self.dir / "server.sqlite3"}"\n[console]\n'
                               f'listen = "127.0.0.1:{self.port}"\nsecret_key_file = "{self.dir / "console.secret"}"\n'
                               f'workers = 2\n')
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.ready = threading.Event()
        self.error = ""

    def start(self) -> DemoConsole:
        self._thread.start()
        return self

    def _add_user(self) -> list[str]:
        """`zte-uxip-server user add` when this build has it, else the seeding script makes the user."""
        r = subprocess.run([str(BIN / "zte-uxip-server"), "user", "add", self.user, "--role", "admin",
                            "--config", str(self.config)], input=self.password + "\n", capture_output=True,
                           text=True, check=False)
        return [] if r.returncode == 0 else ["--user", f"{self.user}:admin", "--password", self.password]

    def _run(self) -> None:
        seed = [sys.executable, str(ROOT / "tests" / "server" / "seed_console.py"), "--config", str(self.config)]
        r = subprocess.run([*seed, *SCENARIOS], capture_output=True, text=True, check=False)
        extra = self._add_user() if r.returncode == 0 else []
        if r.returncode == 0 and extra:
            r = subprocess.run([*seed, *extra], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            self.error = (r.stderr.strip().splitlines() or ["seeding failed"])[-1]
            return
        if self._stop.is_set():
            return
        log = open(self.dir / "console.log", "wb")  # noqa: SIM115 (the process owns it until it ends)
        self.procs.append(subprocess.Popen([str(BIN / "zte-uxip-server"), "console", "--config", str(self.config)],
                                           stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                with urllib.request.urlopen(f"{self.url}login/", timeout=2) as resp:  # noqa: S310 (our http URL)
                    if resp.status == 200:
                        self.ready.set()
                        return
            except OSError:
                time.sleep(0.3)
        self.error = f"the console did not answer; see {self.dir / 'console.log'}"

    def stop(self) -> None:
        """Before the demo stops its processes: no console may start after that."""
        self._stop.set()
        self._thread.join(60)
