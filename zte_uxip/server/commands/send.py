"""Send a signed command from the console: record it, publish it, return at once.

The console does not wait for the device: the answer comes back on ``cmd/result`` and ingest
fills in the same :class:`Command` row, which the device page shows. The row is written before
the command is published, so an answer can never arrive for a command the store does not know;
a command that could not be published is marked ``failed`` with the reason.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

from ...wire import topics
from .. import conf, signing
from ..mqtt import tls_context
from ..store.models import AuditEntry
from .models import Command

# What support may send from the console, with the arguments each takes (the device checks
# them again against its own allow-list: this list only keeps typos from being signed).
VERBS: dict[str, tuple[str, ...]] = {
    "snapshot": (),
    "events": ("count",),
    "link": (),
    "modem": (),
    "ping": ("host", "count"),
    "dns": ("name",),
    "selftest": (),
}
PUBLISH_TIMEOUT_S = 10.0


class SendError(ValueError):
    """One line for the person who pressed the button."""


def publish_once(broker: conf.BrokerSection, topic: str, payload: bytes, timeout_s: float = PUBLISH_TIMEOUT_S) -> None:
    """Connect with the server's identity, publish at QoS 1, wait for PUBACK, disconnect."""
    import secrets

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    try:
        ctx = tls_context(broker.ca_file, broker.cert_file, broker.key_file)
    except conf.ServerConfigError as e:
        raise SendError(str(e)) from None
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"console-{secrets.token_hex(6)}", protocol=mqtt.MQTTv5)
    c.tls_set_context(ctx)
    deadline = time.monotonic() + timeout_s
    try:
        c.connect(broker.host, broker.port, keepalive=30)
        info = c.publish(topic, payload, qos=1)
        while not info.is_published() and time.monotonic() < deadline:
            c.loop(timeout=0.05)
        if not info.is_published():
            raise SendError(f"broker {broker.host}:{broker.port}: no PUBACK within {timeout_s:g} s")
    except (OSError, ssl.SSLError) as e:
        raise SendError(f"broker {broker.host}:{broker.port}: {e}") from None
    finally:
        c.disconnect()


def send_command(cfg: conf.ServerConfig, device_id: str, verb: str, args: dict[str, Any], username: str,
                 remote_addr: str = "cli") -> Command:
    """Sign, record (audited), publish. Raises SendError with one line if it cannot be sent."""
    topics.check_device_id(device_id)
    allowed = VERBS.get(verb)
    if allowed is None:
        raise SendError(f"unknown verb {verb!r}")
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise SendError(f"{verb}: unknown argument {unknown[0]!r}")
    try:
        key = signing.load_signing_key(cfg.commands.signing_key_file)
        broker = cfg.need_broker()
    except (signing.KeyError_, conf.ServerConfigError) as e:
        raise SendError(str(e)) from None
    issued = int(time.time())
    expires = issued + cfg.commands.expiry_s
    cid, message = signing.sign_command(key, device_id, verb, args, issued, expires)
    cmd = Command.objects.create(
        command_id=cid.hex(), device_id=device_id, verb=verb, args=args, issued_by=username,
        issued_ts=issued, expires_ts=expires, status="sent",
    )
    AuditEntry.objects.create(ts=issued, username=username, action="command", device_id=device_id,
                              detail=f"{verb} {args or ''}".strip()[:500], remote_addr=remote_addr)
    try:
        publish_once(broker, topics.cmd(device_id), message)
    except SendError as e:
        Command.objects.filter(pk=cmd.pk, status="sent").update(status="failed", reason=str(e)[:200])
        cmd.refresh_from_db()
        raise
    return cmd
