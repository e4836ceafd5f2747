"""Django, configured from the server's TOML: no settings module for operators to set.

``configure(cfg)`` builds Django's settings from a :class:`ServerConfig` and calls
``django.setup()``; ``ensure_schema()`` creates or upgrades the database schema with Django's
migrations, under a lock (a file lock beside a SQLite store, an advisory lock on PostgreSQL), so
several ingest processes starting at once on an empty database do not race.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from .conf import ServerConfig, ServerConfigError, database

_configured: ServerConfig | None = None
MIGRATE_LOCK_ID = 0x7A7E_0001  # pg_advisory_lock key: "zte" + 1


def secret_key(path: str) -> str:
    """The console's signing secret: read it, or make it (0600) the first time."""
    p = Path(path)
    try:
        value = p.read_text().strip()
        if len(value) >= 32:
            if p.stat().st_mode & 0o077:
                raise ServerConfigError(f"console.secret_key_file: {path} is readable by others (chmod 600)")
            return value
    except FileNotFoundError:
        pass
    except OSError as e:
        raise ServerConfigError(f"console.secret_key_file: {path}: {e.strerror}") from None
    p.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def settings_for(cfg: ServerConfig, *, console: bool = False) -> dict[str, Any]:
    db = database(cfg.store.url)
    if db["ENGINE"].endswith("sqlite3"):
        Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    host = cfg.console.listen.rpartition(":")[0].strip("[]")
    return {
        "DEBUG": False,
        # Only the console signs anything (sessions, CSRF); the other commands never do.
        "SECRET_KEY": secret_key(cfg.console.secret_key_file) if console else secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": [host, "localhost", "127.0.0.1", "[::1]", *cfg.console.allowed_hosts],
        "INSTALLED_APPS": [
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "axes",
            "zte_uxip.server.store",
            "zte_uxip.server.commands",
            "zte_uxip.server.console",
        ],
        "DATABASES": {"default": db},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "MIDDLEWARE": [
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "csp.middleware.CSPMiddleware",
            "axes.middleware.AxesMiddleware",
        ],
        "AUTHENTICATION_BACKENDS": [
            "axes.backends.AxesStandaloneBackend",
            "django.contrib.auth.backends.ModelBackend",
        ],
        "ROOT_URLCONF": "zte_uxip.server.console.urls",
        "TEMPLATES": [{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]},
        }],
        "LOGIN_URL": "/login/",
        "LOGIN_REDIRECT_URL": "/devices/",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "CSRF_COOKIE_SAMESITE": "Strict",
        "SESSION_COOKIE_AGE": 8 * 3600,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        # No inline script anywhere, nothing fetched from outside (an isolated support network).
        "CONTENT_SECURITY_POLICY": {"DIRECTIVES": {
            "default-src": ["'self'"],
            "script-src": ["'self'"],
            "style-src": ["'self'"],
            "img-src": ["'self'", "data:"],
            "object-src": ["'none'"],
            "base-uri": ["'none'"],
            "frame-ancestors": ["'none'"],
            "form-action": ["'self'"],
        }},
        "AXES_FAILURE_LIMIT": 5,
        "AXES_COOLOFF_TIME": timedelta(minutes=15),
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
        "AXES_VERBOSE": False,
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"stderr": {"class": "logging.StreamHandler"}},
            "root": {"handlers": ["stderr"], "level": "WARNING"},
        },
        "ZTE_UXIP": cfg,
    }


def configure(cfg: ServerConfig, *, console: bool = False) -> None:
    """Django settings from the TOML, once per process."""
    global _configured
    import django
    from django.conf import settings

    if _configured is not None:
        return
    settings.configure(**settings_for(cfg, console=console))
    django.setup()
    _configured = cfg


def config() -> ServerConfig:
    if _configured is None:
        raise RuntimeError("zte_uxip.server.boot.configure() was not called")
    return _configured


@contextlib.contextmanager
def _migrate_lock() -> Iterator[None]:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_ID])
        try:
            yield
        finally:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_ID])
        return
    lock_path = f"{connection.settings_dict['NAME']}.migrate-lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _pending() -> list[Any]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return list(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def ensure_schema() -> bool:
    """Create or upgrade the schema if it needs it; True if it did. Safe when processes race."""
    from django.core.management import call_command

    if not _pending():
        return False
    with _migrate_lock():
        if not _pending():  # another process did it while we waited
            return False
        call_command("migrate", verbosity=0, interactive=False)
    return True


def setup(cfg: ServerConfig, *, console: bool = False) -> None:
    """configure() + ensure_schema(): what every command that touches the store runs first."""
    configure(cfg, console=console)
    ensure_schema()
