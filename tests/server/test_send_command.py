"""The console's send path: a command is recorded and audited before it is published, signed so
the device's own verifier accepts it, and marked failed (one line) when the broker is away."""

from __future__ import annotations

import ssl
import threading
import time

import pytest
from broker import SERVER_USER, Mosquitto, mosquitto_skip_reason

from zte_uxip.remote import envelope
from zte_uxip.server import conf, signing
from zte_uxip.server.commands.models import Command
from zte_uxip.server.commands.send import SendError, send_command
from zte_uxip.server.store.models import AuditEntry

pytestmark = pytest.mark.skipif(mosquitto_skip_reason() is not None, reason=str(mosquitto_skip_reason()))


@pytest.fixture
def broker(tmp_path):
    b = Mosquitto(tmp_path / "broker").start()
    yield b
    b.stop()


def _cfg(tmp_path, b: Mosquitto) -> conf.ServerConfig:
    key_path, _pub = signing.keygen(str(tmp_path / "cmd"))
    pair = b.client(SERVER_USER)
    return conf.from_dict({
        "broker": {"host": "127.0.0.1", "port": b.port, "ca_file": str(b.ca.pem),
                   "cert_file": str(pair.cert), "key_file": str(pair.key)},
        "commands": {"signing_key_file": key_path},
    })


def test_command_recorded_audited_and_verifiable_by_the_device(tmp_path, broker, db):
    # the listener stands in for the device: the ACL lets device "dev-9" read its own cmd topic
    b = broker
    cfg = _cfg(tmp_path, b)
    pair = b.client("dev-9")
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    got: list[bytes] = []
    ready = threading.Event()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(b.ca.pem))
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-9", protocol=mqtt.MQTTv5)
    c.tls_set_context(ctx)
    c.on_connect = lambda cl, *_a: cl.subscribe("uxip/v1/dev-9/cmd", qos=1)
    c.on_subscribe = lambda *_a: ready.set()
    c.on_message = lambda _c, _u, msg: got.append(bytes(msg.payload))
    c.connect("127.0.0.1", b.port)
    c.loop_start()
    try:
        assert ready.wait(10)
        cmd = send_command(cfg, "dev-9", "ping", {"host": "192.0.2.1", "count": 2}, "alice", "10.0.0.5")
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        c.disconnect()
        c.loop_stop()
    assert cmd.status == "sent" and cmd.issued_by == "alice"
    assert Command.objects.get(command_id=cmd.command_id).verb == "ping"
    verify_key = envelope.load_verify_key(str(tmp_path / "cmd.pub"))
    opened = envelope.open_envelope(got[0], verify_key)
    assert opened.id.hex() == cmd.command_id and opened.device_id == "dev-9" and opened.verb == "ping"
    assert opened.args == {"host": "192.0.2.1", "count": 2}
    a = AuditEntry.objects.get(action="command", device_id="dev-9")
    assert (a.username, a.remote_addr) == ("alice", "10.0.0.5") and "ping" in a.detail


def test_unreachable_broker_marks_the_command_failed(tmp_path, broker, db):
    cfg = _cfg(tmp_path, broker)
    broker.stop()
    with pytest.raises(SendError) as e:
        send_command(cfg, "dev-9", "snapshot", {}, "alice")
    assert "\n" not in str(e.value) and f"127.0.0.1:{broker.port}" in str(e.value)
    cmd = Command.objects.get(device_id="dev-9")
    assert cmd.status == "failed" and cmd.reason


@pytest.mark.parametrize("verb, args, message", [
    ("reboot", {}, "unknown verb"),
    ("ping", {"host": "x", "flags": "-f"}, "unknown argument 'flags'"),
])
def test_not_on_the_list_is_not_signed(tmp_path, broker, db, verb, args, message):
    cfg = _cfg(tmp_path, broker)
    with pytest.raises(SendError, match=message):
        send_command(cfg, "dev-9", verb, args, "alice")
    assert not Command.objects.exists()
