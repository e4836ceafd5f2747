"""Consent: what the owner's toggle file says, read strictly.

The WebUI / ZTELink app writes the file. ``1``/``on``/``true``/``enabled`` means opted in;
``0``, absent, empty, unreadable, half-written or anything else means opted out. It may instead
hold ``key=value`` lines (``enabled``, ``location``, ``policy_version``); one malformed line
makes the whole file "opted out", because a half-written file must never count as consent.
"""

from __future__ import annotations

import logging
import os
import re
import struct
from typing import NamedTuple

log = logging.getLogger(__name__)

TRUE_WORDS = frozenset({"1", "on", "true", "enabled", "yes"})
FALSE_WORDS = frozenset({"0", "off", "false", "disabled", "no"})
MAX_TOGGLE_BYTES = 4096
_POLICY_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


class ConsentState(NamedTuple):
    enabled: bool
    location: bool = True
    policy_version: str | None = None


OPTED_OUT = ConsentState(enabled=False, location=False)


def parse_toggle(text: str) -> ConsentState:
    body = text.strip()
    if body.lower() in TRUE_WORDS:
        return ConsentState(enabled=True)
    if "=" not in body:
        return OPTED_OUT
    values: dict[str, str] = {}
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or key not in ("enabled", "location", "policy_version") or key in values:
            return OPTED_OUT
        if key != "policy_version" and value.lower() not in TRUE_WORDS | FALSE_WORDS:
            return OPTED_OUT
        if key == "policy_version" and not _POLICY_RE.fullmatch(value):
            return OPTED_OUT
        values[key] = value
    if values.get("enabled", "").lower() not in TRUE_WORDS:
        return OPTED_OUT
    return ConsentState(
        enabled=True,
        location=values.get("location", "1").lower() in TRUE_WORDS,
        policy_version=values.get("policy_version"),
    )


def read_toggle(path: str) -> ConsentState:
    """The consent in force now; any problem reading the file means opted out."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_TOGGLE_BYTES + 1)
    except OSError:
        return OPTED_OUT
    if len(data) > MAX_TOGGLE_BYTES:
        return OPTED_OUT
    try:
        return parse_toggle(data.decode("utf-8"))
    except UnicodeDecodeError:
        return OPTED_OUT


# ---------------------------------------------------------------- watching the toggle file

# inotify(7) masks. The WebUI replaces the file by rename, so the directory is watched.
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_WATCH_MASK = IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF
_EVENT_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len
POLL_S = 0.5  # fallback: half the 1 s opt-out promise


class _Inotify:
    """The three inotify syscalls through ctypes (no package needed on the router)."""

    def __init__(self) -> None:
        import ctypes

        # The process's own symbols include libc's; ctypes.util.find_library would cost
        # ~0.3 MB RSS (it imports subprocess, shutil, ...) for the same answer.
        libc = ctypes.CDLL(None, use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._add.restype = ctypes.c_int
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        self.fd: int = fd
        self._get_errno = ctypes.get_errno

    def watch(self, directory: str) -> int:
        wd: int = self._add(self.fd, os.fsencode(directory), _WATCH_MASK)
        if wd < 0:
            err = self._get_errno()
            raise OSError(err, os.strerror(err))
        return wd

    def read_names(self) -> tuple[set[bytes], bool]:
        """Names touched since the last read, and whether the watch itself went away."""
        names: set[bytes] = set()
        lost = False
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return names, lost
            if not buf:
                return names, lost
            pos = 0
            while pos + _EVENT_HEADER.size <= len(buf):
                _wd, mask, _cookie, length = _EVENT_HEADER.unpack_from(buf, pos)
                raw = buf[pos + _EVENT_HEADER.size: pos + _EVENT_HEADER.size + length]
                pos += _EVENT_HEADER.size + length
                if mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW):
                    lost = True
                names.add(raw.rstrip(b"\0"))

    def close(self) -> None:
        os.close(self.fd)


class ConsentWatcher:
    """The consent in force, kept current: inotify on the toggle file's directory, else polling.

    ``fileno()`` is for the caller's select(); ``timeout_s()`` is how long it may block (None
    with inotify, POLL_S when polling). Call ``poll()`` when either fires: it re-reads the file
    only when something happened to it and returns the state now in force.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._dir = os.path.dirname(os.path.abspath(path))
        self._name = os.fsencode(os.path.basename(path))
        self._ino: _Inotify | None = None
        self._stat_key: tuple[int, int, int, int] | None = None
        try:
            self._ino = _Inotify()
        except (OSError, AttributeError) as e:
            log.warning("consent: inotify unavailable (%s); polling %s every %.1f s", e, path, POLL_S)
        self._watching = self._try_watch()
        self.state = read_toggle(path)
        self._stat_key = self._stat()

    def _try_watch(self) -> bool:
        if self._ino is None:
            return False
        try:
            self._ino.watch(self._dir)
        except OSError:
            return False  # directory missing for now: poll until it appears
        return True

    def _stat(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)

    def fileno(self) -> int | None:
        return self._ino.fd if self._ino is not None and self._watching else None

    def timeout_s(self) -> float | None:
        return None if self.fileno() is not None else POLL_S

    def poll(self) -> ConsentState:
        if self._ino is not None and self._watching:
            names, lost = self._ino.read_names()
            if lost:
                self._watching = self._try_watch()
            if self._name not in names and not lost:
                return self.state
        else:
            if self._ino is not None:
                self._watching = self._try_watch()
            key = self._stat()
            if key == self._stat_key and not self._watching:
                return self.state
            self._stat_key = key
        self.state = read_toggle(self.path)
        return self.state

    def close(self) -> None:
        if self._ino is not None:
            self._ino.close()
            self._ino = None


# ---------------------------------------------------------------- writing it (CLI enable/disable)


def write_toggle(path: str, enabled: bool) -> ConsentState:
    """Write the toggle file as the WebUI does: a temp file, fsync, rename. ``location`` and
    ``policy_version`` lines of a key=value file are kept; a bare word becomes ``1``/``0``."""
    from .atomicfile import write_atomic
    from .errors import ConsentError

    keep: list[str] = []
    try:
        with open(path, "rb") as fh:
            old = fh.read(MAX_TOGGLE_BYTES + 1).decode("utf-8", "replace")
    except OSError:
        old = ""
    if "=" in old:
        for raw in old.splitlines():
            key, sep, value = raw.strip().partition("=")
            if sep and key.strip().lower() in ("location", "policy_version"):
                keep.append(f"{key.strip().lower()}={value.strip()}")
    body = "\n".join([f"enabled={1 if enabled else 0}", *keep]) + "\n" if keep else ("1\n" if enabled else "0\n")
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        write_atomic(path, body.encode(), mode=0o644)
    except OSError as e:
        raise ConsentError(f"consent.toggle_file {path}: {e.strerror}") from None
    return read_toggle(path)
