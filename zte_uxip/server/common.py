"""What the store verbs share: the --config option, and Django set up from it."""

from __future__ import annotations

import argparse
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
