"""Helpers for the WAN tests: a collector living in a test namespace, and waits on its state."""

from __future__ import annotations

import time
from typing import Any

from nsenter import entered

from zte_uxip import config
from zte_uxip.collectors.base import Context
from zte_uxip.collectors.wan import WanCollector


def make_config(tmp_path, **sections: dict[str, Any]) -> config.Config:
    for n in ("ca.pem", "c.pem", "c.key"):
        (tmp_path / n).write_text("x")
    table: dict[str, Any] = {"broker": {"host": "h", "ca_file": f"{tmp_path}/ca.pem",
                                        "cert_file": f"{tmp_path}/c.pem", "key_file": f"{tmp_path}/c.key"},
                             "state": {"dir": f"{tmp_path}/ram", "flash_dir": f"{tmp_path}/flash"}}
    table.update(sections)
    return config.from_dict(table)


class WanInNs:
    """A WanCollector whose sockets live in ``ns``; events land in ``self.events``."""

    def __init__(self, ns, cfg: config.Config, persist: bool = False) -> None:
        self.ns, self.events = ns, []
        self.ctx = Context(config=cfg, emit=self.events.append, persist=persist)
        with entered(ns.name):
            self.c = WanCollector(self.ctx)

    def collect(self) -> dict[str, Any] | None:
        with entered(self.ns.name):
            return self.c.collect()

    def state(self) -> dict[str, Any] | None:
        with self.c.watcher.lock:
            return self.c.tracker.state()

    def wait(self, pred, timeout: float = 5.0) -> dict[str, Any]:
        """Poll the tracker (not the kernel) until ``pred(state)``; tun carrier changes lag ~1 s."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.state() or {}
            if pred(st):
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s; wan state: {st}")
            time.sleep(0.02)

    def settle(self, quiet_s: float = 0.5, timeout: float = 10.0) -> None:
        """Until the watcher has read nothing new for ``quiet_s`` (a burst of events is drained)."""
        deadline = time.monotonic() + timeout
        last = -1
        while self.c.watcher.messages_total != last:
            assert time.monotonic() < deadline, "the watcher never went quiet"
            last = self.c.watcher.messages_total
            time.sleep(quiet_s)

    def wan_down_events(self) -> list[dict[str, Any]]:
        """Events reach ctx.emit at the next collect(), from the sampling thread."""
        self.collect()
        return [e for e in self.events if e["type"] == "wan_down"]

    def close(self) -> None:
        self.c.close()
