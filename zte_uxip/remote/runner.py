"""The tools behind `ping` and `dns`: found on PATH, started with an argument list (no shell),
watched by the agent's select() loop, killed at their time limit, their output parsed into
numbers.

A child process rather than a thread: the tool is a process anyway, its stdout pipe joins the
loop's select() like the broker socket, so sampling and an opt-out are never held up, and the
time limit is a kill of the tool's own process group, which a thread could not do to a
blocking call.
"""

from __future__ import annotations

import logging
import os
import re
import signal
from collections.abc import Callable
from typing import Any

from .. import clock

log = logging.getLogger(__name__)

MAX_OUTPUT_BYTES = 64 * 1024
REASON_CHARS = 200

Parse = Callable[[str, float], tuple[str, dict[str, Any] | str]]  # (status, result or reason)


def one_line(text: str) -> str:
    """Tool output as it may go into an answer: printable ASCII, one line, bounded."""
    flat = " ".join(text.split())
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in flat[:REASON_CHARS])


# ------------------------------------------------------------------ ping

_SENT = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max(?:/mdev)? = ([\d.]+)/([\d.]+)/([\d.]+)")


def ping_argv(tool: str, host: str, count: int) -> list[str]:
    # -q: summary only; -c: count; -w: overall deadline (iputils and busybox both take these)
    return [tool, "-q", "-c", str(count), "-w", str(count + 2), host]


def parse_ping(host: str) -> Parse:
    def parse(out: str, elapsed_s: float) -> tuple[str, dict[str, Any] | str]:
        m = _SENT.search(out)
        if m is None:
            return "failed", f"ping: {one_line(out) or 'no output'}"
        sent, received = int(m.group(1)), int(m.group(2))
        result: dict[str, Any] = {"host": host, "sent": sent, "received": received,
                                  "loss_pct": round(100.0 * (sent - received) / sent, 1) if sent else 100.0,
                                  "time_ms": round(elapsed_s * 1000)}
        r = _RTT.search(out)
        if r is not None:
            result.update(rtt_ms_min=float(r.group(1)), rtt_ms_avg=float(r.group(2)), rtt_ms_max=float(r.group(3)))
        return "ok", result

    return parse


# ------------------------------------------------------------------ dns (nslookup)

_ADDRESS = re.compile(r"^Address(?: \d+)?:\s*(\S+)")


def dns_argv(tool: str, name: str) -> list[str]:
    return [tool, name]


def parse_nslookup(name: str) -> Parse:
    """busybox nslookup (what a router has) and bind9's nslookup: the addresses are the
    ``Address`` lines after the first ``Name:`` line (those before it are the server's)."""

    def parse(out: str, elapsed_s: float) -> tuple[str, dict[str, Any] | str]:
        import ipaddress

        addresses: list[str] = []
        seen_name = False
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("Name:"):
                seen_name = True
            m = _ADDRESS.match(line)
            if seen_name and m:
                try:
                    addr = str(ipaddress.ip_address(m.group(1)))
                except ValueError:
                    continue
                if addr not in addresses:
                    addresses.append(addr)
        if not addresses:
            why = next((ln for ln in out.splitlines() if "can't find" in ln or "timed out" in ln
                        or "no servers" in ln), "")
            return "failed", f"dns: {one_line(why or out) or 'no answer'}"
        return "ok", {"name": name, "addresses": addresses[:16], "time_ms": round(elapsed_s * 1000)}

    return parse


# ------------------------------------------------------------------ the child process


class Job:
    """The running tool (a plain class: dataclasses would bring ``inspect`` onto the run path)."""

    def __init__(self, cmd_id: bytes, verb: str, args: dict[str, Any], proc: Any, parse: Parse,
                 started_s: float, deadline_s: float) -> None:
        self.cmd_id, self.verb, self.args = cmd_id, verb, args
        self.proc = proc  # subprocess.Popen[bytes]
        self.parse, self.started_s, self.deadline_s = parse, started_s, deadline_s
        self.out = bytearray()


class Runner:
    """At most one tool at a time (the service refuses a second command as busy)."""

    def __init__(self) -> None:
        self.job: Job | None = None

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, cmd_id: bytes, verb: str, args: dict[str, Any], tool: str, make_argv: Callable[[str], list[str]],
              limit_s: float, parse: Parse) -> str | None:
        """Start the tool; None, or why it could not start (then nothing runs)."""
        import shutil
        import subprocess

        path = os.environ.get("PATH") or "/usr/sbin:/usr/bin:/sbin:/bin"
        exe = shutil.which(tool, path=path)
        if exe is None:
            return f"{tool} not found on PATH"
        try:
            proc = subprocess.Popen(make_argv(exe), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env={"PATH": path, "LC_ALL": "C"},
                                    close_fds=True, start_new_session=True)
        except OSError as e:
            return f"{tool}: {e.strerror or e}"
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        now = clock.monotonic_s()
        self.job = Job(cmd_id, verb, args, proc, parse, now, now + limit_s)
        return None

    def fds(self) -> list[int]:
        return [self.job.proc.stdout.fileno()] if self.job is not None else []

    def timeout_s(self) -> float | None:
        return max(0.0, self.job.deadline_s - clock.monotonic_s()) if self.job is not None else None

    def service(self, readable: set[int]) -> tuple[Job, str, dict[str, Any] | str] | None:
        """-> (job, status, result or reason) once the tool is done or out of time."""
        job = self.job
        if job is None:
            return None
        fd = job.proc.stdout.fileno()
        eof = False
        if fd in readable:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                chunk = b"-"
            except OSError:
                chunk = b""
            if chunk == b"":
                eof = True
            elif chunk != b"-" and len(job.out) < MAX_OUTPUT_BYTES:
                job.out += chunk[: MAX_OUTPUT_BYTES - len(job.out)]
        now = clock.monotonic_s()
        if not eof and now < job.deadline_s:
            return None
        if not eof:
            self.kill()
            return job, "timeout", f"{job.verb}: no answer within {job.deadline_s - job.started_s:.0f} s"
        self._reap(job)
        status, value = job.parse(job.out.decode("utf-8", "replace"), now - job.started_s)
        return job, status, value

    def _reap(self, job: Job) -> None:
        import subprocess

        try:
            job.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            self._killpg(job)
            job.proc.wait(5.0)
        job.proc.stdout.close()
        self.job = None

    def _killpg(self, job: Job) -> None:
        try:
            os.killpg(job.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Time limit or opt-out: the tool and anything it started."""
        job = self.job
        if job is None:
            return
        self._killpg(job)
        job.proc.wait(5.0)
        job.proc.stdout.close()
        self.job = None
