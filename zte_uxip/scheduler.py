"""The agent's one loop: consent gate, sample/report timing, spool, transport.

Single-threaded: it blocks in select() on the toggle-file watcher, the broker socket, the
control socket and a signal pipe, with a timeout that ends at the next sample, report or
transport deadline, so an idle agent costs no CPU between samples and an opt-out is acted on
as soon as the file changes.
"""

from __future__ import annotations

import logging
import os
import select
from collections.abc import Callable
from typing import Any

from . import clock, privacy
from .atomicfile import write_atomic
from .consent import ConsentState, ConsentWatcher
from .errors import EncodeError
from .publish import Publisher
from .report import Report, build_batch, strip_location_json, strip_location_payload
from .sampler import Sampler
from .spool import Record, Spool
from .wire import codec
from .wire.schema import BATCH

log = logging.getLogger(__name__)

CLEAN_SHUTDOWN_MARKER = "clean_shutdown"
RUNNING_MARKER = "agent.running"


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.hex()
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


# In the flash spool dir: the device has collected under consent since the server last
# acknowledged a consent_withdrawn status. If the owner opts out while the agent is stopped (or
# the router is off), the next start still tells the server, which then erases what it holds,
# even when nothing is left in the spool. Written once per opt-in, removed on the status's PUBACK.
WITHDRAWAL_OWED = "withdrawal.owed"


class Scheduler:
    def __init__(
        self,
        *,
        device_id: str,
        sample_s: int,
        report_s: int,
        persist_after_s: int,
        state_dir: str,
        spool: Spool,
        watcher: ConsentWatcher,
        publisher: Publisher,
        make_sampler: Callable[[], Sampler],
        key: bytes | None,
        session: Any = None,
        state_dirs: tuple[str, ...] = (),
        reports_per_batch: int = 1,
    ) -> None:
        self.device_id = device_id
        self.sample_s, self.report_s, self.persist_after_s = sample_s, report_s, persist_after_s
        self.state_dir = state_dir
        self.spool, self.watcher, self.publisher = spool, watcher, publisher
        self._make_sampler = make_sampler
        self._key = key
        self._session = session
        self.state_dirs = [state_dir, *state_dirs]
        self.remote: Any = None  # remote.service.Remote when [commands] verify_key_file is set
        self._control_fd: int | None = None
        self._on_control: Callable[[], None] = lambda: None
        self.consent = ConsentState(enabled=False, location=False)
        self.sampler: Sampler | None = None
        self.report = Report()
        # The open batch: summarised reports and their events, spooled together (_close_report).
        self.reports_per_batch = reports_per_batch
        self.batch_snapshots: list[dict[str, Any]] = []
        self.batch_events: list[dict[str, Any]] = []
        self._next_sample = self._next_report = 0.0
        self._offline_since = clock.monotonic_s()
        if publisher is not None:  # unit tests drive the batching without a transport
            publisher.on_withdrawn = self._withdrawal_acknowledged
        self._stop = False
        self._sig_r, self._sig_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    # ------------------------------------------------------------ lifecycle

    def attach_control(self, fd: int, on_readable: Callable[[], None]) -> None:
        """The control socket (status/export/purge from the CLI) joins the select()."""
        self._control_fd, self._on_control = fd, on_readable

    def signal_fd(self) -> int:
        """For ``signal.set_wakeup_fd``: a signal wakes select() at once."""
        return self._sig_w

    def stop(self) -> None:
        self._stop = True

    def run(self) -> None:
        self._previous_run_check()
        initial = self.watcher.state
        if not initial.enabled and self.remote is not None:
            self.remote.opted_out()  # opted out while the agent was down: the command log goes too
        if not initial.enabled and (len(self.spool) or os.path.exists(self._owed_path())):
            # Opted out while the agent was down: what it held must go, and the server be told.
            self._opt_out(initial)
        else:
            self._apply_consent(initial)
        while not self._stop:
            self._turn()
        self._shutdown()

    def _previous_run_check(self) -> None:
        """A running marker left behind means the last run died (crash, SIGKILL, power cut)."""
        running = os.path.join(self.state_dir, RUNNING_MARKER)
        if os.path.exists(running):
            log.warning("previous run did not shut down cleanly (crash or SIGKILL); sequence numbers continue")
        for name in (CLEAN_SHUTDOWN_MARKER, RUNNING_MARKER):
            try:
                os.unlink(os.path.join(self.state_dir, name))
            except FileNotFoundError:
                pass
        with open(running, "w") as fh:
            fh.write(f"{os.getpid()}\n")

    def _shutdown(self) -> None:
        if self.consent.enabled:
            self._close_report(flush=True)
        if self.sampler is not None:
            self.sampler.close()
        self.spool.shutdown()
        self.publisher.close("offline")
        self.watcher.close()
        with open(os.path.join(self.state_dir, CLEAN_SHUTDOWN_MARKER), "w") as fh:
            fh.write(f"{clock.wall_ts()}\n")
        os.unlink(os.path.join(self.state_dir, RUNNING_MARKER))
        os.close(self._sig_r)
        os.close(self._sig_w)
        log.info("stopped")

    # ------------------------------------------------------------ one turn of the loop

    def _turn(self) -> None:
        now = clock.monotonic_s()
        deadlines = [self.watcher.timeout_s(), self.publisher.timeout_s()]
        if self.remote is not None:
            deadlines.append(self.remote.timeout_s())
        if self.consent.enabled:
            deadlines += [self._next_sample - now, self._next_report - now]
            if not self.publisher.connected and not self.spool.to_flash and len(self.spool):
                deadlines.append(self._offline_since + self.persist_after_s - now)
        pending = [d for d in deadlines if d is not None]
        timeout = max(0.0, min(pending)) if pending else None
        rfds, wfds = self.publisher.fds()
        rfds = [*rfds, self._sig_r, *(self.remote.fds() if self.remote is not None else ())]
        wfd = self.watcher.fileno()
        if wfd is not None:
            rfds.append(wfd)
        if self._control_fd is not None:
            rfds.append(self._control_fd)
        try:
            r, w, _ = select.select(rfds, wfds, [], timeout)
        except InterruptedError:
            r, w = [], []
        readable, writable = set(r), set(w)
        if self._sig_r in readable:
            try:
                os.read(self._sig_r, 64)
            except BlockingIOError:
                pass
        if wfd is None or wfd in readable:
            self._apply_consent(self.watcher.poll())
        if self._control_fd is not None and self._control_fd in readable:
            self._on_control()
        now = clock.monotonic_s()
        if self.consent.enabled and self.sampler is not None:
            if now >= self._next_sample:
                self._sample(now)
                self._next_sample += self.sample_s * max(1, int((now - self._next_sample) // self.sample_s) + 1)
            if now >= self._next_report:
                self._close_report()
                self._next_report += self.report_s * max(1, int((now - self._next_report) // self.report_s) + 1)
        was_connected = self.publisher.connected
        self.publisher.service(readable, writable)  # a command arriving runs from here (remote/)
        if self.remote is not None:
            self.remote.service(readable)
        if was_connected and not self.publisher.connected:
            self._offline_since = clock.monotonic_s()
        if (self.consent.enabled and not self.publisher.connected and not self.spool.to_flash and len(self.spool)
                and clock.monotonic_s() - self._offline_since >= self.persist_after_s):
            log.info("offline for %d s: spool moves to flash", self.persist_after_s)
            self.spool.persist()

    # ------------------------------------------------------------ consent

    def _apply_consent(self, new: ConsentState) -> None:
        old, self.consent = self.consent, new
        if old == new:
            return
        if old.enabled and not new.enabled:
            self._opt_out(new)
            return
        if new.enabled and not old.enabled:
            log.info("consent given (location %s, policy %s): sampling", "on" if new.location else "off",
                     new.policy_version or "-")
            self.publisher.set_consent(True, new.policy_version)
            # Start the TCP connect and TLS handshake (their own thread) before priming the
            # collectors, so the two overlap: the first publish leaves sooner after start.
            self.publisher.service(set(), set())
            self._mark_withdrawal_owed()
            self.sampler = self._make_sampler()
            self.sampler.prime()
            now = clock.monotonic_s()
            self._next_sample = now + self.sample_s
            self._next_report = now + self.report_s
            return
        if old.location and not new.location:
            log.info("location withdrawn: location fields removed from everything held")
            self.report.strip_location()
            strip_location_json(BATCH, {"snapshots": self.batch_snapshots, "events": self.batch_events})
            self.spool.rewrite(strip_location_payload)
        if old.policy_version != new.policy_version:
            self.consent = old
            self._close_report(flush=True)  # what was collected under the old policy says so
            self.consent = new
        self.publisher.set_consent(True, new.policy_version)

    def _owed_path(self) -> str:
        return os.path.join(self.spool.flash.dir, WITHDRAWAL_OWED)

    def _mark_withdrawal_owed(self) -> None:
        """One small flash write per opt-in (none while it is already there)."""
        path = self._owed_path()
        if os.path.exists(path):
            return
        try:
            write_atomic(path, b"1\n")
        except OSError as e:
            log.warning("cannot record consent on flash (%s): a withdrawal made while stopped may go untold",
                        e.strerror)

    def _withdrawal_acknowledged(self) -> None:
        """The broker has the retained consent_withdrawn status: nothing more is owed."""
        try:
            os.unlink(self._owed_path())
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warning("cannot clear %s: %s", WITHDRAWAL_OWED, e.strerror)

    def _opt_out(self, new: ConsentState) -> None:
        """Within 1 s: stop sampling, delete everything held, tell the server, disconnect."""
        self.consent = new
        if self.sampler is not None:
            self.sampler.close()
            self.sampler = None
        self._clear_held()
        n = self.spool.purge()
        if self.remote is not None:
            self.remote.opted_out()
        self.publisher.withdraw(new.policy_version)
        log.info("consent withdrawn: sampling stopped, %d spooled records deleted", n)

    # ------------------------------------------------------------ sampling and reporting

    def policy(self) -> privacy.Policy:
        return self._policy()

    def _policy(self) -> privacy.Policy:
        return privacy.Policy(location=self.consent.location, key=self._key)

    def _sample(self, now: float) -> None:
        assert self.sampler is not None
        snap = self.sampler.sample()
        cell, wan = snap.get("cellular"), snap.get("wan")
        self.publisher.roaming = bool(cell.get("roaming")) if isinstance(cell, dict) else False
        self.publisher.wan_reported_up = wan.get("up") is not False if isinstance(wan, dict) else True
        self.report.add(now, privacy.apply(snap, self._policy()))

    def _clear_held(self) -> None:
        self.report.clear()
        self.batch_snapshots, self.batch_events = [], []

    def _close_report(self, flush: bool = False) -> None:
        """One report -> one summarised snapshot in the open batch. The batch is spooled when it
        holds ``reports_per_batch`` reports, as soon as it carries an event (a disconnect's field
        data does not wait), or when ``flush`` (shutdown, policy change)."""
        snap = self.report.summarise()
        self.report.clear()
        raw_events = self.sampler.drain_events() if self.sampler is not None else []
        if raw_events:
            self.batch_events += privacy.apply({"events": raw_events}, self._policy()).get("events", [])
            if self.remote is not None:
                self.remote.remember_events(raw_events)  # filtered when asked, under the policy of then
        if snap is not None:
            self.batch_snapshots.append(snap)
        if not self.batch_snapshots and not self.batch_events:
            return
        if not (flush or self.batch_events or len(self.batch_snapshots) >= self.reports_per_batch):
            return
        snaps, events = self.batch_snapshots, self.batch_events
        self.batch_snapshots, self.batch_events = [], []
        seq = self.spool.next_seq()
        try:
            payload = build_batch(
                device_id=self.device_id, seq=seq, enabled=True, location=self.consent.location,
                policy_version=self.consent.policy_version, snapshots=snaps, events=events,
                dropped_total=self.spool.dropped_total)
        except EncodeError as e:
            log.warning("report %d not encodable, skipped: %s", seq, e)
            return
        self.spool.add(Record(seq, payload))

    # ------------------------------------------------------------ control socket answers

    def control(self, verb: str) -> dict[str, Any]:
        if verb == "purge":
            self._clear_held()
            return {"purged_records": self.spool.purge()}
        out: dict[str, Any] = {
            "device_id": self.device_id,
            "agent": "running",
            "consent": {"enabled": self.consent.enabled, "location": self.consent.location,
                        "policy_version": self.consent.policy_version},
            "connected": self.publisher.connected,
            "spool": {"records": len(self.spool), "bytes": self.spool.bytes_used,
                      "on_flash": len(self.spool.flash.records()), "dropped_total": self.spool.dropped_total,
                      "corrupt_total": self.spool.corrupt_total, "last_seq": self.spool.last_seq},
            "wire_bytes_today": self.publisher.budget_used_bytes,
        }
        if self._session is not None:
            out["session"] = self._session.state()
        if self.remote is not None:
            out["commands"] = self.remote.log.entries if verb == "export" else self.remote.status_view()
        if verb == "export":
            out["records"] = export_records(self.spool)
            held = [*self.batch_snapshots, *(s for _t, s in self.report.samples)]
            out["pending_snapshots"] = [_json_safe(s) for s in held]
            out["pending_events"] = [_json_safe(e) for e in self.batch_events]
            out["state_files"] = export_state_files(self.state_dirs)
        return out


def export_state_files(dirs: list[str]) -> dict[str, Any]:
    """The other state the collectors keep (WAN counts, usage), for the owner's copy."""
    import json

    out: dict[str, Any] = {}
    for d in dirs:
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith(".json"))
        except OSError:
            continue
        for name in names:
            path = os.path.join(d, name)
            try:
                with open(path, "rb") as fh:
                    out[path] = json.loads(fh.read(1024 * 1024))
            except (OSError, ValueError) as e:
                out[path] = {"error": str(e)}
    return out


def export_records(spool: Spool) -> list[dict[str, Any]]:
    """Every held record decoded, for the owner's copy; an undecodable one says so."""
    out: list[dict[str, Any]] = []
    for rec in spool.records():
        try:
            out.append({"seq": rec.seq, "batch": codec.decode(rec.payload)})
        except codec.DecodeError as e:
            out.append({"seq": rec.seq, "error": str(e)})
    return out
