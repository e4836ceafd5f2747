"""The in-loop verbs: each answers from the running sampler, the transport and the spool, with
every snapshot-shaped part sent through the privacy filter and the wire codec, so an answer
shows exactly what telemetry would (pseudonyms, location consent) and nothing more."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .. import clock, privacy
from ..wire import codec
from . import diagnose


class AgentView(Protocol):
    """What the verbs read from the agent (the scheduler provides it)."""

    sampler: Any
    consent: Any
    spool: Any
    publisher: Any

    def policy(self) -> privacy.Policy: ...


def as_sent(agent: AgentView, snapshot: dict[str, Any]) -> dict[str, Any]:
    filtered = privacy.apply({"ts": clock.wall_ts(), **snapshot}, agent.policy())
    out = codec.decode(codec.encode_snapshot(filtered))
    out.pop("schema", None)
    return out


def _fresh(agent: AgentView) -> dict[str, Any]:
    if agent.sampler is None:
        raise RuntimeError("not sampling")
    snap: dict[str, Any] = agent.sampler.sample()
    return snap


def snapshot(agent: AgentView, _args: dict[str, Any], _recent: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"snapshot": as_sent(agent, _fresh(agent))}


def _pending_events(agent: AgentView) -> list[dict[str, Any]]:
    """Events sampled but not reported yet (as sampled; as_sent filters them)."""
    return list(agent.sampler.events) if agent.sampler is not None else []


def events(agent: AgentView, args: dict[str, Any], recent: Sequence[dict[str, Any]]) -> dict[str, Any]:
    evs = [*recent, *_pending_events(agent)][-int(args["count"]):]
    return {"events": as_sent(agent, {"events": evs}).get("events", []) if evs else []}


def link(agent: AgentView, _args: dict[str, Any], recent: Sequence[dict[str, Any]]) -> dict[str, Any]:
    snap = _fresh(agent)
    downs = [e for e in [*recent, *_pending_events(agent)] if e.get("type") == "wan_down"][-5:]
    view = as_sent(agent, {k: snap[k] for k in ("wan", "links", "cellular") if k in snap}
                   | ({"events": downs} if downs else {}))
    return {"wan": view.get("wan"), "links": view.get("links", []), "cellular": view.get("cellular"),
            "disconnects": view.get("events", []),
            "findings": diagnose.findings(consent_enabled=agent.consent.enabled, snapshot=snap,
                                          last_failure=agent.publisher.last_failure,
                                          synced=diagnose.clock_synced())}


def modem(agent: AgentView, _args: dict[str, Any], _recent: Sequence[dict[str, Any]]) -> dict[str, Any]:
    coll = next((c for c in (agent.sampler.collectors if agent.sampler else []) if c.section == "cellular"), None)
    cell = coll.collect() if coll is not None else None
    if not isinstance(cell, dict):
        return {"cellular": None, "findings": [{"code": "no_modem", "detail": "no modem answered"}]}
    return {"cellular": as_sent(agent, {"cellular": cell}).get("cellular"),
            "findings": diagnose.cellular_findings(cell)}


def selftest(agent: AgentView, _args: dict[str, Any], _recent: Sequence[dict[str, Any]]) -> dict[str, Any]:
    snap = agent.sampler.ctx.extras.get("last_snapshot") if agent.sampler is not None else None
    synced = diagnose.clock_synced()
    c, s, p = agent.consent, agent.spool, agent.publisher
    return {
        "consent": {"enabled": c.enabled, "location": c.location, "policy_version": c.policy_version},
        "spool": {"records": len(s), "bytes": s.bytes_used, "dropped_total": s.dropped_total,
                  "corrupt_total": s.corrupt_total},
        "connected": p.connected,
        "last_publish_ts": p.last_publish_ts,
        "clock": {"ts": clock.wall_ts(), "synced": synced},
        "findings": diagnose.findings(consent_enabled=c.enabled, snapshot=snap if isinstance(snap, dict) else {},
                                      last_failure=p.last_failure, synced=synced),
    }


INLINE = {"snapshot": snapshot, "events": events, "link": link, "modem": modem, "selftest": selftest}
