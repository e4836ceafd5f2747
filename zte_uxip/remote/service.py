"""The one object the agent wires in: every message on ``uxip/v1/{id}/cmd`` comes here.

Checks, in order, before anything runs (each refusal: one log line, one entry in the owner's
log, an answer with the reason): a COSE_Sign1 with a good EdDSA signature from the configured
key; this device's id; the owner opted in; ``issued_ts`` at most 300 s ahead of our clock and
``expires_ts`` not passed (validity at most an hour); an id not seen before (replay window);
a known verb with valid arguments; at most 10 such commands a minute; nothing else running.
The rate limit counts only commands that passed the checks before it, so junk or forgeries on
the topic cannot use up support's quota. Answers are capped at 16 KiB of CBOR.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import cbor2

from .. import clock
from ..errors import SourceError
from ..wire.codec import EncodeError
from . import answers, runner
from .envelope import Refused, open_envelope, peek_id
from .log import STATUS_SHOWS, CommandLog
from .replay import SKEW_S, ReplayWindow
from .verbs import VERBS, safe_text, validate

log = logging.getLogger("zte_uxip.remote")

MAX_RESULT_BYTES = 16 * 1024
RATE_PER_MIN = 10
MAX_VALIDITY_S = 3600
RECENT_EVENTS = 100
PING_SLACK_S = 5.0
DNS_LIMIT_S = 10.0


class Remote:
    def __init__(self, *, device_id: str, verify_key: bytes, state_dir: str, agent: answers.AgentView,
                 send: Callable[[bytes], bool]) -> None:
        self.device_id = device_id
        self._key = verify_key
        self._agent = agent
        self._send = send
        self.log = CommandLog(state_dir)
        self.replay = ReplayWindow(state_dir)
        self.runner = runner.Runner()
        self._accepted_s: deque[float] = deque()
        self.recent_events: deque[dict[str, Any]] = deque(maxlen=RECENT_EVENTS)

    # ------------------------------------------------------------ the agent's loop

    def fds(self) -> list[int]:
        return self.runner.fds()

    def timeout_s(self) -> float | None:
        return self.runner.timeout_s()

    def service(self, readable: set[int]) -> None:
        done = self.runner.service(readable)
        if done is not None:
            job, status, value = done
            self._finish(job.cmd_id, job.verb, job.args, status, value)

    def remember_events(self, events: list[dict[str, Any]]) -> None:
        """Reported events, for the `events` and `link` verbs. Kept as sampled (RAM only, like the
        sampler's own) and filtered when a command asks, so a later withdrawal of `location`
        applies to them too."""
        self.recent_events.extend(events)

    def opted_out(self) -> None:
        """The erasure: a running tool is killed, the owner's command log and the events go."""
        self.runner.kill()
        self.log.clear()
        self.recent_events.clear()

    def status_view(self) -> list[dict[str, Any]]:
        return self.log.entries[-STATUS_SHOWS:]

    # ------------------------------------------------------------ a message

    def on_message(self, data: bytes) -> None:
        now = clock.wall_ts()
        try:
            cmd = open_envelope(data, self._key)
        except Refused as r:
            self._refuse(r.cmd_id or peek_id(data), "?", r.reason)
            return
        verb = cmd.verb if cmd.verb in VERBS else safe_text(cmd.verb)
        try:
            if cmd.device_id != self.device_id:
                raise Refused("addressed to another device")
            if not self._agent.consent.enabled:
                raise Refused("the owner has opted out")
            if cmd.issued_ts > now + SKEW_S:
                raise Refused(f"issued in the future (more than {SKEW_S} s of clock skew)")
            if cmd.expires_ts < now:
                raise Refused("expired")
            if not 0 < cmd.expires_ts - cmd.issued_ts <= MAX_VALIDITY_S:
                raise Refused(f"validity out of range (1..{MAX_VALIDITY_S} s)")
            why = self.replay.admit(cmd.id, cmd.expires_ts, now)
            if why:
                raise Refused(why)
            args = validate(cmd.verb, cmd.args)
            t = clock.monotonic_s()
            while self._accepted_s and t - self._accepted_s[0] >= 60:
                self._accepted_s.popleft()
            if len(self._accepted_s) >= RATE_PER_MIN:
                raise Refused(f"rate limit ({RATE_PER_MIN} commands a minute)")
            if self.runner.busy:
                raise Refused("busy")
            self._accepted_s.append(t)
        except Refused as r:
            self._refuse(cmd.id, verb, r.reason)
            return
        self._run(cmd.id, cmd.verb, args)

    def _run(self, cmd_id: bytes, verb: str, args: dict[str, Any]) -> None:
        inline = answers.INLINE.get(verb)
        if inline is not None:
            try:
                result = inline(self._agent, args, list(self.recent_events))
            except (SourceError, OSError, ValueError, RuntimeError, EncodeError, TypeError, KeyError) as e:
                # a source that breaks mid-answer costs this answer, never the agent
                self._finish(cmd_id, verb, args, "failed", runner.one_line(str(e)) or type(e).__name__)
                return
            self._finish(cmd_id, verb, args, "ok", result)
            return
        if verb == "ping":
            host, count = args["host"], args["count"]
            why = self.runner.start(cmd_id, verb, args, "ping", lambda exe: runner.ping_argv(exe, host, count),
                                    count + 2 + PING_SLACK_S, runner.parse_ping(host))
        else:
            name = args["name"]
            why = self.runner.start(cmd_id, verb, args, "nslookup", lambda exe: runner.dns_argv(exe, name),
                                    DNS_LIMIT_S, runner.parse_nslookup(name))
        if why:
            self._finish(cmd_id, verb, args, "failed", why)
        else:
            log.info("command %s %s: started", cmd_id.hex()[:8], verb)

    # ------------------------------------------------------------ answers

    def _refuse(self, cmd_id: bytes | None, verb: str, reason: str) -> None:
        log.warning("command %s %s refused: %s", cmd_id.hex()[:8] if cmd_id else "-", verb, reason)
        self.log.add(cmd_id=cmd_id, verb=verb, status="refused", ts=clock.wall_ts(), reason=reason)
        self._answer(cmd_id, "refused", reason)

    def _finish(self, cmd_id: bytes, verb: str, args: dict[str, Any], status: str,
                value: dict[str, Any] | str) -> None:
        data = self._encode(cmd_id, status, value)
        if len(data) > MAX_RESULT_BYTES:
            status, value = "failed", f"result of {len(data)} bytes exceeds the {MAX_RESULT_BYTES}-byte cap"
            data = self._encode(cmd_id, status, value)
        reason = value if isinstance(value, str) else None
        log.info("command %s %s: %s%s", cmd_id.hex()[:8], verb, status, f" ({reason})" if reason else "")
        self.log.add(cmd_id=cmd_id, verb=verb, status=status, ts=clock.wall_ts(), reason=reason, args=args)
        self._deliver(data)

    def _answer(self, cmd_id: bytes | None, status: str, reason: str) -> None:
        self._deliver(self._encode(cmd_id, status, reason))

    @staticmethod
    def _encode(cmd_id: bytes | None, status: str, value: dict[str, Any] | str) -> bytes:
        msg: dict[str, Any] = {"id": cmd_id, "status": status}
        msg["reason" if isinstance(value, str) else "result"] = value
        return bytes(cbor2.dumps(msg))

    def _deliver(self, data: bytes) -> None:
        if not self._send(data):
            log.warning("command answer not sent: not connected")
