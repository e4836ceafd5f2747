"""The link watcher: rtnetlink notifications (links, addresses, routes) read in one daemon
thread and fed to the WAN tracker, so a carrier drop is seen when it happens rather than at the
next poll. After an event overrun, or when the kernel may have flushed routes silently (admin
down, address removal), it re-reads the state with a dump."""

from __future__ import annotations

import logging
import os
import select
import struct
import threading

from ..errors import SourceError
from ..sources import rtnl
from .disconnects import WanTracker

log = logging.getLogger(__name__)


class LinkWatcher:
    def __init__(self, tracker: WanTracker, events: rtnl.RtnlEvents | None = None,
                 source: rtnl.RtnlSource | None = None, lock: threading.RLock | None = None) -> None:
        self.tracker = tracker
        # The tracker is also read by collect() in the sampling thread; re-entrant, because the
        # tracker's on_change hook (state saving) takes it again.
        self.lock = lock or threading.RLock()
        # Subscribe before the dump, so nothing falls between the two.
        self._events = events or rtnl.RtnlEvents()
        self._source = source or rtnl.RtnlSource()
        self.messages_total = 0
        self.native_id: int | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()  # close() wakes the thread at once, no recv timeout to wait out
        self._thread: threading.Thread | None = None
        try:
            self.resync()
        except SourceError:
            self.close()
            raise

    def resync(self) -> None:
        links, addrs, routes = self._source.links(), self._source.addrs(), self._source.routes()
        with self.lock:
            self.tracker.reset(links, addrs, routes)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="uxip-linkwatch", daemon=True)
        self._thread.start()

    def handle(self, messages: list[tuple[int, bytes]]) -> None:
        """Apply one datagram's messages; a malformed one is logged and skipped."""
        reread_routes = False
        with self.lock:
            for mtype, body in messages:
                self.messages_total += 1
                try:
                    reread_routes |= self._apply(mtype, body)
                except SourceError as e:
                    log.warning("link watcher: %s", e)
        if reread_routes:
            routes = self._source.routes()
            with self.lock:
                self.tracker.set_routes(routes)

    def _apply(self, mtype: int, body: bytes) -> bool:
        t = self.tracker
        if mtype == rtnl.RTM_NEWLINK:
            return t.link(rtnl.parse_link(body))
        if mtype == rtnl.RTM_DELLINK:
            if len(body) < rtnl.IFINFOMSG.size:
                raise SourceError(f"rtnetlink: link message of {len(body)} bytes is too short")
            t.del_link(rtnl.IFINFOMSG.unpack_from(body)[2])
        elif mtype in (rtnl.RTM_NEWADDR, rtnl.RTM_DELADDR):
            return t.addr(rtnl.parse_addr(body), mtype == rtnl.RTM_NEWADDR)
        elif mtype in (rtnl.RTM_NEWROUTE, rtnl.RTM_DELROUTE):
            t.route(rtnl.parse_route(body), mtype == rtnl.RTM_NEWROUTE)
        return False

    def _run(self) -> None:
        self.native_id = threading.get_native_id()
        failing = False
        while not self._stop.is_set():
            try:
                ready, _w, _x = select.select([self._events.fileno(), self._wake_r], [], [])
                if self._wake_r in ready:
                    return
                batch = self._events.read()
                if batch:
                    self.handle(batch)
                failing = False
            except rtnl.Overrun as e:
                log.info("%s", e)
                self._resync_quietly()
            except (SourceError, struct.error) as e:
                if not failing:
                    log.warning("link watcher: %s", e)
                failing = True
                self._stop.wait(1.0)
            except OSError as e:
                if self._stop.is_set():
                    return
                log.warning("link watcher: %s", e.strerror)
                self._stop.wait(1.0)

    def _resync_quietly(self) -> None:
        try:
            self.resync()
        except SourceError as e:
            log.warning("link watcher: resync failed: %s", e)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=3.0)
        self._events.close()
        self._source.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
