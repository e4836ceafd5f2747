"""A ZTE WebUI data service (goform) on a random local port, replaying the recorded answers of
tests/fixtures/goform/*.toml with the firmware's session and lockout behaviour, and hostile
modes. Standalone: `python tests/goformsim.py mc888-nsa --password secret` prints the base URL
and serves until killed. In tests: `with GoformSim("mc888-nsa", password="pw") as sim: sim.url`.

Login is checked here with its own implementation of each generation (not the agent's code):
base64, sha256-base64 and ld-sha256, as the stock service.js computes them. A wrong password
decrements `psw_fail_num_str` (5 at start, as MAX_LOGIN_COUNT); at 0 the login is locked for
`login_lock_time` (300 s) and even the right password is refused, as the firmware does.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
import tomllib
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "goform"
PROFILES = sorted(p.stem for p in FIXTURES.glob("*.toml"))
HOSTILE = ("html", "truncated", "types", "huge", "stall", "trickle", "echo", "deep", "badstatus", "list")
MAX_LOGIN_COUNT = 5


def load(profile: str) -> dict[str, Any]:
    with open(FIXTURES / f"{profile}.toml", "rb") as fh:
        return tomllib.load(fh)


def expected(profile: str) -> dict[str, Any]:
    return load(profile)["expected"]


def _up_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest().upper()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client that hangs up mid-answer (the agent's budget) is normal here


class GoformSim:
    def __init__(self, profile: str, *, password: str = "", hostile: str | None = None,
                 hostile_post: str | None = None, busy: bool = False,
                 require_referer: bool = True, tries_left: int = MAX_LOGIN_COUNT) -> None:
        fx = load(profile)
        self.profile = profile
        self.meta: dict[str, Any] = fx["meta"]
        self.answer: dict[str, str] = fx["answer"]
        self.password = password
        self.hostile = hostile
        self.hostile_post = hostile_post  # for POSTs only (the login), after normal GETs
        self.busy = busy
        self.require_referer = require_referer
        self.tries_left = tries_left
        self.locked_until = 0.0
        self.sessions: set[str] = set()
        self.ld = ""
        self.log: list[tuple[str, str, dict[str, str], str]] = []  # method, path, headers, body
        self.logins: list[str] = []  # the `password` field of every LOGIN received
        self.login_results: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- firmware behaviour ----------------------------------------------------------------

    def expire_sessions(self) -> None:
        with self._lock:
            self.sessions.clear()

    def logged_in(self, cookie_header: str) -> bool:
        name = self.meta["session_cookie"]
        for part in cookie_header.split(";"):
            k, _, v = part.strip().partition("=")
            if k == name and v in self.sessions:
                return True
        return False

    def _expected_password(self, ld: str) -> str:
        gen, pw = self.meta["generation"], self.password
        if gen == "ld-sha256":
            return _up_sha256(_up_sha256(pw) + ld)
        b64 = base64.b64encode(pw.encode()).decode()
        return _up_sha256(b64) if gen == "sha256-base64" else b64

    def login(self, sent: str) -> tuple[dict[str, str], str | None]:
        with self._lock:
            self.logins.append(sent)
            if self.busy:
                return {"result": "2"}, None
            now = time.monotonic()
            if now < self.locked_until:
                return {"result": "3"}, None
            ok = bool(self.password) and secrets.compare_digest(sent, self._expected_password(self.ld))
            self.ld = ""  # one salt per attempt
            if not ok:
                self.tries_left -= 1
                if self.tries_left <= 0:
                    self.locked_until = now + 300
                return {"result": "3"}, None
            self.tries_left = MAX_LOGIN_COUNT
            token = secrets.token_hex(16)
            self.sessions.add(token)
            return {"result": "0"}, token

    def fields(self, names: list[str], cookie: str) -> dict[str, str]:
        inside = self.logged_in(cookie)
        out: dict[str, str] = {}
        for name in names:
            if name == "loginfo":
                out[name] = "ok" if inside else ""
            elif name == "psw_fail_num_str":
                out[name] = str(max(self.tries_left, 0))
            elif name == "login_lock_time":
                left = self.locked_until - time.monotonic()
                out[name] = str(int(left)) if left > 0 else "300"
            elif inside or name in self.meta.get("public", []):
                out[name] = self.answer.get(name, "")
            else:
                out[name] = ""
        return out

    # --- serving ---------------------------------------------------------------------------

    def start(self) -> str:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per answer, as a firmware's web server does
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                return None

            def _send(self, status: int, body: bytes, ctype: str = "application/json",
                      cookie: str | None = None, length: bool = True) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if cookie is not None:
                    self.send_header("Set-Cookie", f"{sim.meta['session_cookie']}={cookie}; path=/; HttpOnly")
                if length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _hostile(self, body: str, post: bool = False) -> bool:
                mode = (sim.hostile_post if post else None) or sim.hostile
                if mode is None:
                    return False
                if mode == "html":
                    self._send(200, b"<html><body><h1>500 Internal Server Error</h1></body></html>", "text/html")
                elif mode == "truncated":
                    self._send(200, json.dumps(sim.fields(["network_type", "lte_rsrp"], "x"))[:20].encode())
                elif mode == "types":
                    self._send(200, json.dumps({"network_type": 7, "lte_rsrp": -97, "rssi": [1, 2],
                                                "cell_id": {"a": 1}, "rmcc": None, "signalbar": True,
                                                "loginfo": "ok", "lte_rsrq": "-11"}).encode())
                elif mode == "list":
                    self._send(200, b'["network_type","LTE"]')
                elif mode == "deep":
                    self._send(200, b"[" * 30000 + b"]" * 30000)
                elif mode == "huge":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()  # no length: read until close
                    chunk = b'{"pad":"' + b"x" * 65536
                    try:
                        for _ in range(80):  # 5 MiB
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                    self.close_connection = True
                elif mode == "stall":
                    sim._stop.wait(30)
                    self.close_connection = True
                elif mode == "trickle":
                    payload = json.dumps({k: sim.answer.get(k, "") for k in ("network_type", "lte_rsrp")}).encode()
                    try:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n")
                        for b in payload * 100:
                            if sim._stop.wait(0.2):
                                break
                            self.wfile.write(bytes([b]))
                            self.wfile.flush()
                    except OSError:
                        pass
                    self.close_connection = True
                elif mode == "echo":
                    page = f"<html>bad request: {self.path} {body}</html>".encode()
                    self._send(400, page, "text/html")
                elif mode == "badstatus":
                    self.wfile.write(f"HTTP/1.1 2OO {body}\r\n\r\n".encode())
                    self.close_connection = True
                return True

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                sim.log.append(("GET", self.path, dict(self.headers), ""))
                if sim.require_referer and not (self.headers.get("Referer") or "").startswith(sim.url):
                    self._send(403, b"forbidden", "text/plain")
                    return
                if self._hostile(""):
                    return
                parts = urllib.parse.urlsplit(self.path)
                if parts.path == "/js/config/config.js":
                    self._send(200, sim.meta.get("config_js", "").encode(), "application/javascript")
                    return
                if parts.path != "/goform/goform_get_cmd_process":
                    self._send(404, b"not found", "text/plain")
                    return
                q = urllib.parse.parse_qs(parts.query)
                cmd = (q.get("cmd") or [""])[0]
                if cmd == "LD":
                    with sim._lock:
                        sim.ld = secrets.token_hex(32).upper() if sim.meta["generation"] == "ld-sha256" else ""
                        answer = {"LD": sim.ld}
                else:
                    answer = sim.fields(cmd.split(","), self.headers.get("Cookie") or "")
                self._send(200, json.dumps(answer).encode())

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, 65536)).decode("utf-8", "replace")
                sim.log.append(("POST", self.path, dict(self.headers), body))
                if self._hostile(body, post=True):
                    return
                form = urllib.parse.parse_qs(body)
                if self.path != "/goform/goform_set_cmd_process" or form.get("goformId") != ["LOGIN"]:
                    self._send(200, b'{"result":"failure"}')
                    return
                result, token = sim.login((form.get("password") or [""])[0])
                sim.login_results.append(result["result"])
                self._send(200, json.dumps(result).encode(), cookie=token)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self.url

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> GoformSim:
        if not self.url:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description="ZTE goform WebUI simulator")
    ap.add_argument("profile", choices=PROFILES)
    ap.add_argument("--password", default="")
    ap.add_argument("--hostile", choices=HOSTILE)
    args = ap.parse_args()
    sim = GoformSim(args.profile, password=args.password, hostile=args.hostile)
    print(sim.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
