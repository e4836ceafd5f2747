"""`make demo`: the whole loop on one machine.

A local mosquitto with mutual TLS (a test CA made on the fly, a per-device ACL), the agent
(`zte-uxip run`) sampling this machine, and `zte-uxip-server watch` printing every decoded
batch and status. Near the end the owner opts out (`zte-uxip disable`) and the server sees the
retained `consent_withdrawn` status and nothing more. `zte-uxip-server ingest` stores what
arrives in SQLite (.demo/server.sqlite3), and `zte-uxip-server show` prints the device before the
opt-out and, erased, at the end. Ctrl-C stops everything it started; it
also ends by itself after DEMO_SECONDS (default 40). Beside it, the support console
(scripts/demo_console.py) serves recorded device histories; its URL and a login are printed, and
an interactive run keeps it up until Ctrl-C.

The modem: DEMO_MODEM (a SPEC such as `at:/dev/ttyUSB2`), else the simulated AT modem of
tests/modemsim.py when it is there (DEMO_DIALECT picks its dialect), else `none`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO = ROOT / ".demo"
MODEMSIM = ROOT / "tests" / "modemsim.py"
sys.path.insert(0, str(ROOT / "tests"))


def say(msg: str) -> None:
    print(f"\n=== demo: {msg}", flush=True)


def start_modem(procs: list[subprocess.Popen[bytes]]) -> str:
    spec = os.environ.get("DEMO_MODEM")
    if spec:
        return spec
    if MODEMSIM.exists():  # the simulated modem prints its pty path on its first line
        p = subprocess.Popen([sys.executable, str(MODEMSIM), "--dialect", os.environ.get("DEMO_DIALECT", "zte")],
                             stdout=subprocess.PIPE)
        procs.append(p)
        assert p.stdout is not None
        return f"at:{p.stdout.readline().decode().strip()}"
    return "none"


def remote_keys() -> Path:
    """`zte-uxip-server keygen`: PREFIX.key stays with the server, PREFIX.pub goes to the device."""
    prefix = DEMO / "command"
    subprocess.run([str(BIN / "zte-uxip-server"), "keygen", "--out", str(prefix)], check=True,
                   capture_output=True)
    return prefix


def server_config(broker: Any, server: Any, command_key: Path) -> Path:
    """One server TOML for everything the operator runs here: ingest, show and diag."""
    config = DEMO / "server.toml"
    config.write_text(f"""# written by scripts/demo.py
region = "eu"
[broker]
host = "127.0.0.1"
port = {broker.port}
ca_file = "{broker.ca.pem}"
cert_file = "{server.cert}"
key_file = "{server.key}"
group = "uxip-demo"
[store]
url = "sqlite:///{DEMO / 'server.sqlite3'}"
[console]
secret_key_file = "{DEMO / 'console.secret'}"
[commands]
signing_key_file = "{command_key}.key"
""")
    return config


def diag_round_trip(config: Path, device_id: str) -> None:
    """Support asks the device for a fresh snapshot: signed, verified on the device, answered."""
    say(f"support runs `zte-uxip-server diag {device_id} snapshot`:")
    r = subprocess.run([str(BIN / "zte-uxip-server"), "diag", device_id, "snapshot", "--config", str(config)],
                       capture_output=True, text=True, timeout=60)
    print(r.stdout + r.stderr, flush=True)


# ---- the store (issue 11): `zte-uxip-server ingest` keeps what arrives in SQLite, and
# `zte-uxip-server show` prints the device's timeline before the opt-out and at the very end.
def start_ingest(procs: list[subprocess.Popen[bytes]], config: Path) -> None:
    procs.append(subprocess.Popen([str(BIN / "zte-uxip-server"), "ingest", "--config", str(config)]))
    say(f"`zte-uxip-server ingest` stores every batch in {DEMO / 'server.sqlite3'}")


def show_device(config: Path, device_id: str) -> None:
    r = subprocess.run([str(BIN / "zte-uxip-server"), "show", device_id, "--since", "10m", "--config", str(config)],
                       capture_output=True, text=True)
    say(f"`zte-uxip-server show {device_id} --since 10m`:\n" + (r.stdout or r.stderr))
# ---- end of the store block


def main() -> int:
    from broker import SERVER_USER, Mosquitto, mosquitto_skip_reason

    from zte_uxip import identity, privacy

    why = mosquitto_skip_reason()
    if why:
        print(f"demo: {why}", file=sys.stderr)
        return 1
    seconds = float(os.environ.get("DEMO_SECONDS", "40"))
    sample_s = int(os.environ.get("DEMO_SAMPLE_S", "2"))
    report_s = int(os.environ.get("DEMO_REPORT_S", "6"))
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(mode=0o700)
    procs: list[subprocess.Popen[bytes]] = []
    broker = Mosquitto(DEMO / "broker")
    console = None
    try:
        # --- the support console (scripts/demo_console.py): its own store, recorded histories, gunicorn
        from demo_console import DemoConsole

        console = DemoConsole(DEMO / "console", procs).start()
        # --- end of the console block
        broker.start()
        say(f"mosquitto with mutual TLS on 127.0.0.1:{broker.port} (log: {broker.log})")
        # The device id is the pseudonym of this machine's base MAC under the device secret;
        # its certificate carries that id, and the broker's ACL confines it to its own topics.
        secret = DEMO / "secret"
        key = privacy.load_or_create_secret(str(secret), create=True)
        mac = identity.base_mac()
        assert key is not None
        device_id = privacy.device_id_from_mac(key, mac) if mac else "demo-router"
        pair = broker.client(device_id)
        server = broker.client(SERVER_USER)
        modem = start_modem(procs)
        # Remote diagnostics: the support key pair, the public half in the device's config.
        command_key = remote_keys()
        toggle = DEMO / "etc" / "enabled"
        toggle.parent.mkdir()
        toggle.write_text("enabled=1\nlocation=1\npolicy_version=demo-1\n")
        config = DEMO / "config.toml"
        config.write_text(f"""# written by scripts/demo.py
[broker]
host = "127.0.0.1"
port = {broker.port}
ca_file = "{broker.ca.pem}"
cert_file = "{pair.cert}"
key_file = "{pair.key}"
reconnect_max_s = 5
[consent]
toggle_file = "{toggle}"
[intervals]
sample_s = {sample_s}
report_s = {report_s}
reports_per_batch = 1   # the demo shows every report as it happens (the default batches 5)
[spool]
dir = "{DEMO / 'spool'}"
[state]
dir = "{DEMO / 'run'}"
flash_dir = "{DEMO / 'flash'}"
[modem]
backend = "{modem}"
[privacy]
secret_file = "{secret}"
[commands]
verify_key_file = "{command_key}.pub"
""")
        procs.append(subprocess.Popen(
            [str(BIN / "zte-uxip-server"), "watch", "--host", "127.0.0.1", "--port", str(broker.port),
             "--ca", str(broker.ca.pem), "--cert", str(server.cert), "--key", str(server.key), "--pretty"]))
        store_config = server_config(broker, server, command_key)
        start_ingest(procs, store_config)
        time.sleep(1.0)
        say(f"agent {device_id}: sample every {sample_s} s, report every {report_s} s, modem {modem}")
        agent = subprocess.Popen([str(BIN / "zte-uxip"), "run", "--config", str(config)])
        procs.append(agent)
        t_end = time.monotonic() + seconds
        opt_out_at = t_end - min(8.0, seconds / 3)
        opted_out = False
        while time.monotonic() < t_end:
            if agent.poll() is not None:
                print(f"demo: the agent exited with {agent.returncode}", file=sys.stderr)
                return 1
            if not opted_out and time.monotonic() >= opt_out_at:
                diag_round_trip(store_config, device_id)
                status = subprocess.run([str(BIN / "zte-uxip"), "status", "--config", str(config)],
                                        capture_output=True, text=True).stdout
                say("`zte-uxip status`:\n" + status)
                show_device(store_config, device_id)
                say("the owner opts out (`zte-uxip disable`): the agent deletes what it holds, tells the server, "
                    "disconnects")
                subprocess.run([str(BIN / "zte-uxip"), "disable", "--config", str(config)], check=True,
                               capture_output=True)
                opted_out = True
            time.sleep(0.2)
        status = json.loads(subprocess.run([str(BIN / "zte-uxip"), "status", "--config", str(config)],
                                           capture_output=True, text=True).stdout or "{}")
        say(f"after the opt-out: consent {status.get('consent')}, spool {status.get('spool')}")
        show_device(store_config, device_id)  # the server erased it: only the tombstone is left
        if console is not None:  # the console block, continued
            if console.ready.wait(45):
                say(f"support console: {console.url}  (log in as {console.user} / {console.password}; "
                    f"open the device flaky-radio-01)")
                if sys.stdin.isatty():
                    say("the console stays up until Ctrl-C")
                    while True:
                        time.sleep(1)
            else:
                say(f"support console not started: {console.error or 'timed out'}")
        return 0
    except KeyboardInterrupt:
        say("Ctrl-C")
        return 130
    finally:
        if console is not None:
            console.stop()
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        broker.stop()
        say("stopped everything it started")


if __name__ == "__main__":
    sys.exit(main())
