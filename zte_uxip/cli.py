"""`zte-uxip` command line (DESIGN.md contract). Errors are one line on stderr, never a traceback:
exit 2 for bad input or configuration, 1 for a failure of the device or the network."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, UxipError
from .wire.codec import DecodeError

if TYPE_CHECKING:
    import argparse

DEFAULT_CONFIG = "/etc/zte_uxip/config.toml"
# What OpenWrt's procd script generates from UCI (/etc/config/zte_uxip) at each start.
UCI_CONFIG = "/var/etc/zte_uxip.toml"


def default_config() -> str:
    """The plain TOML if the vendor installed one, else the one generated from UCI."""
    if not os.path.exists(DEFAULT_CONFIG) and os.path.exists(UCI_CONFIG):
        return UCI_CONFIG
    return DEFAULT_CONFIG
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _json() -> Any:
    """json and argparse are imported only when a command needs them: the long-running
    `run` pays for neither (~0.7 MB RSS together)."""
    import json

    return json


def _fail(msg: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"zte-uxip: {msg}", file=sys.stderr)
    return code


def _load_config(path: str | None) -> Any:
    if path is None:
        return None
    from . import config

    return config.load(path)


def _privacy_policy(cfg: Any) -> Any:
    """The policy `sample` applies: the owner's location choice from the toggle file when a
    config names one, and the device's pseudonym key if readable (sample never creates it)."""
    from . import consent, privacy

    location = True
    from .config import PrivacyConfig

    secret_path = PrivacyConfig().secret_file
    if cfg is not None:
        state = consent.read_toggle(cfg.consent.toggle_file)
        location = state.location if state.enabled else True
        secret_path = cfg.privacy.secret_file
    key = privacy.load_or_create_secret(secret_path, create=False)
    if key is None:
        # No device secret readable: a one-off key still shows the shape of what would be sent,
        # and never prints an identifier in clear.
        import secrets

        key = secrets.token_bytes(privacy.SECRET_BYTES)
    return privacy.Policy(location=location, key=key)


def cmd_sample(args: argparse.Namespace) -> int:
    if not args.once:
        return _fail("sample: only --once is supported (use `run` for the agent)")
    from . import privacy
    from .collectors import Context
    from .config import parse_modem_spec
    from .sampler import sample_once
    from .wire import codec

    cfg = _load_config(args.config)
    modem = args.modem or (cfg.modem.backend if cfg else "auto")
    try:
        parse_modem_spec(modem)
    except ValueError as e:
        return _fail(f"--modem: {e}")
    ctx = Context(config=cfg, modem_spec=modem, links_exclude=cfg.links.exclude if cfg else ())
    snap, events = sample_once(ctx)
    if events:
        snap["events"] = events
    filtered = privacy.apply(snap, _privacy_policy(cfg))
    data = codec.encode_snapshot(filtered)
    if args.format == "cbor":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        # Through the codec and back: the JSON shows exactly what the wire would carry.
        print(_json().dumps(codec.decode(data), indent=2, sort_keys=False))
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    from .wire import codec, schema

    try:
        if args.file in (None, "-"):
            data = sys.stdin.buffer.read(schema.MAX_MESSAGE_BYTES + 1)
        else:
            with open(args.file, "rb") as fh:
                data = fh.read(schema.MAX_MESSAGE_BYTES + 1)
    except OSError as e:
        return _fail(f"decode: {args.file}: {e.strerror}")
    try:
        out = codec.decode(data)
    except DecodeError as e:
        return _fail(f"decode: {e}")
    print(_json().dumps(out, indent=2))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from . import agent
    from .config import parse_modem_spec

    if args.modem is not None:
        try:
            parse_modem_spec(args.modem)
        except ValueError as e:
            return _fail(f"--modem: {e}")
    return agent.run(args.config, modem=args.modem)


def _offline_view(cfg: Any, export: bool) -> dict[str, Any]:
    """What the files hold when no agent is running (its RAM records died with it)."""
    from . import consent
    from .scheduler import export_records, export_state_files
    from .spool import Spool

    spool = Spool(cfg.state.dir, cfg.spool.dir, cfg.spool.max_bytes)
    c = consent.read_toggle(cfg.consent.toggle_file)
    out: dict[str, Any] = {
        "device_id": _device_id_or_none(cfg),
        "agent": "not running",
        "consent": {"enabled": c.enabled, "location": c.location, "policy_version": c.policy_version},
        "spool": {"records": len(spool), "bytes": spool.bytes_used, "on_flash": len(spool.flash.records()),
                  "dropped_total": spool.dropped_total, "corrupt_total": spool.corrupt_total,
                  "last_seq": spool.last_seq},
    }
    from .remote.log import STATUS_SHOWS, read_entries

    commands = read_entries(cfg.state.dir)  # remote commands, run or refused (the last 100)
    out["commands"] = commands if export else commands[-STATUS_SHOWS:]
    if export:
        out["records"] = export_records(spool)
        out["state_files"] = export_state_files([cfg.state.dir, cfg.state.flash_dir])
    return out


def _device_id_or_none(cfg: Any) -> str | None:
    from . import identity, privacy

    try:
        return identity.device_id(cfg, privacy.load_or_create_secret(cfg.privacy.secret_file, create=False))
    except ConfigError:
        return None


def _ask_or_offline(cfg: Any, verb: str) -> dict[str, Any]:
    from . import control

    try:
        answer = control.ask(cfg.state.dir, verb)
    except (OSError, ValueError) as e:
        raise UxipError(f"{verb}: agent control socket: {e}") from None
    if answer is not None:
        return answer
    if verb == "purge":
        from .spool import Spool

        return {"purged_records": Spool(cfg.state.dir, cfg.spool.dir, cfg.spool.max_bytes).purge(),
                "agent": "not running"}
    return _offline_view(cfg, export=verb == "export")


def cmd_status(args: argparse.Namespace) -> int:
    cfg = _load_config(args.config)
    print(_json().dumps(_ask_or_offline(cfg, "status"), indent=2))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    cfg = _load_config(args.config)
    data = _json().dumps(_ask_or_offline(cfg, "export"), indent=2) + "\n"
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
    else:
        sys.stdout.write(data)
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    cfg = _load_config(args.config)
    print(_json().dumps(_ask_or_offline(cfg, "purge")))
    return 0


def cmd_toggle(args: argparse.Namespace) -> int:
    from .consent import write_toggle

    cfg = _load_config(args.config)
    state = write_toggle(cfg.consent.toggle_file, args.command == "enable")
    print(_json().dumps({"enabled": state.enabled, "location": state.location, "policy_version": state.policy_version}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    import argparse

    p = argparse.ArgumentParser(prog="zte-uxip", description="Router UX diagnostics agent (opt-in only).")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample", help="one snapshot to stdout, exactly as it would be sent")
    s.add_argument("--once", action="store_true", help="take one snapshot and exit")
    s.add_argument("--config", help="TOML config (optional)")
    s.add_argument("--format", choices=("json", "cbor"), default="json")
    s.add_argument("--modem", help="auto | none | at:/dev/ttyX[@baud] | mm | mm:N | qmi:/dev/cdc-wdmN | "
                                   "goform:http://HOST (a WebUI login reads [modem] password_file: give --config)")
    s.set_defaults(func=cmd_sample)

    r = sub.add_parser("run", help="the agent (foreground)")
    r.add_argument("--config", required=True, help="TOML config")
    r.add_argument("--modem", help="override [modem] backend: auto | none | at:/dev/ttyX[@baud] | mm | qmi:... | "
                                   "goform:http://HOST")
    r.set_defaults(func=cmd_run)

    for name, fn, text in (("status", cmd_status, "consent, connection and spool of this device"),
                           ("enable", cmd_toggle, "opt in (writes the toggle file as the WebUI does)"),
                           ("disable", cmd_toggle, "opt out: the agent deletes what it holds within 1 s"),
                           ("export", cmd_export, "the owner's JSON copy of everything held on the device"),
                           ("purge", cmd_purge, "delete every record held on the device")):
        c = sub.add_parser(name, help=text)
        c.add_argument("--config", default=default_config(),
                       help=f"TOML config (default {DEFAULT_CONFIG}, else OpenWrt's generated {UCI_CONFIG})")
        if name == "export":
            c.add_argument("--out", help="write to FILE (0600) instead of stdout")
        c.set_defaults(func=fn)

    d = sub.add_parser("decode", help="a CBOR snapshot or batch to JSON")
    d.add_argument("file", nargs="?", help="file to read, or - for stdin (default)")
    d.set_defaults(func=cmd_decode)
    return p


class _RunArgs:
    """`[-v] run --config FILE [--modem SPEC]`, parsed without argparse (see _json)."""

    def __init__(self, argv: list[str]) -> None:
        self.verbose = argv[0] in ("-v", "--verbose")
        rest = argv[1:] if self.verbose else argv
        self.config = self.modem = None
        opts = dict(zip(rest[1::2], rest[2::2], strict=False))
        if rest[:1] != ["run"] or len(rest) % 2 == 0 or not set(opts) <= {"--config", "--modem"} \
                or len(opts) * 2 != len(rest) - 1 or "--config" not in opts:
            raise ValueError("not the plain run form")
        self.config, self.modem = opts["--config"], opts.get("--modem")
        self.func = cmd_run


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args: Any
    try:
        args = _RunArgs(argv)
    except (ValueError, IndexError):
        args = build_parser().parse_args(argv)  # everything else, help and usage errors included
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="zte-uxip: %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        rc: int = args.func(args)
    except ConfigError as e:
        return _fail(f"config: {e}")
    except UxipError as e:
        return _fail(str(e), EXIT_FAILURE)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    return rc


if __name__ == "__main__":
    sys.exit(main())
