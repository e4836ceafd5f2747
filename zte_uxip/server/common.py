"""What the store verbs share: the --config option, and Django set up from it."""

from __future__ import annotations

import argparse
import os
import pwd
import time
from typing import Any

from . import boot, conf


def add_config(p: Any) -> None:
    p.add_argument("--config", default=conf.DEFAULT_PATH, help=f"server TOML (default {conf.DEFAULT_PATH})")


def load(args: argparse.Namespace) -> conf.ServerConfig:
    return conf.load(args.config)


def store_setup(args: argparse.Namespace, *, console: bool = False) -> conf.ServerConfig:
    """Read the TOML, configure Django from it, create or upgrade the schema."""
    cfg = load(args)
    boot.setup(cfg, console=console)
    return cfg


# Tests set this to run a verb at a fixed time (a fake clock for retention, offline state and
# --since windows). Unix seconds; not an operator setting.
NOW_ENV = "ZTE_UXIP_SERVER_NOW"


def now() -> int:
    """Unix seconds: ZTE_UXIP_SERVER_NOW when set (tests), else the wall clock."""
    fake = os.environ.get(NOW_ENV)
    if fake:
        try:
            return int(fake)
        except ValueError:
            raise conf.ServerConfigError(f"{NOW_ENV}: {fake!r} is not unix seconds") from None
    return int(time.time())


def cli_user() -> str:
    """Who the audit log names for a CLI action: ``cli:<OS user>``."""
    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        name = str(os.geteuid())
    return f"cli:{name}"


class InputError(Exception):
    """Bad input from the command line; the message is the one line the operator sees."""


def device_arg(text: str) -> str:
    """A DEVICE argument: a well-formed device id (as on the topics), else a one-line InputError."""
    from ..wire import topics

    try:
        return topics.check_device_id(text)
    except ValueError:
        raise InputError(f"{text[:80]!r} is not a device id") from None
