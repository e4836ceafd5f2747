"""`zte-uxip-server keygen` and `zte-uxip-server diag`: support's remote diagnostics without the
console. `diag` signs a command with ``[commands] signing_key_file``, publishes it as the
server's broker identity (``[broker]``), waits for the device's answer on ``cmd/result`` and
prints it (for humans, or ``--json``). Exit 0 on ``ok``; 1 on ``refused``, ``failed``,
``timeout`` or no answer; 2 on bad input or configuration.

Imports only ``zte_uxip.wire`` from the package (and paho, cbor2, PyNaCl).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import ssl
import sys
import time
from typing import Any

from ..wire import codec, topics
from . import conf, signing
from .mqtt import jsonable, tls_context

DEFAULT_CONFIG = "/etc/zte_uxip/server.toml"
_ARG = re.compile(r"^([a-z_]{1,32})=(.*)$", re.DOTALL)


def add_parser(sub: Any) -> None:
    k = sub.add_parser("keygen", help="an Ed25519 key pair for remote commands: PREFIX.key (0600), PREFIX.pub")
    k.add_argument("--out", required=True, metavar="PREFIX")
    d = sub.add_parser("diag", help="sign a remote command, publish it, wait for the device's answer")
    d.add_argument("device")
    d.add_argument("verb")
    d.add_argument("args", nargs="*", metavar="NAME=VALUE", help="integers are sent as integers, the rest as text")
    d.add_argument("--timeout", type=float, default=30.0, metavar="S", help="wait this long (default 30)")
    d.add_argument("--json", action="store_true", help="one JSON document")
    d.add_argument("--config", default=DEFAULT_CONFIG, help=f"server TOML (default {DEFAULT_CONFIG})")


def _err(msg: str, code: int) -> int:
    print(f"zte-uxip-server: {msg}", file=sys.stderr)
    return code


def run_keygen(args: argparse.Namespace) -> int:
    try:
        key_path, pub_path = signing.keygen(args.out)
    except (signing.KeyError_, OSError) as e:
        return _err(f"keygen: {getattr(e, 'strerror', None) or e}", 2)
    print(f"{key_path} (secret, 0600: stays on the server)\n{pub_path} (public: [commands] verify_key_file "
          "on the devices)")
    return 0


def parse_args(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        m = _ARG.match(pair)
        if m is None:
            raise ValueError(f"{pair!r}: expected NAME=VALUE with a lower-case NAME")
        name, value = m.groups()
        out[name] = int(value) if re.fullmatch(r"-?[0-9]{1,18}", value) else value
    return out


class _Exchange:
    """One command's round trip over one MQTT session."""

    def __init__(self, cfg: conf.BrokerSection, device: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        ctx = tls_context(cfg.ca_file, cfg.cert_file, cfg.key_file)
        self.t_cmd, self.t_result, self.t_status = topics.cmd(device), topics.cmd_result(device), topics.status(device)
        self.answers: list[dict[str, Any]] = []
        self.device_state: str | None = None
        self.subscribed = False
        self.refused_connect: str | None = None
        import secrets

        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"diag-{secrets.token_hex(6)}",
                             protocol=mqtt.MQTTv5)
        self.c.tls_set_context(ctx)
        self.c.on_connect, self.c.on_subscribe, self.c.on_message = self._on_connect, self._on_subscribe, self._on_msg
        self.c.connect(cfg.host, cfg.port, keepalive=60)

    def _on_connect(self, client: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            self.refused_connect = str(rc)
            return
        client.subscribe([(self.t_result, 1), (self.t_status, 1)])

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, codes: Any, _p: Any) -> None:
        self.subscribed = all(not getattr(rc, "is_failure", False) for rc in codes)
        if not self.subscribed:
            self.refused_connect = "SUBSCRIBE refused (broker ACL)"

    def _on_msg(self, _c: Any, _u: Any, msg: Any) -> None:
        try:
            obj = codec.loads_limited(msg.payload) if msg.topic == self.t_result else codec.decode(msg.payload)
        except codec.DecodeError:
            return
        if msg.topic == self.t_status:
            self.device_state = obj.get("state")
        elif isinstance(obj, dict):
            self.answers.append(obj)

    def until(self, pred: Any, deadline: float) -> bool:
        while not pred() and self.refused_connect is None and time.monotonic() < deadline:
            self.c.loop(timeout=0.05)
        return bool(pred())

    def close(self) -> None:
        self.c.disconnect()


def run_diag(args: argparse.Namespace) -> int:
    try:
        cmd_args = parse_args(args.args)
        topics.check_device_id(args.device)
        if not 1 <= args.timeout <= 3600:
            raise ValueError("--timeout: must be 1..3600 s")
        server_cfg = conf.load(args.config)
        key = signing.load_signing_key(server_cfg.commands.signing_key_file)
        cfg = server_cfg.need_broker()
    except (ValueError, signing.KeyError_) as e:
        return _err(f"diag: {e}", 2)
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    try:
        ex = _Exchange(cfg, args.device)
    except (OSError, ssl.SSLError) as e:
        return _err(f"diag: broker {cfg.host}:{cfg.port}: {e}", 1)
    try:
        if not ex.until(lambda: ex.subscribed, deadline):
            return _err(f"diag: broker {cfg.host}:{cfg.port}: {ex.refused_connect or 'no SUBACK'}", 1)
        issued = int(time.time())
        cid, message = signing.sign_command(key, args.device, args.verb, cmd_args, issued,
                                            issued + math.ceil(args.timeout))
        t_sent = time.monotonic()
        ex.c.publish(ex.t_cmd, message, qos=1)

        def answer() -> dict[str, Any] | None:
            return next((a for a in ex.answers if a.get("id") == cid), None)

        ex.until(lambda: answer() is not None, deadline)
        got = answer()
        round_trip_s = round(time.monotonic() - t_sent, 4)
    finally:
        ex.close()
    out: dict[str, Any] = {"device_id": args.device, "verb": args.verb, "id": cid.hex()}
    if got is None:
        out.update(status="timeout", reason=f"no answer within {args.timeout:g} s"
                   + (f" (device status: {ex.device_state})" if ex.device_state else ""))
    else:
        out["status"] = str(got.get("status"))
        out.update({k: jsonable(got[k]) for k in ("result", "reason") if k in got})
        out["round_trip_s"] = round_trip_s
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        _print_human(out)
    return 0 if out["status"] == "ok" else 1


def _print_human(out: dict[str, Any]) -> None:
    rt = f" in {out['round_trip_s']:.3f} s" if "round_trip_s" in out else ""
    head = f"{out['device_id']} {out['verb']}: {out['status']}{rt} (id {out['id']})"
    if out["status"] != "ok":
        print(f"{head}: {out.get('reason', '')}", file=sys.stdout)
        return
    print(head)
    for line in json.dumps(out.get("result", {}), indent=2, ensure_ascii=True).splitlines()[1:-1]:
        print(line[2:] if line.startswith("  ") else line)
