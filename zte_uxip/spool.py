"""The spool: encoded batches waiting for the broker's PUBACK.

Records live in RAM first (the router's flash wears out) and move to the flash store only on
shutdown or after a long outage. Both stores sit behind one small :class:`Store` Protocol and
pass one shared test suite. The :class:`Spool` on top works like Telegraf's output buffer: a
sender *takes* a batch of records, then explicitly *accepts* them (after PUBACK: deleted) or
*rejects* them (connection lost: they go back, in order). A byte cap drops the oldest records
first and counts them (``dropped_total``, reported in every batch).

Every record carries its sequence number and a CRC. Flash records are written to a temporary
name, fsynced, renamed, and the directory fsynced, so a SIGKILL or power cut leaves either the
whole record or none. A record that fails its checks is moved to ``quarantine/`` and counted,
never retried in a crash loop.

Sequence numbers are per device, increasing and never reused. The last one handed out is kept
in the RAM state dir (written before the record can be sent, so a SIGKILL never reuses it). The
RAM state dir does not survive a reboot, so at the first start after one the spool continues
from a *reservation* kept on flash: it reserves the next ``SEQ_RESERVE`` numbers with one small
flash write before any connection, and a power cut can then skip numbers but never repeat one.
A clean shutdown writes the exact high-water mark instead, so the numbering stays dense.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable
from typing import NamedTuple, Protocol

from .atomicfile import write_atomic as _write_atomic
from .errors import SpoolError

log = logging.getLogger(__name__)

MAGIC = b"UXS1"
_HEADER = struct.Struct(">4sQII")  # magic, seq, payload length, crc32(seq || payload)
HEADER_BYTES = _HEADER.size
MAX_RECORD_BYTES = 256 * 1024 + HEADER_BYTES
SEQ_RESERVE = 1 << 24  # numbers reserved on flash per boot: 31 years of one record a minute
QUARANTINE_KEEP = 16  # quarantined files kept for inspection; older ones are deleted
_NAME_RE = re.compile(r"^([0-9a-f]{16})\.rec$")
STATE_FILE = "spool.state"  # in the RAM state dir: seq high-water mark, counters
FLASH_STATE_FILE = "seq.state"  # in the spool dir: reservation or exact high-water mark


class Record(NamedTuple):
    seq: int
    payload: bytes

    @property
    def size_bytes(self) -> int:
        return HEADER_BYTES + len(self.payload)


def _crc(seq: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(seq.to_bytes(8, "big")))


def pack_record(rec: Record) -> bytes:
    return _HEADER.pack(MAGIC, rec.seq, len(rec.payload), _crc(rec.seq, rec.payload)) + rec.payload


def unpack_record(data: bytes) -> Record:
    """Bytes of one record file -> Record; SpoolError names what is wrong."""
    if len(data) < HEADER_BYTES:
        raise SpoolError(f"truncated record header ({len(data)} bytes)")
    magic, seq, length, crc = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise SpoolError("bad record magic")
    payload = data[HEADER_BYTES:]
    if len(payload) != length:
        raise SpoolError(f"record length {len(payload)} != header {length}")
    if _crc(seq, payload) != crc:
        raise SpoolError("record CRC mismatch")
    return Record(seq, payload)


def _state_text(seq: int, dropped_total: int) -> bytes:
    """Two integers as text: json would cost the agent ~0.3 MB RSS for this alone."""
    return f"seq={seq}\ndropped_total={dropped_total}\n".encode()


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Store(Protocol):
    """Where records are kept. Records come back ordered by seq."""

    def add(self, rec: Record) -> None: ...

    def remove(self, seq: int) -> None: ...

    def records(self) -> list[Record]: ...

    def clear(self) -> None: ...


class MemoryStore:
    """RAM: a dict ordered by insertion (seqs are appended in increasing order)."""

    def __init__(self) -> None:
        self._recs: dict[int, Record] = {}

    def add(self, rec: Record) -> None:
        self._recs[rec.seq] = rec

    def remove(self, seq: int) -> None:
        self._recs.pop(seq, None)

    def records(self) -> list[Record]:
        return sorted(self._recs.values(), key=lambda r: r.seq)

    def clear(self) -> None:
        self._recs.clear()


class FlashStore:
    """One file per record in ``dir``; loaded once at start, then kept in step in RAM.

    Disk-full and other write errors raise SpoolError (the caller keeps the record in RAM).
    """

    def __init__(self, dir: str) -> None:
        self.dir = dir
        self.corrupt_total = 0
        self._recs: dict[int, Record] = {}
        try:
            os.makedirs(dir, mode=0o700, exist_ok=True)
        except OSError as e:
            raise SpoolError(f"spool.dir {dir}: {e.strerror}") from None
        self._load()

    def _path(self, seq: int) -> str:
        return os.path.join(self.dir, f"{seq:016x}.rec")

    def _load(self) -> None:
        try:
            names = sorted(os.listdir(self.dir))
        except OSError as e:
            raise SpoolError(f"spool.dir {self.dir}: {e.strerror}") from None
        for name in names:
            path = os.path.join(self.dir, name)
            if name.endswith(".tmp"):
                _unlink_quiet(path)  # an interrupted write: the record was never complete
                continue
            m = _NAME_RE.match(name)
            if m is None:
                continue
            try:
                with open(path, "rb") as fh:
                    rec = unpack_record(fh.read(MAX_RECORD_BYTES + 1))
                if rec.seq != int(m.group(1), 16):
                    raise SpoolError("record seq does not match its file name")
            except (OSError, SpoolError) as e:
                self._quarantine(name, str(e))
                continue
            self._recs[rec.seq] = rec

    def _quarantine(self, name: str, why: str) -> None:
        self.corrupt_total += 1
        qdir = os.path.join(self.dir, "quarantine")
        log.warning("spool: %s quarantined: %s", name, why)
        try:
            os.makedirs(qdir, mode=0o700, exist_ok=True)
            os.replace(os.path.join(self.dir, name), os.path.join(qdir, name))
            kept = sorted(os.listdir(qdir))
            for old in kept[: max(0, len(kept) - QUARANTINE_KEEP)]:
                _unlink_quiet(os.path.join(qdir, old))
        except OSError as e:
            # Cannot move it aside: delete it, so it cannot come back at every start.
            log.warning("spool: cannot quarantine %s (%s); deleting it", name, e.strerror)
            _unlink_quiet(os.path.join(self.dir, name))

    def add(self, rec: Record) -> None:
        try:
            _write_atomic(self._path(rec.seq), pack_record(rec))
        except OSError as e:
            what = "disk full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else e.strerror
            raise SpoolError(f"spool.dir {self.dir}: cannot write record {rec.seq}: {what}") from None
        self._recs[rec.seq] = rec

    def remove(self, seq: int) -> None:
        if self._recs.pop(seq, None) is not None:
            _unlink_quiet(self._path(seq))

    def records(self) -> list[Record]:
        return sorted(self._recs.values(), key=lambda r: r.seq)

    def clear(self) -> None:
        self._recs.clear()
        for sub in ("", "quarantine"):
            d = os.path.join(self.dir, sub)
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for name in names:
                if _NAME_RE.match(name) or name.endswith(".tmp"):
                    _unlink_quiet(os.path.join(d, name))


class Spool:
    """RAM store + flash store, the byte cap, take/accept/reject, and the sequence numbers."""

    def __init__(self, state_dir: str, flash_dir: str, max_bytes: int, ram: Store | None = None) -> None:
        self.state_dir = state_dir
        self.max_bytes = max_bytes
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        self.flash = FlashStore(flash_dir)
        self.ram: Store = ram if ram is not None else MemoryStore()
        self.to_flash = False  # True during a long outage: new records go straight to flash
        self._flash_failing = False
        self._inflight: set[int] = set()
        state = self._read_state(os.path.join(state_dir, STATE_FILE))
        flash_state = self._read_state(os.path.join(flash_dir, FLASH_STATE_FILE))
        self.dropped_total = max(int(state.get("dropped_total", 0)), int(flash_state.get("dropped_total", 0)))
        rec_max = max((r.seq for r in self.flash.records()), default=0)
        flash_seq = int(flash_state.get("seq", 0))
        if "seq" in state:  # the agent restarted, the machine did not
            self._last_seq = max(int(state["seq"]), rec_max)
            self._reserved = max(flash_seq, self._last_seq)
        else:  # first start after a boot: continue after the flash reservation
            self._last_seq = max(flash_seq, rec_max)
            self._reserved = self._last_seq
        self._save_state()

    # ------------------------------------------------------------ sequence numbers

    @property
    def corrupt_total(self) -> int:
        return self.flash.corrupt_total

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def next_seq(self) -> int:
        """Hand out the next sequence number, recorded (RAM) before anyone can send it."""
        seq = self._last_seq + 1
        if seq > self._reserved:
            self._reserve(seq + SEQ_RESERVE - 1)
        self._last_seq = seq
        self._save_state()
        return seq

    def _reserve(self, upto: int) -> None:
        try:
            self._write_flash_state(upto)
        except OSError as e:
            log.warning("spool: cannot reserve sequence numbers on flash: %s", e.strerror)
        self._reserved = upto

    def _write_flash_state(self, seq: int) -> None:
        data = _state_text(seq, self.dropped_total)
        _write_atomic(os.path.join(self.flash.dir, FLASH_STATE_FILE), data)

    def _save_state(self) -> None:
        """The RAM state dir is tmpfs: no fsync, no flash wear."""
        data = _state_text(self._last_seq, self.dropped_total)
        try:
            _write_atomic(os.path.join(self.state_dir, STATE_FILE), data, sync=False)
        except OSError as e:
            log.warning("spool: state dir %s: %s", self.state_dir, e.strerror)

    @staticmethod
    def _read_state(path: str) -> dict[str, int]:
        """``key=value`` lines of non-negative integers; anything else is ignored."""
        try:
            with open(path, "rb") as fh:
                text = fh.read(4096).decode("ascii", "replace")
        except FileNotFoundError:
            return {}
        except OSError as e:
            log.warning("spool: %s unreadable (%s); starting from the other copy", path, e.strerror)
            return {}
        out: dict[str, int] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key in ("seq", "dropped_total") and value.isdigit() and len(value) <= 20:
                out[key] = int(value)
        return out

    # ------------------------------------------------------------ records

    def records(self) -> list[Record]:
        """Everything held, oldest first (flash records are older than RAM ones)."""
        return sorted([*self.flash.records(), *self.ram.records()], key=lambda r: r.seq)

    @property
    def bytes_used(self) -> int:
        return sum(r.size_bytes for r in self.records())

    def __len__(self) -> int:
        return len(self.records())

    def add(self, rec: Record) -> None:
        """Keep a record, dropping the oldest (not in flight) to stay under the byte cap."""
        if rec.size_bytes > self.max_bytes:
            self.count_dropped(1)
            log.warning("spool: record %d (%d bytes) exceeds spool.max_bytes; dropped", rec.seq, rec.size_bytes)
            return
        held = self.records()
        used = sum(r.size_bytes for r in held)
        dropped = 0
        for old in held:
            if used + rec.size_bytes <= self.max_bytes:
                break
            if old.seq in self._inflight:
                continue
            self._remove(old.seq)
            used -= old.size_bytes
            dropped += 1
        if used + rec.size_bytes > self.max_bytes:
            dropped += 1  # everything older is in flight: the newest is the one to go
            self.count_dropped(dropped)
            return
        if dropped:
            self.count_dropped(dropped)
        if self.to_flash:
            try:
                self.flash.add(rec)
                self._flash_failing = False
                return
            except SpoolError as e:
                if not self._flash_failing:  # one line per problem, not one per record
                    log.warning("%s; keeping records in RAM until it can be written", e)
                self._flash_failing = True
        self.ram.add(rec)

    def count_dropped(self, n: int) -> None:
        self.dropped_total += n
        self._save_state()

    def _remove(self, seq: int) -> None:
        self.ram.remove(seq)
        self.flash.remove(seq)
        self._inflight.discard(seq)

    def take(self, max_records: int) -> list[Record]:
        """The oldest records not already in flight, marked in flight."""
        out = [r for r in self.records() if r.seq not in self._inflight][:max_records]
        self._inflight.update(r.seq for r in out)
        return out

    def accept(self, seqs: Iterable[int]) -> None:
        """The broker has them (PUBACK): delete."""
        for seq in seqs:
            self._remove(seq)

    def reject(self, seqs: Iterable[int]) -> None:
        """Not delivered: back in the queue, in their place by seq."""
        self._inflight.difference_update(seqs)

    def reject_all(self) -> None:
        self._inflight.clear()

    # ------------------------------------------------------------ flash

    def persist(self, exact: bool = False) -> None:
        """Move RAM records to flash and keep writing there (shutdown, or a long outage).

        The flash seq file keeps the reservation (a power cut may follow), unless ``exact``:
        a clean shutdown records the true high-water mark. A record that cannot be written
        (disk full) stays in RAM; one line says why.
        """
        self.to_flash = True
        for rec in self.ram.records():
            try:
                self.flash.add(rec)
            except SpoolError as e:
                if not self._flash_failing:
                    log.warning("%s; keeping records in RAM until it can be written", e)
                self._flash_failing = True
                break
            self.ram.remove(rec.seq)
        try:
            self._write_flash_state(self._last_seq if exact else max(self._reserved, self._last_seq))
        except OSError as e:
            log.warning("spool: cannot write %s: %s", FLASH_STATE_FILE, e.strerror)

    def reserve_if_needed(self) -> None:
        """Called once at start, before any connection: the boot's flash reservation."""
        if self._reserved < self._last_seq + SEQ_RESERVE // 2:
            self._reserve(self._last_seq + SEQ_RESERVE)

    def connected(self) -> None:
        """Back online: new records stay in RAM again (no flash writes while connected)."""
        self.to_flash = False

    def shutdown(self) -> None:
        """Clean stop: everything to flash, and the exact high-water mark instead of a reservation."""
        self.persist(exact=True)

    def rewrite(self, fn: Callable[[bytes], bytes]) -> None:
        """Replace every held record's payload (same seq), e.g. to strip location fields after
        the owner withdrew them. A record ``fn`` cannot handle is dropped and counted."""
        for store in (self.ram, self.flash):
            for rec in store.records():
                try:
                    new = Record(rec.seq, fn(rec.payload))
                except ValueError as e:
                    log.warning("spool: record %d dropped: %s", rec.seq, e)
                    self._remove(rec.seq)
                    self.count_dropped(1)
                    continue
                try:
                    store.add(new)
                except SpoolError as e:
                    log.warning("%s; dropped", e)
                    self._remove(rec.seq)
                    self.count_dropped(1)

    def purge(self) -> int:
        """Delete every record, RAM and flash (opt-out, `zte-uxip purge`). Returns how many."""
        n = len(self.records())
        self.ram.clear()
        self.flash.clear()
        self._inflight.clear()
        return n
