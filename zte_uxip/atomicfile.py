"""All-or-nothing file writes: a temporary name, every byte written, fsync, rename, and the
directory fsynced, so a SIGKILL or power cut leaves the old file or the new one, never half.
One place for it: the spool, the state files, the toggle file and the secret all use it."""

from __future__ import annotations

import os


def write_atomic(path: str, data: bytes, mode: int = 0o600, sync: bool = True) -> None:
    """Replace ``path`` with ``data``; ``sync=False`` for tmpfs, where fsync buys nothing."""
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    except OSError:
        os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass  # the write already failed; that error is the one to report
        raise
    os.close(fd)
    os.replace(tmp, path)
    if sync:
        fsync_dir(os.path.dirname(path) or ".")


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
