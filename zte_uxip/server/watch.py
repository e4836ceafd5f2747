"""`zte-uxip-server watch`: subscribe as the management server and print every decoded message.

Imports only ``zte_uxip.wire`` from the package (and paho): the server side never depends on
the agent. A message that does not decode is printed as an error line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
from typing import Any

from ..wire import codec, topics
from .conf import ServerConfigError
from .mqtt import jsonable, tls_context


def add_parser(sub: Any) -> None:
    w = sub.add_parser("watch", help="subscribe (mutual TLS) and print decoded telemetry and status")
    w.add_argument("--host", required=True)
    w.add_argument("--port", type=int, default=8883)
    w.add_argument("--ca", required=True, help="CA that signed the broker's certificate")
    w.add_argument("--cert", required=True, help="the server's client certificate")
    w.add_argument("--key", required=True)
    w.add_argument("--topic", default=f"{topics.PREFIX}/+/#")
    w.add_argument("--seconds", type=float, default=0, help="stop after this long (0: until Ctrl-C)")
    w.add_argument("--pretty", action="store_true", help="indented JSON")


def run(args: argparse.Namespace) -> int:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    try:
        ctx = tls_context(args.ca, args.cert, args.key)
    except ServerConfigError as e:
        print(f"zte-uxip-server: watch: {e}", file=sys.stderr)
        return 2

    def on_connect(client: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            print(f"zte-uxip-server: watch: CONNECT refused: {rc}", file=sys.stderr)
            return
        client.subscribe(args.topic, qos=1)

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        out: dict[str, Any] = {"topic": msg.topic, "retained": bool(msg.retain), "bytes": len(msg.payload)}
        try:
            out["device_id"], out["leaf"] = topics.parse(msg.topic)
            if out["leaf"] == "cmd":  # a signed COSE_Sign1 command (diag): not a schema message
                out["message"] = {"signed_command": True}
            elif out["leaf"] == "cmd/result":  # plain CBOR with text keys
                out["message"] = jsonable(codec.loads_limited(msg.payload))
            else:
                out["message"] = codec.decode(msg.payload)
        except (ValueError, codec.DecodeError) as e:
            out["error"] = str(e)
        print(json.dumps(out, indent=2 if args.pretty else None), flush=True)

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{int(time.time())}", protocol=mqtt.MQTTv5)
    c.tls_set_context(ctx)
    c.on_connect, c.on_message = on_connect, on_message
    try:
        c.connect(args.host, args.port, keepalive=60)
    except (OSError, ssl.SSLError) as e:
        print(f"zte-uxip-server: watch: {args.host}:{args.port}: {e}", file=sys.stderr)
        return 1
    deadline = time.monotonic() + args.seconds if args.seconds > 0 else None
    try:
        while deadline is None or time.monotonic() < deadline:
            c.loop(timeout=0.5)
    except KeyboardInterrupt:
        pass
    c.disconnect()
    return 0
