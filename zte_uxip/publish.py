"""The transport: spooled batches to the broker over mutually authenticated TLS MQTT 5.

Runs inside the agent's own select() loop (paho's external-loop API: no paho thread), so the
agent sleeps until a socket, the toggle file or the next sample needs it. Only the blocking
TCP connect + TLS handshake runs in a short-lived thread, so a broker that does not answer can
never hold up sampling or an opt-out.

- TLS >= 1.2 from an ``ssl.SSLContext`` built here: CA, hostname check, client certificate.
  The handshake comes before MQTT CONNECT, so a certificate that fails the check means no
  CONNECT is ever sent; one log line says why.
- A fresh paho client per connection: paho would otherwise re-send its own copy of unacked
  messages after a reconnect, next to the spool's copy. The spool is the only queue.
- Telemetry QoS 1; a record leaves the spool only on PUBACK (``accept``); a lost connection
  puts unacked records back (``reject``). Retained status, with the will ("offline").
- Reconnect with full-jitter exponential backoff (tenacity's ``wait_random_exponential``,
  loaded without the rest of tenacity: see ``_backoff``).
- Sends only while ``wan_up()``; pauses while roaming and when the daily wire-byte budget
  (counted from the kernel's TCP_INFO, TLS and keepalives included) is spent.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from typing import Any

from . import clock
from .errors import TransportError
from .spool import Spool
from .wire import codec, topics

log = logging.getLogger(__name__)

WINDOW = 8  # telemetry records in flight at once
WITHDRAW_ACK_WAIT_S = 0.5  # opt-out: how long to wait for the status PUBACK before DISCONNECT
DISCONNECT_WAIT_S = 1.0  # a DISCONNECT the socket cannot take by then: close it ourselves
BUDGET_WINDOW_S = 86400
_TCP_INFO_BYTES = struct.Struct("=QQ")  # tcpi_bytes_acked, tcpi_bytes_received
_TCP_INFO_OFFSET = 120


class ResumingContext(ssl.SSLContext):
    """Offers the last TLS session of this broker again when paho wraps a new socket.

    A resumed handshake carries no certificates (~4 KB less on the wire per reconnect, on a
    metered line) and skips the certificate checks' CPU; the broker decides whether it issues
    session tickets. The certificate and host name were checked on the full handshake the
    session came from, and OpenSSL resumes only for the same server name.
    """

    session: ssl.SSLSession | None = None

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        if self.session is not None and kwargs.get("session") is None:
            kwargs["session"] = self.session
        return super().wrap_socket(sock, *args, **kwargs)


def tls_context(ca_file: str, cert_file: str, key_file: str) -> ssl.SSLContext:
    """TLS >= 1.2, the server checked against our CA and its host name, our client certificate."""
    ctx = ResumingContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED + check_hostname by default
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as e:
        raise TransportError(f"broker.ca_file {ca_file}: {_why(e)}") from None
    try:
        ctx.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as e:
        raise TransportError(f"broker.cert_file/key_file {cert_file}: {_why(e)}") from None
    return ctx


def _why(e: BaseException) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"certificate check failed: {str(e.verify_message).rstrip('.')}"
    if isinstance(e, ssl.SSLError):
        return f"TLS: {e.reason or e}"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return " ".join(str(e).split()) or type(e).__name__


class _Attempt:
    """What tenacity's wait strategies read from a retry state."""

    def __init__(self, n: int) -> None:
        self.attempt_number = n


def _backoff(max_s: float) -> Callable[[int], float]:
    """Full jitter: uniform(0, min(max_s, 2**(n-1))).

    ``import tenacity`` pulls in asyncio and concurrent.futures (+1.7 MB RSS measured); its
    ``wait`` module alone needs only ``tenacity._utils``, so it is loaded under a bare package,
    and ``_utils``'s ``inspect`` (unused by the backoff) only on demand (see ondemand.py).
    """
    import sys

    from . import ondemand

    ondemand.defer("inspect")

    if "tenacity" not in sys.modules:
        import importlib.util
        import types

        spec = importlib.util.find_spec("tenacity")
        if spec is None or spec.submodule_search_locations is None:
            raise TransportError("tenacity is not installed")
        pkg = types.ModuleType("tenacity")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["tenacity"] = pkg
        try:
            from tenacity.wait import wait_random_exponential
        finally:
            del sys.modules["tenacity"]  # a later full `import tenacity` still works
    else:
        from tenacity.wait import wait_random_exponential

    wait = wait_random_exponential(multiplier=1, max=max_s)
    return lambda n: float(wait(_Attempt(n)))  # type: ignore[arg-type]


class Publisher:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext,
        device_id: str,
        spool: Spool,
        keepalive_s: int = 300,
        reconnect_max_s: float = 300.0,
        daily_budget_bytes: int = 2_000_000,
        wan_up: Callable[[], bool] = lambda: True,
        on_connect: Callable[[], None] = lambda: None,
        on_disconnect: Callable[[], None] = lambda: None,
        on_command: Callable[[bytes], None] | None = None,
    ) -> None:
        self.host, self.port, self._ssl = host, port, ssl_context
        self.device_id = topics.check_device_id(device_id)
        self.t_telemetry = topics.telemetry(device_id)
        self.t_status = topics.status(device_id)
        self.t_cmd, self.t_cmd_result = topics.cmd(device_id), topics.cmd_result(device_id)
        self._on_command = on_command  # set: subscribe to the cmd topic while opted in (remote/)
        self.last_publish_ts: int | None = None  # wall clock of the last telemetry PUBACK
        self.last_failure = ""  # the last failed connection attempt, kept after a success
        self.spool = spool
        self.keepalive_s = keepalive_s
        self.daily_budget_bytes = daily_budget_bytes
        self.wan_up = wan_up
        self._cb_connect, self._cb_disconnect = on_connect, on_disconnect
        self._wait = _backoff(reconnect_max_s)
        self.online = False  # consent: the agent wants a session (and telemetry)
        self.roaming = False  # cellular.roaming of the latest snapshot
        self.wan_reported_up = True  # wan.up of the latest snapshot (absent: assume up)
        self.policy_version: str | None = None
        self._withdraw_pending = False  # a consent_withdrawn status still to deliver
        self._withdraw_mid: int | None = None
        self.on_withdrawn: Callable[[], None] | None = None  # the withdrawn status was acknowledged
        self._withdraw_deadline: float | None = None
        self._drop_deadline: float | None = None
        self._alias_ok = False
        self._alias_set = False
        self.tls_resumed = False  # the last connection resumed a TLS session (no certificates sent)
        self._client: Any = None
        self._connected = False
        self._connecting: threading.Thread | None = None
        self._connect_done = threading.Event()
        self._connect_error: BaseException | None = None
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._attempt = 0
        self._next_try = 0.0
        self._last_problem = ""
        self._inflight: dict[int, int] = {}  # mid -> seq
        self._budget_start = clock.monotonic_s()
        self._budget_used = 0
        self._conn_bytes_seen = 0
        self._paused_logged = ""

    # ------------------------------------------------------------ what the agent asks

    def set_consent(self, enabled: bool, policy_version: str | None) -> None:
        self.policy_version = policy_version
        if enabled:
            self._withdraw_pending = False
        self.online = enabled

    def withdraw(self, policy_version: str | None) -> None:
        """Opt-out: forget what is in flight (the spool was purged), send one retained
        consent_withdrawn status, then a clean DISCONNECT so the will does not replace it."""
        self.online = False
        self.policy_version = policy_version
        self._inflight.clear()
        self._withdraw_pending = True
        if self._connected:
            self._send_withdraw()

    def fds(self) -> tuple[list[int], list[int]]:
        """File descriptors for the agent's select(): (read, write)."""
        r = [self._wake_r]
        w: list[int] = []
        if self._client is not None and self._connecting is None:
            sock = self._client.socket()
            if sock is not None:
                r.append(sock.fileno())
                if self._client.want_write():
                    w.append(sock.fileno())
        return r, w

    def timeout_s(self) -> float | None:
        """How long the agent may sleep before the transport needs a turn."""
        now = clock.monotonic_s()
        if self._drop_deadline is not None:
            return max(0.0, self._drop_deadline - now)
        if self._withdraw_deadline is not None:
            return max(0.0, self._withdraw_deadline - now)
        if self._client is None and self._connecting is None and self._should_connect():
            return max(0.0, self._next_try - now)
        if self._connected:
            return max(1.0, self.keepalive_s / 2)
        return None

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def budget_used_bytes(self) -> int:
        return self._budget_used

    # ------------------------------------------------------------ the turn

    def service(self, readable: set[int], writable: set[int]) -> None:
        if self._wake_r in readable:
            try:
                os.read(self._wake_r, 64)
            except BlockingIOError:
                pass
        if self._connecting is not None:
            # Not is_alive(): the thread wakes us just before it ends, and a woken loop that saw
            # it still alive would then sleep with nothing left to wake it.
            if not self._connect_done.is_set():
                return
            self._connecting.join()
            self._connecting = None
            self._finish_connect()
        c = self._client
        if c is not None:
            sock = c.socket()
            if sock is not None and sock.fileno() in readable:
                c.loop_read()
                while self._client is c and c.socket() is not None and c.socket().pending():
                    c.loop_read()
            if self._client is c and c.socket() is not None and c.want_write():
                c.loop_write()
            if self._client is c and c.socket() is not None:
                c.loop_misc()
        self._count_wire_bytes()
        now = clock.monotonic_s()
        if self._drop_deadline is not None and now >= self._drop_deadline and self._client is c and c is not None:
            self._on_disconnect(c, None, None, _Normal(), None)
        if self._withdraw_deadline is not None and now >= self._withdraw_deadline:
            self._disconnect("opt-out: no PUBACK for the withdrawn status in time")
        if self._connected and not self._withdraw_pending and not self._sending_allowed():
            self._disconnect("")
        if self._client is None and self._connecting is None and self._should_connect() and now >= self._next_try:
            self._start_connect()
        if self._connected and self.online and self._sending_allowed():
            self._drain()

    def close(self, state: str = "offline") -> None:
        """Clean shutdown: retained ``state``, then DISCONNECT (the will is not sent)."""
        if self._connecting is not None:
            self._connecting.join(timeout=5)
            self._connecting = None
            self._finish_connect()
        if self._connected:
            self._publish_status(state)
            self._disconnect("")
            deadline = clock.monotonic_s() + DISCONNECT_WAIT_S
            while self._client is not None and self._client.want_write() and clock.monotonic_s() < deadline:
                self._client.loop_write()
        if self._client is not None:
            self._drop_client()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # ------------------------------------------------------------ connecting

    def _wan_ok(self) -> bool:
        return self.wan_reported_up and self.wan_up()

    def _should_connect(self) -> bool:
        if not self._wan_ok():
            return False
        if self._withdraw_pending:
            return True
        return self.online and self._sending_allowed()

    def _sending_allowed(self) -> bool:
        if not self._wan_ok():
            return self._pause("WAN down")
        if self.roaming:
            return self._pause("roaming")
        if clock.monotonic_s() - self._budget_start >= BUDGET_WINDOW_S:
            self._budget_start, self._budget_used = clock.monotonic_s(), 0
        if self._budget_used >= self.daily_budget_bytes:
            return self._pause(f"daily budget of {self.daily_budget_bytes} bytes spent")
        self._paused_logged = ""
        return True

    def _pause(self, why: str) -> bool:
        if self._paused_logged != why:
            log.info("transport paused: %s", why)
            self._paused_logged = why
        return False

    def _start_connect(self) -> None:
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        from . import ondemand

        ondemand.defer("urllib.request", "uuid")  # paho: proxy support, random client ids (see ondemand.py)
        import paho.mqtt.client as mqtt

        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.device_id, protocol=mqtt.MQTTv5)
        # The agent always connects directly. Where PySocks happens to be installed, paho would
        # look for a proxy in the environment through urllib.request (the module ondemand keeps
        # out, ~1.5-3 MiB) on every connect; no proxy is what the agent wants, so say so.
        c._get_proxy = lambda: None  # type: ignore[method-assign]
        c.tls_set_context(self._ssl)
        c.connect_timeout = 10.0
        c.will_set(self.t_status, codec.encode_status("offline", clock.wall_ts(), self.policy_version),
                   qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0
        self._client = c
        self._connect_error = None
        self._attempt += 1
        log.debug("connecting to %s:%d (attempt %d)", self.host, self.port, self._attempt)

        done = self._connect_done = threading.Event()

        def run() -> None:
            try:
                c.connect(self.host, self.port, keepalive=self.keepalive_s, clean_start=True, properties=props)
            except (OSError, ssl.SSLError, ValueError) as e:  # SSLError and timeouts are OSErrors
                self._connect_error = e
            finally:
                done.set()
                try:
                    os.write(self._wake_w, b"c")
                except BlockingIOError:
                    pass

        self._connecting = threading.Thread(target=run, name="uxip-connect", daemon=True)
        self._connecting.start()

    def _finish_connect(self) -> None:
        err = self._connect_error
        if err is None:
            return  # CONNECT is queued; CONNACK arrives through service()
        self._drop_client()
        if isinstance(err, ssl.SSLCertVerificationError):
            why = f"TLS {_why(err)}; not connecting"
        else:
            why = _why(err)
        self._problem(f"broker {self.host}:{self.port}: {why}")
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        delay_s = self._wait(max(1, self._attempt))
        self._next_try = clock.monotonic_s() + delay_s
        log.debug("next connection attempt in %.1f s", delay_s)

    def _problem(self, msg: str) -> None:
        """One log line per problem, not one per retry."""
        self.last_failure = msg
        if msg != self._last_problem:
            log.warning("%s", msg)
            self._last_problem = msg

    def _drop_client(self) -> None:
        c, self._client = self._client, None
        if c is not None:
            try:
                c.socket() is not None and c.socket().close()
            except OSError as e:
                log.debug("closing socket: %s", e)
        self._conn_bytes_seen = 0

    # ------------------------------------------------------------ paho callbacks (our thread)

    def _on_connect(self, client: Any, _u: Any, _flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._problem(f"broker {self.host}:{self.port}: CONNECT refused: {reason}")
            return  # paho closes the socket; _on_disconnect follows
        self._connected = True
        # MQTT 5 topic alias: the telemetry topic travels once per connection, then 3 bytes
        # (~40 bytes saved per report, ~55 KB a day at the default cadence).
        self._alias_ok = int(getattr(props, "TopicAliasMaximum", 0) or 0) >= 1
        self._alias_set = False
        self._attempt = 0
        self._last_problem = ""
        sock = client.socket()
        self.tls_resumed = bool(getattr(sock, "session_reused", False))
        if isinstance(self._ssl, ResumingContext) and isinstance(sock, ssl.SSLSocket) and sock.session is not None:
            self._ssl.session = sock.session  # the ticket arrived with the handshake's last flight
        log.info("connected to %s:%d%s", self.host, self.port, " (TLS session resumed)" if self.tls_resumed else "")
        self.spool.connected()
        self._cb_connect()
        if self._withdraw_pending:
            self._send_withdraw()
        elif self.online:
            self._publish_status("online")
            if self._on_command is not None:
                client.subscribe(self.t_cmd, qos=1)

    def _on_disconnect(self, client: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if client is not self._client:
            return
        was = self._connected
        self._connected = False
        self._drop_deadline = None
        self._withdraw_mid = None
        self._withdraw_deadline = None
        self.spool.reject(self._inflight.values())
        self._inflight.clear()
        self._count_wire_bytes()
        self._drop_client()
        if was:
            self._cb_disconnect()
            if reason.is_failure:
                self._problem(f"broker {self.host}:{self.port}: connection lost: {reason}")
        elif reason.is_failure:
            # With TLS 1.3 the server checks our certificate after our side of the handshake is
            # done, so a refused client certificate shows up only here.
            self._problem(f"broker {self.host}:{self.port}: closed before CONNACK ({reason}); "
                          "client certificate refused?")
        self._schedule_retry()

    def _on_publish(self, _client: Any, _u: Any, mid: int, reason: Any, _props: Any) -> None:
        if mid == self._withdraw_mid:
            self._withdraw_pending = False
            self._withdraw_mid = None
            self._withdraw_deadline = None
            self._disconnect("")
            if self.on_withdrawn is not None:
                self.on_withdrawn()
            return
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return
        if reason.is_failure:  # refused for good (e.g. not authorised): retrying cannot help
            self._problem(f"broker refused record {seq}: {reason}; dropped")
            self.spool.accept([seq])
            self.spool.count_dropped(1)
        else:
            self.spool.accept([seq])
            self.last_publish_ts = clock.wall_ts()

    def _on_message(self, _client: Any, _u: Any, msg: Any) -> None:
        if self._on_command is not None and msg.topic == self.t_cmd:
            self._on_command(bytes(msg.payload))

    def publish_result(self, data: bytes) -> bool:
        """A remote command's answer (QoS 1); False when there is no session to carry it."""
        if not self._connected or self._client is None:
            return False
        return int(self._client.publish(self.t_cmd_result, data, qos=1).rc) == 0

    # ------------------------------------------------------------ sending

    def _publish_status(self, state: str) -> int | None:
        info = self._client.publish(self.t_status, codec.encode_status(state, clock.wall_ts(), self.policy_version),
                                    qos=1, retain=True)
        return int(info.mid) if info.rc == 0 else None

    def _send_withdraw(self) -> None:
        self._withdraw_mid = self._publish_status("consent_withdrawn")
        self._withdraw_deadline = clock.monotonic_s() + WITHDRAW_ACK_WAIT_S
        if self._withdraw_mid is None:
            self._disconnect("opt-out: could not queue the withdrawn status")

    def _drain(self) -> None:
        room = WINDOW - len(self._inflight)
        if room <= 0:
            return
        # The day's budget is a cap, not a check after the fact: a record that would overrun it
        # waits (unless nothing else is in flight, so one oversized record cannot block forever).
        budget_left = self.daily_budget_bytes - self._budget_used
        taken = self.spool.take(room)
        for i, rec in enumerate(taken):
            if len(rec.payload) > budget_left and (self._inflight or i):
                self.spool.reject([r.seq for r in taken[i:]])
                break
            budget_left -= len(rec.payload)
            topic, props = self.t_telemetry, None
            if self._alias_ok:
                from paho.mqtt.packettypes import PacketTypes
                from paho.mqtt.properties import Properties

                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.TopicAlias = 1
                if self._alias_set:
                    topic = ""
            info = self._client.publish(topic, rec.payload, qos=1, properties=props)
            self._alias_set = self._alias_set or (self._alias_ok and info.rc == 0)
            if info.rc != 0:
                self.spool.reject([r.seq for r in taken[i:]])
                break
            self._inflight[int(info.mid)] = rec.seq

    def _disconnect(self, why: str) -> None:
        if why:
            log.warning("%s", why)
        c = self._client
        self._withdraw_deadline = None
        if c is None:
            return
        c.disconnect()  # written now, or (inside a paho callback) by this turn's loop_write
        if self._client is c:
            self._drop_deadline = clock.monotonic_s() + DISCONNECT_WAIT_S

    def _count_wire_bytes(self) -> None:
        """Bytes on the wire for this connection so far (TLS, MQTT, keepalives), from the kernel."""
        c = self._client
        sock = c.socket() if c is not None else None
        if sock is None:
            return
        try:
            raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_OFFSET + _TCP_INFO_BYTES.size)
        except OSError:
            return
        if len(raw) < _TCP_INFO_OFFSET + _TCP_INFO_BYTES.size:
            return
        acked, received = _TCP_INFO_BYTES.unpack_from(raw, _TCP_INFO_OFFSET)
        total = acked + received
        self._budget_used += max(0, total - self._conn_bytes_seen)
        self._conn_bytes_seen = total


class _Normal:
    is_failure = False
