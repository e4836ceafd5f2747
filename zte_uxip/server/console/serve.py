"""`zte-uxip-server console`: the support console under gunicorn, on ``[console] listen``.

gunicorn is embedded (``BaseApplication``), not Django's development server: ``[console]
workers`` sync workers, the Django app loaded once in the master (settings from the TOML, the
schema created or upgraded) and forked. Database connections opened by that setup are closed
before the fork, so no two workers share a socket. Access log and errors go to stderr (the init
system's log). SIGTERM/SIGINT: gunicorn's graceful stop.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import common


def add_parser(sub: Any) -> None:
    p = sub.add_parser("console", help="serve the support console (gunicorn) on [console] listen")
    common.add_config(p)


def bind_address(listen: str) -> str:
    host, _, port = listen.rpartition(":")
    if ":" in host and not host.startswith("["):  # an IPv6 literal without brackets
        host = f"[{host}]"
    return f"{host}:{port}"


def run(args: argparse.Namespace) -> int:
    cfg = common.store_setup(args, console=True)
    from django.core.wsgi import get_wsgi_application
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    wsgi = get_wsgi_application()
    connections.close_all()

    class ConsoleApp(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": [bind_address(cfg.console.listen)],
                "workers": cfg.console.workers,
                "worker_class": "sync",
                "timeout": 60,
                "graceful_timeout": 10,
                "accesslog": "-",
                "errorlog": "-",
                "loglevel": "info",
                "proc_name": "zte-uxip-console",
                "preload_app": True,
                "forwarded_allow_ips": "",  # never trust X-Forwarded-* (the audit log records REMOTE_ADDR)
                "limit_request_line": 4094,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return wsgi

    print(f"zte-uxip-server: console on http://{bind_address(cfg.console.listen)}/ "
          f"({cfg.console.workers} workers)", file=sys.stderr, flush=True)
    ConsoleApp().run()
    return 0
