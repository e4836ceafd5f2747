"""`zte-uxip-server`: the operator's side (DESIGN.md "Server").

One command, many verbs. Each verb lives in its own module with ``add_parser(sub)`` and
``run(args) -> int``, listed once in ``VERBS``; a module is imported only when its verb runs,
so `decode` does not pay for Django. Verbs that touch the store call
``common.store_setup(args)``: the TOML is read, Django configured from it and the schema created or
upgraded, so a fresh SQLite file just works. Errors are one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from ..wire import codec, schema
from ..wire.cddl import generate
from .common import InputError
from .conf import ServerConfigError

# verb -> module under zte_uxip.server. The module's add_parser(sub) adds its verb (or verbs);
# it runs them with run_<verb>(args) if it has one, else run(args).
VERBS: dict[str, str] = {
    "watch": "watch",
    "keygen": "diag",
    "diag": "diag",
    "diagnose": "diagnose",
    "console": "console.serve",
    "ingest": "ingest",
    "devices": "devices",
    "show": "show",
    "export": "export",
    "erase": "erase",
    "retention": "retention",
    "audit": "audit",
    "user": "user",
}


def _decode(args: argparse.Namespace) -> int:
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="zte-uxip-server", description="zte_uxip management-server tools")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("cddl", help="print the wire schema as CDDL (RFC 8610)")
    d = sub.add_parser("decode", help="decode a CBOR message (file or -) to JSON")
    d.add_argument("file", nargs="?", default="-")
    argv = sys.argv[1:] if argv is None else argv
    wanted = next((a for a in argv if not a.startswith("-")), None)
    modules: dict[str, Any] = {}
    added: set[str] = set()
    for verb, mod in VERBS.items():
        # Only the verb being run (or all of them, for --help) is imported.
        if wanted in (None, verb) or wanted not in VERBS:
            modules[verb] = importlib.import_module(f"{__package__}.{mod}")
            if mod not in added:
                modules[verb].add_parser(sub)
                added.add(mod)
        elif VERBS.get(wanted) != mod:
            sub.add_parser(verb)
    args = p.parse_args(argv)
    if args.command == "cddl":
        sys.stdout.write(generate())
        return 0
    if args.command == "decode":
        return _decode(args)
    try:
        module = modules[args.command]
        run = getattr(module, f"run_{args.command}", None) or module.run
        rc: int = run(args)
        return rc
    except (ServerConfigError, InputError) as e:
        print(f"zte-uxip-server: {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
