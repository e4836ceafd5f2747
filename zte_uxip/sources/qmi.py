"""The QMI backend: `qmicli` on a cdc-wdm control device (text output, argument lists only)."""

from __future__ import annotations

import shutil
from typing import Any

from ..errors import SourceError


def available() -> bool:
    return shutil.which("qmicli") is not None


def responds(device: str) -> bool:
    return False


def query_qmi(device: str) -> dict[str, Any]:
    raise SourceError(f"qmi:{device}: not implemented yet")
