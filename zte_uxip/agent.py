"""`zte-uxip run`: wiring only. Config -> consent watcher -> sampler -> privacy -> report ->
spool -> publisher, all driven by the scheduler's loop (scheduler.py)."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from typing import Any

from . import config as config_mod
from . import identity, privacy
from .collectors import Context
from .collectors.base import WAN_UP_KEY
from .collectors.session import session_tracker
from .consent import ConsentWatcher
from .control import ControlServer
from .publish import Publisher, tls_context
from .sampler import Sampler
from .scheduler import Scheduler
from .spool import Spool

log = logging.getLogger("zte_uxip.agent")


def run(config_path: str, modem: str | None = None) -> int:
    cfg = config_mod.load(config_path)
    os.makedirs(cfg.state.dir, mode=0o700, exist_ok=True)
    key = privacy.load_or_create_secret(cfg.privacy.secret_file, create=True)
    device_id = identity.device_id(cfg, key)
    ssl_ctx = tls_context(cfg.broker.ca_file, cfg.broker.cert_file, cfg.broker.key_file)
    spool = Spool(cfg.state.dir, cfg.spool.dir, cfg.spool.max_bytes)
    spool.reserve_if_needed()
    ctx = Context(config=cfg, modem_spec=modem or cfg.modem.backend, links_exclude=cfg.links.exclude, persist=True)
    session = session_tracker(ctx)  # shared by the transport (writes) and the session collector (reads)

    def wan_up() -> bool:
        """The WAN collector's live check while it runs (it lives in the sampler, which exists
        only while opted in); the latest snapshot's wan.up gates sending as well."""
        check: Callable[[], bool] | None = ctx.extras.get(WAN_UP_KEY)
        return check() if check is not None else True

    remote: list[Any] = []  # the Remote, once the scheduler it reads from exists

    def on_command(data: bytes) -> None:
        remote[0].on_message(data)

    publisher = Publisher(
        host=cfg.broker.host, port=cfg.broker.port, ssl_context=ssl_ctx, device_id=device_id, spool=spool,
        keepalive_s=cfg.broker.keepalive_s, reconnect_max_s=cfg.broker.reconnect_max_s,
        daily_budget_bytes=cfg.broker.daily_budget_bytes,
        on_connect=session.connected, on_disconnect=session.disconnected, wan_up=wan_up,
        on_command=on_command if cfg.commands.verify_key_file else None,
    )
    watcher = ConsentWatcher(cfg.consent.toggle_file)
    sched = Scheduler(
        device_id=device_id, sample_s=cfg.intervals.sample_s, report_s=cfg.intervals.report_s,
        persist_after_s=cfg.spool.persist_after_s, state_dir=cfg.state.dir, spool=spool, watcher=watcher,
        publisher=publisher, make_sampler=lambda: Sampler.from_table(ctx), key=key, session=session,
        state_dirs=(cfg.state.flash_dir,), reports_per_batch=cfg.intervals.reports_per_batch,
    )
    if cfg.commands.verify_key_file:
        # Remote diagnostics (remote/): PyNaCl itself loads only when the first command arrives.
        from .remote.envelope import load_verify_key
        from .remote.service import Remote

        sched.remote = Remote(device_id=device_id, verify_key=load_verify_key(cfg.commands.verify_key_file),
                              state_dir=cfg.state.dir, agent=sched, send=publisher.publish_result)
        remote.append(sched.remote)
    control = ControlServer(cfg.state.dir, sched.control)
    sched.attach_control(control.fileno(), control.handle)

    def on_signal(_signum: int, _frame: object) -> None:
        sched.stop()

    signal.set_wakeup_fd(sched.signal_fd(), warn_on_full_buffer=False)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("device %s, broker %s:%d, toggle %s", device_id, cfg.broker.host, cfg.broker.port,
             cfg.consent.toggle_file)
    try:
        sched.run()
    finally:
        control.close()
    return 0
