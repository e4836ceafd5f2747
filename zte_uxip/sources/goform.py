"""The goform backend: the cellular state a ZTE stock firmware's WebUI shows, read from its own
data service (`GET /goform/goform_get_cmd_process?isTest=false&multi_data=1&cmd=a,b,c`).

On many ZTE routers the modem's AT port belongs to the firmware, and this is the only way in.
Plain http.client on one connection, bounded everywhere: REQUEST_TIMEOUT_S per socket
operation, QUERY_BUDGET_S for the whole sample (a watchdog shuts the socket down when it is
spent, so a server that trickles bytes cannot hold the agent), ANSWER_MAX_BYTES per answer.

Login (`POST /goform/goform_set_cmd_process`, goformId=LOGIN) is attempted only when the
firmware blanks the data and says it is not logged in; the password is read from
`[modem] password_file` at that moment and never kept, logged or echoed. These WebUIs lock the
login after about five wrong tries, so: at most one attempt per sample, a refused password is
never sent again (until the file changes), nothing is tried with fewer than MIN_TRIES_LEFT
tries left, and a locked or busy WebUI pauses the attempts. Error messages describe answers
by their shape only, never by their content (a hostile page could echo the password).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import re
import secrets
import socket
import threading
import time
import urllib.parse
from typing import Any

from ..errors import ConfigError, SourceError
from . import cellnorm
from . import goform_parse as gp

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 2.0
QUERY_BUDGET_S = 5.0
ANSWER_MAX_BYTES = 64 * 1024
PASSWORD_MAX_BYTES = 1024
MIN_TRIES_LEFT = 3  # never spend the last tries of the WebUI's lockout counter
REFUSED_PAUSE_S = 300.0  # a changed password_file is tried at most this often after a refusal
BUSY_PAUSE_S = 60.0  # another user holds the WebUI's only session
LOCKED_PAUSE_S = 300.0  # the firmware's own default login_lock_time
MAX_COOKIES = 8
GET_PATH = "/goform/goform_get_cmd_process"
SET_PATH = "/goform/goform_set_cmd_process"
CONFIG_JS = "/js/config/config.js"

_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
_COOKIE_VALUE = re.compile(r"\"?[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{0,512}\"?")


def read_password(path: str) -> str:
    """The one line of the password file, refused if group or others may read it."""
    from ..config import check_private_file

    try:
        check_private_file(path, "modem.password_file")
    except ConfigError as e:
        raise SourceError(f"goform: {e}") from None
    try:
        with open(path, "rb") as fh:
            raw = fh.read(PASSWORD_MAX_BYTES + 1)
    except OSError as e:
        raise SourceError(f"goform: modem.password_file: {e.strerror}") from None
    line = raw.split(b"\n", 1)[0].rstrip(b"\r")
    if len(raw) > PASSWORD_MAX_BYTES or not line:
        raise SourceError("goform: modem.password_file: expected one line of at most 1024 bytes")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise SourceError("goform: modem.password_file: not UTF-8") from None


class _Http:
    """One connection to the WebUI for one sample, with the session's cookies."""

    def __init__(self, base_url: str, cookies: dict[str, str], deadline: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        host = parts.hostname or ""
        self.base_url = base_url
        self.cookies = cookies
        self.deadline = deadline
        self.conn = http.client.HTTPConnection(host, parts.port or 80, timeout=REQUEST_TIMEOUT_S)
        self.requests = 0
        self._aborted = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._abort)
        self._timer.daemon = True
        self._timer.start()

    def _abort(self) -> None:
        """The budget is spent: unblock whatever read is waiting (trickling servers)."""
        self._aborted = True
        sock = self.conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._timer.cancel()
        self.conn.close()

    def _headers(self) -> dict[str, str]:
        h = {"Referer": f"{self.base_url}/index.html", "X-Requested-With": "XMLHttpRequest",
             "Accept": "application/json, text/javascript, */*; q=0.01", "Connection": "keep-alive"}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return h

    def _keep_cookies(self, resp: http.client.HTTPResponse) -> None:
        for header in resp.headers.get_all("Set-Cookie") or []:
            pair = header.split(";", 1)[0]
            name, eq, value = pair.partition("=")
            name, value = name.strip(), value.strip()
            if not eq or not _COOKIE_NAME.fullmatch(name) or not _COOKIE_VALUE.fullmatch(value):
                continue
            if not value or "max-age=0" in header.lower():
                self.cookies.pop(name, None)
            elif name in self.cookies or len(self.cookies) < MAX_COOKIES:
                self.cookies[name] = value

    def request(self, method: str, path: str, body: str | None = None, what: str = "") -> bytes:
        """The body of a 200 answer (at most ANSWER_MAX_BYTES), else SourceError."""
        what = what or path
        left = self.deadline - time.monotonic()
        if left <= 0 or self._aborted:
            raise SourceError(f"goform: {what}: skipped, the sample's {QUERY_BUDGET_S:g} s are spent")
        headers = self._headers()
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
        self.requests += 1
        try:
            self.conn.timeout = min(REQUEST_TIMEOUT_S, left)
            if self.conn.sock is not None:
                self.conn.sock.settimeout(min(REQUEST_TIMEOUT_S, left))
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            self._keep_cookies(resp)
            data = self._read(resp, what)
            if resp.will_close:
                self.conn.close()
        except SourceError:
            self.conn.close()
            raise
        except TimeoutError:
            self.conn.close()
            raise SourceError(f"goform: {what}: no answer within {REQUEST_TIMEOUT_S:g} s") from None
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            if self._aborted:
                raise SourceError(f"goform: {what}: no complete answer within the sample's "
                                  f"{QUERY_BUDGET_S:g} s") from None
            # http.client's messages quote what the server sent: name the error, never its text.
            reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
            raise SourceError(f"goform: {what}: {reason}") from None
        if resp.status != 200:
            raise SourceError(f"goform: {what}: HTTP {resp.status}")
        return data

    def _read(self, resp: http.client.HTTPResponse, what: str) -> bytes:
        declared = resp.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > ANSWER_MAX_BYTES:
            raise SourceError(f"goform: {what}: answer larger than {ANSWER_MAX_BYTES} bytes")
        chunks: list[bytes] = []
        total = 0
        while True:
            if self._aborted or time.monotonic() > self.deadline:
                raise SourceError(f"goform: {what}: no complete answer within the sample's {QUERY_BUDGET_S:g} s")
            chunk = resp.read1(16384) if resp.length != 0 else b""
            if not chunk:
                if self._aborted:
                    raise SourceError(f"goform: {what}: no complete answer within the sample's "
                                      f"{QUERY_BUDGET_S:g} s")
                if resp.length:  # fewer bytes than Content-Length announced
                    raise SourceError(f"goform: {what}: answer cut short")
                resp.read()  # marks the response complete, so the connection can carry the next request
                return b"".join(chunks)
            total += len(chunk)
            if total > ANSWER_MAX_BYTES:
                raise SourceError(f"goform: {what}: answer larger than {ANSWER_MAX_BYTES} bytes")
            chunks.append(chunk)

    def json(self, method: str, path: str, body: str | None = None, what: str = "") -> dict[str, Any]:
        raw = self.request(method, path, body, what)
        what = what or path
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            kind = "an HTML page" if raw.lstrip()[:1] == b"<" else "not JSON"
            raise SourceError(f"goform: {what}: answer is {kind}") from None
        if not isinstance(obj, dict):
            raise SourceError(f"goform: {what}: answer is JSON but not an object")
        return obj

    def get_fields(self, fields: tuple[str, ...], what: str) -> dict[str, Any]:
        query = urllib.parse.urlencode({"isTest": "false", "cmd": ",".join(fields), "multi_data": "1"})
        return self.json("GET", f"{GET_PATH}?{query}", what=what)


class GoformSource:
    """The backend for one `goform:http://HOST` SPEC. Keeps the WebUI session (its cookies)
    and the login back-off across samples; `query()` is one sample."""

    def __init__(self, base_url: str, password_file: str = "", budget_s: float = QUERY_BUDGET_S) -> None:
        self.base_url = base_url
        self.password_file = password_file
        self.budget_s = budget_s
        self.cookies: dict[str, str] = {}
        self.logged_in = False
        self.generation: str | None = None
        self.login_attempts = 0
        self.last_requests = 0
        self._next_login = 0.0
        self._pause_reason = ""
        self._fp_key = secrets.token_bytes(16)
        self._refused: bytes | None = None
        self._warned = ""

    def query(self) -> dict[str, Any]:
        """One sample. A login that cannot be made or fails leaves what the firmware shows
        without one (often the network type and bars); no data at all is a SourceError."""
        http_ = _Http(self.base_url, self.cookies, time.monotonic() + self.budget_s)
        try:
            answer = http_.get_fields(gp.QUERY_FIELDS, "status")
            if gp.wants_login(answer):
                if self.logged_in:
                    log.info("goform %s: the WebUI session expired; logging in again", self.base_url)
                self.logged_in = False
                try:
                    self._login(http_, answer)
                    answer = http_.get_fields(gp.QUERY_FIELDS, "status after login")
                    if gp.wants_login(answer):  # logged in, yet still blank: no signal, or no `loginfo`
                        self._pause(BUSY_PAUSE_S, "the WebUI showed no signal after a successful login")
                except SourceError as e:
                    if not gp.has_data(answer):
                        raise
                    self._warn_once(str(e))
            if not gp.has_data(answer):
                raise SourceError(f"goform {self.base_url}: the answer carries no cellular data")
            self.logged_in = answer.get("loginfo") == "ok"
            if self.logged_in:
                self._warned = ""
            return gp.map_answer(answer)
        finally:
            self.last_requests = http_.requests
            http_.close()

    def _warn_once(self, message: str) -> None:
        if message != self._warned:
            log.warning("%s (reporting what the WebUI shows without a login)", message)
            self._warned = message

    def _pause(self, seconds: float, reason: str) -> None:
        self._next_login = time.monotonic() + seconds
        self._pause_reason = reason

    def _login(self, http_: _Http, answer: dict[str, Any]) -> None:
        """One login attempt, or SourceError saying why none was made or why it failed."""
        where = f"goform {self.base_url}"
        if not self.password_file:
            raise SourceError(f"{where}: the WebUI asks for a login; set [modem] password_file "
                              "(for `sample`, in the file given with --config)")
        left = self._next_login - time.monotonic()
        if left > 0:
            raise SourceError(f"{where}: login paused for {left:.0f} s ({self._pause_reason})")
        password = read_password(self.password_file)
        fingerprint = hmac.new(self._fp_key, password.encode("utf-8"), hashlib.sha256).digest()
        if self._refused is not None and hmac.compare_digest(fingerprint, self._refused):
            raise SourceError(f"{where}: the WebUI refused the password in modem.password_file; it is not "
                              "sent again until the file changes")
        tries = cellnorm.int_in(answer.get("psw_fail_num_str"), 0, 100)
        lock_s = cellnorm.int_in(answer.get("login_lock_time"), 0, 86400)
        if tries is not None and tries < MIN_TRIES_LEFT:
            self._pause(max(LOCKED_PAUSE_S, float(lock_s or 0)), f"only {tries} login tries left before lockout")
            raise SourceError(f"{where}: only {tries} login tries left on the WebUI; not logging in "
                              "(log in once in the WebUI to reset the counter)")
        # From here on one attempt is spent: the next one waits at least for the next sample.
        self._pause(0.0, "")
        self.login_attempts += 1
        generation, ld = self._generation(http_)
        body = urllib.parse.urlencode({"isTest": "false", "goformId": "LOGIN",
                                       "password": gp.encode_password(password, generation, ld)})
        del password
        reply = http_.json("POST", SET_PATH, body=body, what="login")
        del body
        result = reply.get("result")
        result = str(result) if isinstance(result, int | str) and not isinstance(result, bool) else ""
        if result in ("0", "4"):
            self.logged_in = True
            log.info("%s: logged in to the WebUI (%s)", where, generation)
            return
        if result in ("1", "3"):
            self._refused = fingerprint
            self._pause(REFUSED_PAUSE_S, "the WebUI refused the password")
            raise SourceError(f"{where}: login refused: wrong password in modem.password_file (not sent "
                              "again until the file changes: the WebUI locks after a few wrong tries)")
        if result == "2":
            self._pause(BUSY_PAUSE_S, "another user is logged in to the WebUI")
            raise SourceError(f"{where}: another user is logged in to the WebUI; not logging in for "
                              f"{BUSY_PAUSE_S:.0f} s")
        # Only a short number is quoted back: an answer's text could be anything, the login included.
        raise SourceError(f"{where}: login failed (result {result})" if result.isdigit() and len(result) <= 3
                          else f"{where}: login failed (no known result in the answer)")

    def _generation(self, http_: _Http) -> tuple[str, str]:
        """Which password encoding this firmware wants, and its one-time salt (LD) if any."""
        reply = http_.json("GET", f"{GET_PATH}?isTest=false&cmd=LD", what="login salt")
        ld = reply.get("LD")
        if isinstance(ld, str) and gp.LD_FORM.fullmatch(ld):
            self.generation = "ld-sha256"
            return "ld-sha256", ld
        if self.generation is None or self.generation == "ld-sha256":
            try:
                text = http_.request("GET", CONFIG_JS, what="config.js").decode("utf-8", "replace")
                self.generation = gp.generation_from_config_js(text)
            except SourceError as e:
                log.debug("goform %s: %s; assuming the base64 login", self.base_url, e)
                self.generation = "base64"
            if self.generation == "ld-sha256":  # declared, but no salt offered: cannot log in
                raise SourceError(f"goform {self.base_url}: the WebUI wants a salted login but gave no LD")
        return self.generation, ""


__all__ = ["GoformSource", "read_password"]
