"""The AT backend: one bounded conversation with a modem's AT port (pyserial, imported only here).

Why bounded everywhere: the modem is another computer that may echo, interleave unsolicited
result codes (URCs), stream garbage, stop mid-line or never answer. Every line is capped
(LINE_MAX_BYTES), every reply (REPLY_MAX_BYTES), every command (CMD_TIMEOUT_S) and the whole
query (QUERY_BUDGET_S); two commands in a row without an answer end the query. A command that
fails costs only its fields. Parsing lives in at_parse (pure functions).
"""

from __future__ import annotations

import functools
import logging
import os
import select
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import SourceError
from . import at_parse as p
from . import cellnorm as n
from .devnode import check_char_device

log = logging.getLogger(__name__)

LINE_MAX_BYTES = 512
REPLY_MAX_BYTES = 16 * 1024
CMD_TIMEOUT_S = 1.0
QUERY_BUDGET_S = 6.0
MAX_SILENT_COMMANDS = 2
DEFAULT_BAUD = 115200

FINAL_OK = ("OK",)
FINAL_ERROR = ("ERROR", "+CME ERROR", "+CMS ERROR", "NO CARRIER", "COMMAND NOT SUPPORT",
               "TOO MANY PARAMETERS")


class AtError(SourceError):
    """The modem answered a command with an error result (ERROR, +CME ERROR: n, ...)."""


class AtTimeout(SourceError):
    """No final result code within the command's time."""


class RawPort(Protocol):
    def read(self, max_bytes: int, timeout_s: float) -> bytes: ...

    def write(self, data: bytes) -> None: ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...


LOCK_DIRS = ("/var/lock", "/run/lock")


def uucp_lock_holder(device: str, lock_dirs: tuple[str, ...] | None = None) -> int | None:
    """The live PID in a UUCP lock file (LCK..ttyUSB2), as pppd/chat/minicom write it, else None.
    Such programs do not flock, so this is how to see that they hold the port."""
    name = os.path.basename(device)
    for d in LOCK_DIRS if lock_dirs is None else lock_dirs:
        try:
            with open(os.path.join(d, f"LCK..{name}"), "rb") as fh:
                raw = fh.read(64)
        except OSError:
            continue
        text = raw.strip()
        if len(raw) == 4 and not text.isdigit():
            pid = int.from_bytes(raw, "little")  # old binary format
        elif text.isdigit():
            pid = int(text)
        else:
            continue
        if pid <= 0 or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue  # stale lock
        except PermissionError:
            return pid
        return pid
    return None


class SerialPort:
    """A TTY through pyserial, locked exclusively (flock) so two users never interleave, and
    refused while another program holds a UUCP lock file for it."""

    def __init__(self, device: str, baud: int | None = None) -> None:
        check_char_device("at", device)
        holder = uucp_lock_holder(device)
        if holder is not None:
            raise SourceError(f"at:{device}: port busy (locked by process {holder})")
        import termios

        import serial  # lazy: only the AT backend pays for pyserial

        try:
            self._ser = serial.Serial(device, baud or DEFAULT_BAUD, timeout=0, write_timeout=CMD_TIMEOUT_S,
                                      exclusive=True)
        except serial.SerialException as e:
            msg = str(e)
            if "lock" in msg.lower():
                raise SourceError(f"at:{device}: port busy (held by another process)") from None
            raise SourceError(f"at:{device}: cannot open: {msg.splitlines()[0][:120]}") from None
        except (OSError, ValueError, termios.error) as e:
            raise SourceError(f"at:{device}: cannot open: {e}") from None
        self.device = device

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        """Wait with select() (changing pyserial's timeout would re-apply termios each time),
        then take what is there without blocking (the port was opened with timeout=0)."""
        import serial

        try:
            ready, _, _ = select.select([self._ser.fileno()], [], [], max(0.0, timeout_s))
            return bytes(self._ser.read(max_bytes)) if ready else b""
        except (serial.SerialException, OSError) as e:
            raise SourceError(f"at:{self.device}: read failed: {str(e)[:120]}") from None

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._ser.write(data)
        except (serial.SerialException, OSError) as e:
            raise SourceError(f"at:{self.device}: write failed: {str(e)[:120]}") from None

    def discard_input(self) -> None:
        import termios

        try:
            self._ser.reset_input_buffer()
        except (termios.error, OSError) as e:  # the device went away (USB modem unplugged)
            raise SourceError(f"at:{self.device}: port gone: {e.args[-1] if e.args else e}") from None

    def close(self) -> None:
        import termios

        try:
            self._ser.close()
        except (termios.error, OSError) as e:
            log.debug("at:%s: close: %s", self.device, e)


def _printable(raw: bytes) -> str | None:
    """A line of printable ASCII (tabs allowed), else None: binary noise is not a reply."""
    if all(0x20 <= b < 0x7F or b == 0x09 for b in raw):
        return raw.decode("ascii").strip()
    return None


class AtChannel:
    """Sends one command at a time and returns its information lines."""

    def __init__(self, port: RawPort, budget_s: float = QUERY_BUDGET_S) -> None:
        self._port = port
        self._deadline = time.monotonic() + budget_s
        self.silent = 0  # commands in a row that got no final result
        self.noise_lines = 0

    def remaining_s(self) -> float:
        return self._deadline - time.monotonic()

    def command(self, cmd: str, timeout_s: float = CMD_TIMEOUT_S) -> list[str]:
        if self.silent >= MAX_SILENT_COMMANDS:
            raise AtTimeout(f"{cmd}: skipped, the modem stopped answering")
        if self.remaining_s() <= 0:
            raise AtTimeout(f"{cmd}: skipped, query time budget spent")
        deadline = min(time.monotonic() + timeout_s, self._deadline)
        self._port.discard_input()
        self._port.write(cmd.encode("ascii") + b"\r")
        info: list[str] = []
        buf = bytearray()
        skipping = False  # inside an over-long line: drop until its end
        total = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.silent += 1
                raise AtTimeout(f"{cmd}: no final result within {timeout_s:g} s")
            chunk = self._port.read(1024, min(left, 0.2))
            total += len(chunk)
            if total > REPLY_MAX_BYTES:
                self.silent += 1
                raise AtTimeout(f"{cmd}: reply longer than {REPLY_MAX_BYTES} bytes")
            for b in chunk:
                if b in (0x0D, 0x0A):
                    if not skipping and buf:
                        final = self._line(cmd, bytes(buf), info)
                        if final is not None:
                            self.silent = 0
                            return final
                    buf.clear()
                    skipping = False
                elif not skipping:
                    buf.append(b)
                    if len(buf) > LINE_MAX_BYTES:
                        buf.clear()
                        skipping = True
                        self.noise_lines += 1

    def _line(self, cmd: str, raw: bytes, info: list[str]) -> list[str] | None:
        """Classify one line: echo and noise dropped, final result ends the command."""
        line = _printable(raw)
        if line is None:
            self.noise_lines += 1
            return None
        if not line or line.upper() == cmd.upper():
            return None
        up = line.upper()
        if up in FINAL_OK:
            return info
        for err in FINAL_ERROR:
            if up == err or up.startswith(err + ":"):
                raise AtError(f"{cmd}: {line[:80]}")
        info.append(line)
        return None


Parser = Callable[[list[str]], dict[str, Any]]

IDENTITY = (("AT+CGMI", "manufacturer", "+CGMI"), ("AT+CGMM", "model", "+CGMM"), ("AT+CGMR", "firmware", "+CGMR"))
SUBSCRIBER: tuple[tuple[str, Parser], ...] = (
    ("AT+CGSN", p.parse_imei),
    ("AT+CIMI", p.parse_imsi),
    ("AT+CNUM", p.parse_cnum),
)
REG = (("+C5GREG", "nr5g"), ("+CEREG", "lte"), ("+CGREG", "ps"), ("+CREG", "cs"))
SIGNAL: tuple[tuple[str, Parser], ...] = (
    ("AT+CSQ", p.parse_csq),
    ("AT+CESQ", p.parse_cesq),
    ("AT+CGATT?", p.parse_cgatt),
)
VENDOR: dict[str, tuple[tuple[str, Parser], ...]] = {
    "quectel": (('AT+QENG="servingcell"', p.parse_qeng),),
    "huawei": (("AT^SYSINFOEX", p.parse_sysinfoex), ("AT^HCSQ?", p.parse_hcsq)),
    # +ZCAINFO? last: some modules leave it unanswered, which then costs only its own timeout
    "zte": (("AT+ZPAS?", p.parse_zpas), ("AT+ZCELLINFO?", p.parse_zcellinfo), ("AT+ZRSSI", p.parse_zrssi),
            ("AT+ZCAINFO?", p.parse_zcainfo)),
    "sierra": (("AT!GSTATUS?", p.parse_gstatus),),
}


def vendor_of(manufacturer: str | None) -> str | None:
    m = (manufacturer or "").lower()
    for v in ("quectel", "huawei", "zte", "sierra"):
        if v in m:
            return v
    return None


def _pick_registration(regs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The first registered domain in order 5GS, EPS, GPRS, CS gives registration, TAC/LAC and
    cell; with none registered, the most telling state (denied > searching > not_registered)."""
    for prefix, _ in REG:
        r = regs.get(prefix, {})
        if r.get("registration") in ("home", "roaming"):
            out = {k: v for k, v in r.items() if k in ("registration", "cell_id", "tac", "lac")}
            if "lac" not in out:
                for cs in ("+CGREG", "+CREG"):
                    if regs.get(cs, {}).get("registration") in ("home", "roaming") and "lac" in regs[cs]:
                        out["lac"] = regs[cs]["lac"]
                        break
            if "rat" in r:
                out["rat"] = r["rat"]
            return out
    states = [r.get("registration") for r in regs.values()]
    for s in ("denied", "searching", "not_registered", "unknown"):
        if s in states:
            return {"registration": s}
    return {}


def _ident_parser(prefix: str) -> Parser:
    def parse(lines: list[str]) -> dict[str, Any]:
        return {"v": p.parse_ident(lines, prefix)}

    return parse


class AtQuery:
    """One full query of an AT modem: identity, subscriber, network, signal, vendor extras."""

    def __init__(self, chan: AtChannel) -> None:
        self.chan = chan
        self.out: dict[str, Any] = {}
        self.errors: list[str] = []

    def _run(self, cmd: str, parse: Parser | None = None) -> dict[str, Any] | None:
        try:
            lines = self.chan.command(cmd)
            return parse(lines) if parse else {}
        except SourceError as e:
            self.errors.append(str(e))
            return None

    def run(self) -> dict[str, Any]:
        self._run("ATE0")
        self._run("AT+CMEE=1")
        if self.chan.silent >= MAX_SILENT_COMMANDS:
            raise SourceError("at: the modem does not answer")
        for cmd, name, prefix in IDENTITY:
            v = self._run(cmd, _ident_parser(prefix))
            if v and v["v"]:
                self.out[name] = v["v"]
        for cmd, parse in SUBSCRIBER:
            self.out.update(self._run(cmd, parse) or {})
        iccid = self._run("AT+CCID", p.parse_iccid) or self._run("AT+CRSM=176,12258,0,0,10", p.parse_crsm_iccid)
        self.out.update(iccid or {})
        # Numeric first, then back to the long name: +COPS=3 is a persistent setting and other
        # software on the router expects the default (long alphanumeric) format.
        if self._run("AT+COPS=3,2") is not None:
            self.out.update(self._run("AT+COPS?", p.parse_cops) or {})
        if self._run("AT+COPS=3,0") is not None:
            self.out.update(self._run("AT+COPS?", p.parse_cops) or {})
        regs: dict[str, dict[str, Any]] = {}
        for prefix, _ in REG:
            self._run(f"AT{prefix}=2")
            r = self._run(f"AT{prefix}?", functools.partial(p.parse_creg, prefix=prefix))
            if r:
                regs[prefix] = r
        reg = _pick_registration(regs)
        rat = reg.pop("rat", None)
        self.out.update(reg)
        if "rat" not in self.out and rat:
            self.out["rat"] = rat
        for cmd, parse in SIGNAL:
            self.out.update(self._run(cmd, parse) or {})
        apns = self._run("AT+CGDCONT?", lambda ls: {"apns": p.parse_cgdcont(ls)})
        active = self._run("AT+CGACT?", lambda ls: {"active": p.parse_cgact(ls)})
        if apns:
            self.out.update(p.choose_apn(apns["apns"], (active or {}).get("active", [])))
        vendor = vendor_of(self.out.get("manufacturer"))
        for cmd, parse in VENDOR.get(vendor or "", ()):
            extra = self._run(cmd, parse) or {}
            if "registration" in extra and "registration" in self.out:
                del extra["registration"]  # 27.007 registration is the reference
            if extra.get("rat") == "lte" and self.out.get("rat") in ("nr5g-nsa", "nr5g-sa"):
                del extra["rat"]  # a vendor's "LTE" names the anchor; +CEREG AcT 13 knows about NR
            self.out.update(extra)
        if not self.out:
            raise SourceError(f"at: no usable answer ({self.errors[0] if self.errors else 'empty replies'})")
        return n.with_roaming(self.out)


def query_at(device: str, baud: int | None = None, budget_s: float = QUERY_BUDGET_S) -> dict[str, Any]:
    """Open the port, query, close. Raises SourceError only when the port cannot be opened or
    the modem never answers; otherwise returns whatever fields were obtained."""
    port = SerialPort(device, baud)
    try:
        q = AtQuery(AtChannel(port, budget_s))
        out = q.run()
        for err in q.errors:
            log.debug("at:%s: %s", device, err)
        out["backend"] = "at"
        return out
    finally:
        port.close()


def responds(device: str, timeout_s: float = 0.5) -> bool:
    """Does an AT modem answer on this port? For `auto`: quick, and False on any trouble."""
    try:
        port = SerialPort(device, None)
    except SourceError:
        return False
    try:
        AtChannel(port, timeout_s).command("AT", timeout_s)
        return True
    except SourceError:
        return False
    finally:
        port.close()
