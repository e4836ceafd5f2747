"""cellular: one collector over interchangeable modem backends, chosen by the modem SPEC.

`at:DEV[@BAUD]`, `mm`/`mm:N`, `qmi:DEV`, `goform:http://HOST` name one backend; `none` means no cellular section;
`auto` probes ModemManager, then QMI control devices, then AT ports, and remembers the first
that answers. With no modem at all the probe costs a few stat() calls (and one mmcli call
when ModemManager is installed), and is repeated at most every REPROBE_S.
"""

from __future__ import annotations

import glob
import logging
import time
from collections.abc import Callable
from typing import Any

from ..config import parse_modem_spec
from ..errors import SourceError
from .base import Context

log = logging.getLogger(__name__)

Backend = Callable[[], dict[str, Any]]
REPROBE_S = 60.0
FAILURES_BEFORE_REPROBE = 3
AT_GLOBS = ("/dev/ttyUSB*", "/dev/ttyACM*")
QMI_GLOB = "/dev/cdc-wdm*"


def _at(device: str, baud: int | None) -> Backend:
    def run() -> dict[str, Any]:
        from ..sources.at import query_at

        return query_at(device, baud)

    return run


def _mm(index: str | None) -> Backend:
    def run() -> dict[str, Any]:
        from ..sources.modemmanager import query_mm

        return query_mm(index)

    return run


def _qmi(device: str) -> Backend:
    def run() -> dict[str, Any]:
        from ..sources.qmi import query_qmi

        return query_qmi(device)

    return run


def _goform(base_url: str, password_file: str) -> Backend:
    """The WebUI session (cookies, login back-off) lives as long as the collector."""
    from ..sources.goform import GoformSource

    source = GoformSource(base_url, password_file)
    return source.query


def backend_for(spec: str, password_file: str = "") -> Backend | None:
    """The backend a fixed SPEC names (None for `none` and `auto`). `auto` never probes goform:
    it would mean talking HTTP to the LAN on a guess."""
    kind, dev, baud = parse_modem_spec(spec)
    if kind == "goform" and dev:
        return _goform(dev, password_file)
    if kind == "at" and dev:
        return _at(dev, baud)
    if kind == "mm":
        return _mm(dev)
    if kind == "qmi" and dev:
        return _qmi(dev)
    return None


def probe() -> tuple[str, Backend] | None:
    """First working backend in order ModemManager -> QMI -> AT, or None."""
    from ..sources import modemmanager

    if modemmanager.available() and modemmanager.running():
        try:
            idx = modemmanager.first_modem()
        except SourceError as e:
            log.debug("auto: mm: %s", e)
            idx = None
        if idx is not None:
            return f"mm:{idx}", _mm(idx)
    from ..sources import qmi

    for dev in sorted(glob.glob(QMI_GLOB)):
        if qmi.available() and qmi.responds(dev):
            return f"qmi:{dev}", _qmi(dev)
    from ..sources import at

    for pattern in AT_GLOBS:
        for dev in sorted(glob.glob(pattern)):
            if at.responds(dev):
                return f"at:{dev}", _at(dev, None)
    return None


class CellularCollector:
    section = "cellular"

    def __init__(self, ctx: Context) -> None:
        self._spec = ctx.modem_spec
        parse_modem_spec(self._spec)  # ValueError on a bad SPEC, before anything runs
        password_file = ctx.config.modem.password_file if ctx.config is not None else ""
        self._backend = backend_for(self._spec, password_file)
        self._auto = self._spec == "auto"
        self._chosen = ""
        self._failures = 0
        self._next_probe = 0.0

    def prime(self) -> None:
        return None

    def _select(self) -> Backend | None:
        if self._backend is not None or not self._auto:
            return self._backend
        now = time.monotonic()
        if now < self._next_probe:
            return None
        self._next_probe = now + REPROBE_S
        found = probe()
        if found is not None:
            self._chosen, self._backend = found
            self._failures = 0
            log.info("cellular: auto selected %s", self._chosen)
        return self._backend

    def collect(self) -> dict[str, Any] | None:
        backend = self._select()
        if backend is None:
            return None
        try:
            out = backend()
        except SourceError:
            self._failures += 1
            if self._auto and self._failures >= FAILURES_BEFORE_REPROBE:
                self._backend = None  # forget it; the next probe may find another
            raise
        self._failures = 0
        return out or None

    def close(self) -> None:
        return None
