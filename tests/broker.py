"""A real mosquitto with mutual TLS for tests and `make demo`: a test CA made on the fly
(cryptography's x509 builder, so expired and wrong-host certificates are possible too), a TLS
listener on 127.0.0.1 that requires client certificates and takes the certificate's CN as the
user name, a per-device ACL, persistence off, everything logged to a file the tests read."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_USER = "server"  # the management server's identity: reads every device


def mosquitto_skip_reason() -> str | None:
    if shutil.which("mosquitto") is None and not os.path.exists("/usr/sbin/mosquitto"):
        return "needs mosquitto (apt mosquitto; `make test` installs it as root)"
    return None


def mosquitto_bin() -> str:
    return shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pair:
    cert: Path
    key: Path


class CA:
    def __init__(self, dir: Path, name: str = "uxip test CA") -> None:
        self.dir = dir
        dir.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.cert = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = dir / f"{name.replace(' ', '_')}.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, cn: str, *, server: bool = False, hosts: tuple[str, ...] = (),
              expired: bool = False) -> Pair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        if expired:
            nb, na = now - dt.timedelta(days=10), now - dt.timedelta(days=1)
        else:
            nb, na = now - dt.timedelta(hours=1), now + dt.timedelta(days=30)
        b = (
            x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(nb).not_valid_after(na)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        )
        if hosts:
            names: list[x509.GeneralName] = []
            for h in hosts:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(h)))
                except ValueError:
                    names.append(x509.DNSName(h))
            b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = b.sign(self.key, hashes.SHA256())
        stem = self.dir / f"{cn}{'-expired' if expired else ''}"
        pair = Pair(stem.with_suffix(".crt"), stem.with_suffix(".key"))
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        fd = os.open(pair.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        return pair


class Mosquitto:
    """One broker process owned by the caller (stopped by its pid, never by name)."""

    def __init__(self, dir: Path, *, server_hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                 server_expired: bool = False, port: int | None = None,
                 extra_conf: tuple[str, ...] = (), extra_acl: str = "") -> None:
        self.dir = dir
        dir.mkdir(parents=True, exist_ok=True)
        self.ca = CA(dir / "pki")
        self.server = self.ca.issue("broker", server=True, hosts=server_hosts, expired=server_expired)
        self.port = port or free_port()
        self.log = dir / "mosquitto.log"
        self.conf = dir / "mosquitto.conf"
        acl = dir / "acl"
        acl.write_text(
            f"user {SERVER_USER}\ntopic read uxip/v1/#\ntopic write uxip/v1/+/cmd\n\n"
            "pattern readwrite uxip/v1/%u/telemetry\npattern readwrite uxip/v1/%u/status\n"
            "pattern read uxip/v1/%u/cmd\npattern write uxip/v1/%u/cmd/result\n" + extra_acl
        )
        lines = [
            "per_listener_settings false",
            "allow_anonymous false",
            "persistence false",
            f"log_dest file {self.log}",
            "log_type all",
            "connection_messages true",
            "log_timestamp true",
            "log_timestamp_format %H:%M:%S",
            f"acl_file {acl}",
            *extra_conf,
            f"listener {self.port} 127.0.0.1",
            f"cafile {self.ca.pem}",
            f"certfile {self.server.cert}",
            f"keyfile {self.server.key}",
            "require_certificate true",
            "use_identity_as_username true",
            "tls_version tlsv1.2",
        ]
        if os.geteuid() == 0:
            lines.insert(0, "user root")
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def client(self, cn: str, expired: bool = False) -> Pair:
        return self.ca.issue(cn, expired=expired)

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen([mosquitto_bin(), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""


class Subscriber:
    """The management server's view: a paho client as `server`, collecting decoded messages."""

    def __init__(self, broker: Mosquitto, topic: str = "uxip/v1/#") -> None:
        import ssl
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from zte_uxip.wire import codec

        pair = broker.client(SERVER_USER)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=str(broker.ca.pem))
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
        self.messages: list[tuple[str, dict, bool, float]] = []  # topic, decoded, retained, monotonic time
        self.raw: list[tuple[str, bytes, float]] = []  # topic, payload as sent, monotonic time
        self.lock = threading.Lock()
        subscribed = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{os.getpid()}-{time.monotonic_ns()}",
                        protocol=mqtt.MQTTv5)
        c.tls_set_context(ctx)

        def on_connect(client, _u, _f, rc, _p):
            client.subscribe(topic, qos=1)

        def on_subscribe(*_a):
            subscribed.set()

        def on_message(_c, _u, msg):
            try:
                decoded = codec.decode(msg.payload)
            except codec.DecodeError as e:  # kept, so a test can see it; never kills the thread
                decoded = {"decode_error": str(e)}
            with self.lock:
                now = time.monotonic()
                self.messages.append((msg.topic, decoded, bool(msg.retain), now))
                self.raw.append((msg.topic, bytes(msg.payload), now))

        c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
        c.connect("127.0.0.1", broker.port, keepalive=30)
        c.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("subscriber could not subscribe")
        self.client = c

    def telemetry(self) -> list[dict]:
        with self.lock:
            return [m for t, m, _r, _ts in self.messages if t.endswith("/telemetry") and "/paho-ref/" not in t]

    def statuses(self) -> list[tuple[dict, bool]]:
        with self.lock:
            return [(m, r) for t, m, r, _ts in self.messages if t.endswith("/status")]

    def wait(self, pred, timeout_s: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return pred()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
