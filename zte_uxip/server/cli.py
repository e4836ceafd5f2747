"""`zte-uxip-server`: the operator's side. For now: the schema (CDDL) and decoding; ingest,
store, retention, export, erase and the support console grow here."""

from __future__ import annotations

import argparse
import json
import sys

from ..wire import codec, schema
from ..wire.cddl import generate
from . import diag, watch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="zte-uxip-server", description="zte_uxip management-server tools")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("cddl", help="print the wire schema as CDDL (RFC 8610)")
    d = sub.add_parser("decode", help="decode a CBOR message (file or -) to JSON")
    d.add_argument("file", nargs="?", default="-")
    watch.add_parser(sub)
    diag.add_parser(sub)
    args = p.parse_args(argv)
    if args.command == "watch":
        return watch.run(args)
    if args.command in ("keygen", "diag"):
        return diag.run_keygen(args) if args.command == "keygen" else diag.run_diag(args)
    if args.command == "cddl":
        sys.stdout.write(generate())
        return 0
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read(schema.MAX_MESSAGE_BYTES + 1)
        else:
            with open(args.file, "rb") as fh:
                data = fh.read(schema.MAX_MESSAGE_BYTES + 1)
        print(json.dumps(codec.decode(data), indent=2))
    except OSError as e:
        print(f"zte-uxip-server: decode: {args.file}: {e.strerror}", file=sys.stderr)
        return 2
    except codec.DecodeError as e:
        print(f"zte-uxip-server: decode: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
