"""Remote-command test rig: keys made by `zte-uxip-server keygen`, a server TOML for `diag`,
wrapper `ping`/`nslookup` tools on the agent's PATH that record every invocation (proof that a
refused command started no process), a local DNS responder, and a raw server-side client for
hand-made messages (forged, expired, junk)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from broker import SERVER_USER, Mosquitto
from dnsserver import DnsServer

BIN = Path(sys.executable).parent
DNS_RECORDS = {"ok.test": "192.0.2.7", "router.example": "198.51.100.9"}


def keygen(prefix: Path) -> tuple[Path, Path]:
    r = subprocess.run([str(BIN / "zte-uxip-server"), "keygen", "--out", str(prefix)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return prefix.with_suffix(".key"), prefix.with_suffix(".pub")


class RemoteRig:
    def __init__(self, dir: Path, broker: Mosquitto) -> None:
        self.dir, self.broker = dir, broker
        dir.mkdir(parents=True, exist_ok=True)
        self.key, self.pub = keygen(dir / "command")
        server = broker.client(SERVER_USER)
        self.server_pair = server
        self.server_toml = self.write_server_toml(dir / "server.toml", self.key)
        self.dns = DnsServer(DNS_RECORDS)
        self.tools = dir / "tools"
        self.tools.mkdir()
        self.invocations = dir / "invocations.log"
        ping = shutil.which("ping") or "/usr/bin/ping"
        busybox = shutil.which("busybox") or "/usr/bin/busybox"
        # The agent finds these first on its PATH: each records its argv, then runs the real tool
        # (nslookup: busybox's, the router's own, pointed at the local responder).
        for name, real in (("ping", f'"{ping}" "$@"'),
                           ("nslookup", f'"{busybox}" nslookup "$@" 127.0.0.1:{self.dns.port}')):
            p = self.tools / name
            p.write_text(f'#!/bin/sh\nprintf "%s" "{name}" >> "{self.invocations}"\n'
                         f'for a in "$@"; do printf " [%s]" "$a" >> "{self.invocations}"; done\n'
                         f'echo >> "{self.invocations}"\nexec {real}\n')
            p.chmod(0o755)

    def write_server_toml(self, path: Path, key: Path) -> Path:
        path.write_text(f"""region = "eu"
[broker]
host = "127.0.0.1"
port = {self.broker.port}
ca_file = "{self.broker.ca.pem}"
cert_file = "{self.server_pair.cert}"
key_file = "{self.server_pair.key}"
[commands]
signing_key_file = "{key}"
""")
        return path

    def agent_extra(self) -> str:
        return f'[commands]\nverify_key_file = "{self.pub}"\n'

    def agent_env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.tools}:{os.environ.get('PATH', '/usr/bin:/bin')}"}

    def ran(self) -> list[str]:
        try:
            return [ln for ln in self.invocations.read_text().splitlines() if ln]
        except FileNotFoundError:
            return []

    def diag(self, device: str, verb: str, *args: str, timeout_s: float = 20, config: Path | None = None,
             as_json: bool = True) -> tuple[int, Any, str]:
        cmd = [str(BIN / "zte-uxip-server"), "diag", device, verb, *args, "--timeout", str(timeout_s),
               "--config", str(config or self.server_toml)]
        if as_json:
            cmd.append("--json")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s + 30)
        out = json.loads(r.stdout) if as_json and r.stdout.strip().startswith("{") else r.stdout
        return r.returncode, out, r.stderr

    def close(self) -> None:
        self.dns.close()


def wait_subscribed(broker: Mosquitto, device_id: str, timeout_s: float = 20) -> bool:
    """The agent's SUBSCRIBE to its cmd topic, as mosquitto logged it."""
    needle = f"uxip/v1/{device_id}/cmd (QoS 1)"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if needle in broker.log_text():
            return True
        time.sleep(0.05)
    return False


class Support:
    """The server's identity as a bare paho client: publishes hand-made messages on a device's cmd
    topic and collects every answer on its cmd/result."""

    def __init__(self, broker: Mosquitto, device_id: str) -> None:
        import ssl

        import cbor2
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        pair = broker.client(SERVER_USER)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=str(broker.ca.pem))
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
        self.topic = f"uxip/v1/{device_id}/cmd"
        self.answers: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"support-{os.getpid()}-{time.monotonic_ns()}",
                        protocol=mqtt.MQTTv5)
        c.tls_set_context(ctx)

        def on_message(_c, _u, msg):
            with self.lock:
                self.answers.append(cbor2.loads(msg.payload))

        c.on_connect = lambda client, *_a: client.subscribe(f"{self.topic}/result", qos=1)
        c.on_subscribe = lambda *_a: ready.set()
        c.on_message = on_message
        c.connect("127.0.0.1", broker.port, keepalive=30)
        c.loop_start()
        assert ready.wait(10), "support client could not subscribe"
        self.client = c

    def send(self, data: bytes) -> int:
        with self.lock:
            n = len(self.answers)
        self.client.publish(self.topic, data, qos=1).wait_for_publish(10)
        return n

    def wait_answer(self, cid: bytes | None = None, after: int = 0, timeout_s: float = 15) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                for a in self.answers[after:]:
                    if cid is None or a.get("id") == cid:
                        return a
            time.sleep(0.02)
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
