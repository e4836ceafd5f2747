"""The one check every modem backend makes before it touches a device path from config."""

from __future__ import annotations

import os
import stat

from ..errors import SourceError


def check_char_device(label: str, device: str) -> None:
    """``device`` exists and is a character device; else one SourceError naming ``label:device``."""
    try:
        st = os.stat(device)
    except OSError as e:
        raise SourceError(f"{label}:{device}: {e.strerror}") from None
    if not stat.S_ISCHR(st.st_mode):
        raise SourceError(f"{label}:{device}: not a character device")
