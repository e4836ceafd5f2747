"""The server's tests run on SQLite by default and on a real PostgreSQL 15 cluster with
ZTE_UXIP_TEST_STORE=postgresql (`make test` runs both). In-process tests use pytest-django
(`db`, `client`, `transactional_db`) on Django configured here from a server TOML, as the
commands configure it; tests that start real `zte-uxip-server` processes take `store_url`,
a fresh database of the same kind for each test."""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from pathlib import Path

import pytest

STORE_KIND = os.environ.get("ZTE_UXIP_TEST_STORE", "sqlite")
if STORE_KIND not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"ZTE_UXIP_TEST_STORE={STORE_KIND!r}: use sqlite or postgresql")

_PG = None
_TMP = Path(tempfile.mkdtemp(prefix="uxsrv-"))


def _pg():
    global _PG
    if _PG is None:
        import pgcluster

        reason = pgcluster.skip_reason()
        if reason:
            raise pytest.UsageError(f"ZTE_UXIP_TEST_STORE=postgresql: {reason}")
        _PG = pgcluster.PgCluster().start()
        atexit.register(_PG.stop)
    return _PG


def _configure_django() -> None:
    from zte_uxip.server import boot, conf

    if STORE_KIND == "postgresql":
        url = _pg().createdb("uxip_inproc")
    else:
        url = f"sqlite:///{_TMP}/inproc.sqlite3"
    cfg = conf.from_dict({
        "region": "eu",
        "store": {"url": url},
        "console": {"secret_key_file": str(_TMP / "console.secret")},
    }, path=str(_TMP / "server.toml"))
    boot.configure(cfg, console=True)


_configure_django()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A fresh, empty database for one test's server processes (same kind as the suite's)."""
    if STORE_KIND == "postgresql":
        return _pg().createdb(f"uxip_{uuid.uuid4().hex[:12]}")
    return f"sqlite:///{tmp_path}/server.sqlite3"
