"""CBOR codec for snapshots, batches and status messages.

Messages are CBOR maps with small integer keys from the schema registry (no repeated strings).
Inside a batch, every snapshot after the first carries only what changed since the one before
it, and cumulative fields (``delta=True``) as differences; it is still plain CBOR, so a generic
decoder can read every message. Decoding is strict: size and depth limits first, then every key,
type and range checked against the registry, so hostile input fails fast with one clear line.
"""

from __future__ import annotations

import io
import math
from typing import Any

import cbor2

from .schema import (
    KEY_KIND,
    KEY_SCHEMA,
    MAX_DEPTH,
    MAX_LIST_ITEMS,
    MAX_MESSAGE_BYTES,
    MAX_STR_BYTES,
    MESSAGES,
    PSEUDONYM_BYTES,
    SCHEMA_VERSION,
    STATUS_STATES,
    Field,
    Kind,
    MessageKind,
)

INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1

Json = dict[str, Any]
Wire = dict[int, Any]


class DecodeError(ValueError):
    """Input is not a valid message of the schema. The message is the one line users see."""


class EncodeError(ValueError):
    """A value does not fit the schema (a programming error in a collector, caught in tests)."""


# ---------------------------------------------------------------- JSON view -> wire maps


def _scalar_to_wire(f: Field, value: Any, path: str) -> Any:
    k = f.kind
    if k is Kind.BOOL:
        if isinstance(value, bool):
            return value
    elif k in (Kind.UINT, Kind.INT):
        if isinstance(value, int) and not isinstance(value, bool):
            if (k is Kind.UINT and 0 <= value <= UINT64_MAX) or (
                k is Kind.INT and INT64_MIN <= value <= 2**63 - 1
            ):
                return value
            raise EncodeError(f"{path}: {value} out of range for {k.value}")
    elif k is Kind.FIXED:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return round(value * f.scale)
    elif k is Kind.STR:
        if isinstance(value, str):
            if len(value.encode("utf-8", "surrogatepass")) > MAX_STR_BYTES:
                raise EncodeError(f"{path}: string longer than {MAX_STR_BYTES} bytes")
            return value
    elif k is Kind.PSEUDONYM:
        # Only a keyed hash can pass: a clear identifier (a str) is refused by construction.
        if isinstance(value, bytes) and len(value) == PSEUDONYM_BYTES:
            return value
        raise EncodeError(f"{path}: identifier field needs a {PSEUDONYM_BYTES}-byte pseudonym")
    raise EncodeError(f"{path}: expected {k.value}, got {type(value).__name__}")


def to_wire(fields: tuple[Field, ...], obj: Json, path: str = "") -> Wire:
    """JSON-named dict -> integer-keyed dict. None values are dropped (unknown = absent)."""
    if not isinstance(obj, dict):
        raise EncodeError(f"{path or 'message'}: expected a map")
    by_name = {f.name: f for f in fields}
    out: Wire = {}
    for name, value in obj.items():
        f = by_name.get(name)
        p = f"{path}{name}"
        if f is None:
            raise EncodeError(f"{p}: not in the schema")
        if value is None:
            continue
        if f.kind is Kind.MAP:
            out[f.key] = to_wire(f.children, value, p + ".")
        elif f.kind is Kind.LIST:
            if not isinstance(value, list):
                raise EncodeError(f"{p}: expected a list")
            if len(value) > MAX_LIST_ITEMS:
                raise EncodeError(f"{p}: more than {MAX_LIST_ITEMS} items")
            out[f.key] = [to_wire(f.children, item, f"{p}[{i}].") for i, item in enumerate(value)]
        else:
            out[f.key] = _scalar_to_wire(f, value, p)
    return out


# ---------------------------------------------------------------- wire maps -> JSON view


def _scalar_from_wire(f: Field, value: Any, path: str) -> Any:
    k = f.kind
    ok: bool
    if k is Kind.BOOL:
        ok = isinstance(value, bool)
    elif k is Kind.UINT:
        ok = type(value) is int and 0 <= value <= UINT64_MAX
    elif k in (Kind.INT, Kind.FIXED):
        ok = type(value) is int and INT64_MIN <= value <= UINT64_MAX
    elif k is Kind.STR:
        ok = isinstance(value, str) and len(value.encode("utf-8", "surrogatepass")) <= MAX_STR_BYTES
    else:  # PSEUDONYM
        ok = isinstance(value, bytes) and len(value) == PSEUDONYM_BYTES
    if not ok:
        raise DecodeError(f"{path}: expected {k.value}, got {_describe(value)}")
    if k is Kind.FIXED:
        return value / f.scale
    if k is Kind.PSEUDONYM:
        return value.hex()
    return value


_TABLES: dict[int, tuple[tuple[Field, ...], dict[int, tuple[Field, str, Kind, int]]]] = {}
_SHORT_STR = MAX_STR_BYTES // 4  # this many code points cannot exceed the byte limit in UTF-8


def _table(fields: tuple[Field, ...]) -> dict[int, tuple[Field, str, Kind, int]]:
    """key -> (field, name, kind, scale), built once per field tuple: the decoder's hot loop
    (a server decodes thousands of batches a second) looks each key up once."""
    hit = _TABLES.get(id(fields))
    if hit is not None and hit[0] is fields:
        return hit[1]
    if len(_TABLES) > 4096:  # tuples made on the fly (tests): keep the cache bounded
        _TABLES.clear()
    table = {f.key: (f, f.name, f.kind, f.scale) for f in fields}
    _TABLES[id(fields)] = (fields, table)
    return table


def from_wire(fields: tuple[Field, ...], m: Any, path: str = "") -> Json:
    """Integer-keyed dict -> JSON-named dict, checking every key and type."""
    if not isinstance(m, dict):
        raise DecodeError(f"{path or 'message'}: expected a map, got {_describe(m)}")
    table = _table(fields)
    out: Json = {}
    for key, value in m.items():
        ent = table.get(key) if type(key) is int else None
        if ent is None:
            raise DecodeError(f"{path or 'message'}: unknown key {key!r}")
        f, name, k, scale = ent
        tv = type(value)
        # Fast paths for valid values of the common kinds; anything else takes the full check.
        if k is Kind.UINT:
            if tv is int and 0 <= value <= UINT64_MAX:
                out[name] = value
                continue
        elif k is Kind.FIXED:
            if tv is int and INT64_MIN <= value <= UINT64_MAX:
                out[name] = value / scale
                continue
        elif k is Kind.STR:
            if tv is str and len(value) <= _SHORT_STR:
                out[name] = value
                continue
        elif k is Kind.INT:
            if tv is int and INT64_MIN <= value <= UINT64_MAX:
                out[name] = value
                continue
        elif k is Kind.BOOL:
            if tv is bool:
                out[name] = value
                continue
        elif k is Kind.MAP:
            out[name] = from_wire(f.children, value, f"{path}{name}.")
            continue
        elif k is Kind.LIST:
            p = f"{path}{name}"
            if not isinstance(value, list):
                raise DecodeError(f"{p}: expected a list, got {_describe(value)}")
            if len(value) > MAX_LIST_ITEMS:
                raise DecodeError(f"{p}: more than {MAX_LIST_ITEMS} items")
            children = f.children
            out[name] = [from_wire(children, item, f"{p}[{i}].") for i, item in enumerate(value)]
            continue
        out[name] = _scalar_from_wire(f, value, f"{path}{name}")
    return out


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return type(value).__name__


# ---------------------------------------------------------------- batch deltas


def diff(fields: tuple[Field, ...], prev: Wire, cur: Wire) -> Wire:
    """What changed from ``prev`` to ``cur``: absent = unchanged, None = removed, cumulative
    fields as differences, nested maps and same-length lists as nested diffs."""
    by_key = {f.key: f for f in fields}
    out: Wire = {}
    for key in prev.keys() - cur.keys():
        out[key] = None
    for key, c in cur.items():
        if key not in prev:
            out[key] = c
            continue
        f, p = by_key[key], prev[key]
        if f.kind is Kind.MAP:
            d = diff(f.children, p, c)
            if d:
                out[key] = d
        elif f.kind is Kind.LIST:
            if len(p) == len(c):
                ds = [diff(f.children, a, b) for a, b in zip(p, c, strict=True)]
                if any(ds):
                    out[key] = ds
            else:
                out[key] = c
        elif c != p:
            out[key] = c - p if f.delta else c
    return out


def apply_diff(fields: tuple[Field, ...], prev: Wire, d: Any, path: str) -> Wire:
    """Inverse of :func:`diff`; hostile diffs raise DecodeError (the result is validated after)."""
    if not isinstance(d, dict):
        raise DecodeError(f"{path or 'snapshot'}: expected a map, got {_describe(d)}")
    by_key = {f.key: f for f in fields}
    out = dict(prev)
    for key, v in d.items():
        f = by_key.get(key) if type(key) is int else None
        if f is None:
            raise DecodeError(f"{path or 'snapshot'}: unknown key {key!r}")
        p = f"{path}{f.name}"
        if v is None:
            out.pop(key, None)
        elif key not in prev:
            out[key] = v
        elif f.kind is Kind.MAP:
            out[key] = apply_diff(f.children, prev[key], v, p + ".")
        elif f.kind is Kind.LIST:
            if not isinstance(v, list):
                raise DecodeError(f"{p}: expected a list, got {_describe(v)}")
            if len(v) == len(prev[key]):
                out[key] = [
                    apply_diff(f.children, a, b, f"{p}[{i}].")
                    for i, (a, b) in enumerate(zip(prev[key], v, strict=True))
                ]
            else:
                out[key] = v
        elif f.delta:
            if type(v) is not int or type(prev[key]) is not int:
                raise DecodeError(f"{p}: expected an integer difference, got {_describe(v)}")
            out[key] = prev[key] + v
        else:
            out[key] = v
    return out


# ---------------------------------------------------------------- messages


def _header(kind: MessageKind) -> Wire:
    return {KEY_SCHEMA: SCHEMA_VERSION, KEY_KIND: kind.value}


def _dumps(m: Wire) -> bytes:
    data: bytes = cbor2.dumps(m)
    if len(data) > MAX_MESSAGE_BYTES:
        raise EncodeError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return data


def encode_snapshot(snapshot: Json) -> bytes:
    """A bare snapshot (what ``sample --format cbor`` writes)."""
    m = _header(MessageKind.SNAPSHOT)
    m.update(to_wire(MESSAGES[MessageKind.SNAPSHOT], snapshot))
    return _dumps(m)


def encode_batch(batch: Json) -> bytes:
    """A telemetry batch; ``batch["snapshots"]`` holds full snapshots, sent as diffs."""
    fields = MESSAGES[MessageKind.BATCH]
    snaps_field = next(f for f in fields if f.name == "snapshots")
    body = {k: v for k, v in batch.items() if k != "snapshots"}
    m = _header(MessageKind.BATCH)
    m.update(to_wire(fields, body))
    full = [to_wire(snaps_field.children, s, f"snapshots[{i}].") for i, s in enumerate(batch.get("snapshots") or [])]
    if len(full) > MAX_LIST_ITEMS:
        raise EncodeError(f"snapshots: more than {MAX_LIST_ITEMS} items")
    if full:
        m[snaps_field.key] = [full[0]] + [
            diff(snaps_field.children, a, b) for a, b in zip(full, full[1:], strict=False)
        ]
    return _dumps(m)


def encode_status(state: str, ts: int, policy_version: str | None = None) -> bytes:
    if state not in STATUS_STATES:
        raise EncodeError(f"state: must be one of {', '.join(STATUS_STATES)}")
    m = _header(MessageKind.STATUS)
    m.update(to_wire(MESSAGES[MessageKind.STATUS], {"state": state, "ts": ts, "policy_version": policy_version}))
    return _dumps(m)


def loads_limited(data: bytes) -> Any:
    """cbor2 with the limits: size before parsing, depth while parsing, no trailing bytes."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError("input is not bytes")
    if len(data) == 0:
        raise DecodeError("empty input")
    if len(data) > MAX_MESSAGE_BYTES:
        raise DecodeError(f"message of {len(data)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    fp = io.BytesIO(bytes(data))
    try:
        decoder = cbor2.CBORDecoder(fp, max_depth=MAX_DEPTH, allow_indefinite=False)
        obj = decoder.decode()
    except cbor2.CBORDecodeEOF:
        raise DecodeError("truncated CBOR") from None
    except cbor2.CBORDecodeError as e:
        raise DecodeError(f"invalid CBOR: {_one_line(e)}") from None
    except (ValueError, TypeError, OverflowError, MemoryError, RecursionError) as e:
        raise DecodeError(f"invalid CBOR: {_one_line(e)}") from None
    if fp.tell() != len(data):
        raise DecodeError(f"{len(data) - fp.tell()} trailing bytes after the CBOR message")
    return obj


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__


def decode(data: bytes) -> Json:
    """Any message (snapshot, batch, status) -> its JSON view, or DecodeError."""
    m = loads_limited(data)
    if not isinstance(m, dict):
        raise DecodeError(f"message: expected a map, got {_describe(m)}")
    version = m.get(KEY_SCHEMA)
    if type(version) is not int:
        raise DecodeError("message: missing schema version (key 0)")
    if version != SCHEMA_VERSION:
        raise DecodeError(f"message: unsupported schema version {version} (this build reads {SCHEMA_VERSION})")
    try:
        kind = MessageKind(m.get(KEY_KIND))
    except ValueError:
        raise DecodeError(f"message: unknown message kind {m.get(KEY_KIND)!r}") from None
    fields = MESSAGES[kind]
    body = {k: v for k, v in m.items() if k not in (KEY_SCHEMA, KEY_KIND)}
    out: Json = {"schema": version}
    if kind is MessageKind.BATCH:
        snaps_field = next(f for f in fields if f.name == "snapshots")
        raw = body.pop(snaps_field.key, None)
        out.update(from_wire(fields, body))
        out["snapshots"] = _decode_snapshots(snaps_field, raw)
        for required in ("device_id", "seq"):
            if required not in out:
                raise DecodeError(f"batch: missing {required}")
        return out
    out.update(from_wire(fields, body))
    if kind is MessageKind.STATUS and out.get("state") not in STATUS_STATES:
        raise DecodeError(f"status: state must be one of {', '.join(STATUS_STATES)}")
    return out


def _decode_snapshots(f: Field, raw: Any) -> list[Json]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise DecodeError(f"snapshots: expected a list, got {_describe(raw)}")
    if len(raw) > MAX_LIST_ITEMS:
        raise DecodeError(f"snapshots: more than {MAX_LIST_ITEMS} items")
    out: list[Json] = []
    prev: Wire | None = None
    for i, item in enumerate(raw):
        path = f"snapshots[{i}]."
        if prev is None:
            full = item
            out.append(from_wire(f.children, full, path))
        else:
            full = apply_diff(f.children, prev, item, path)
            out.append(_from_wire_changed(f.children, full, item, out[-1], path))
        prev = full
    return out


def _from_wire_changed(fields: tuple[Field, ...], full: Wire, d: Wire, prev_json: Json, path: str) -> Json:
    """``from_wire(fields, full)`` for ``full = apply_diff(fields, prev, d)``, given
    ``prev_json = from_wire(fields, prev)``: what the diff did not touch is the same object as in
    ``prev`` and was checked there, so only the diff's keys are converted and the rest is copied
    from ``prev_json`` — a snapshot changes a few dozen of its fields from one to the next. Same
    output and key order as converting ``full``; an invalid value fails with the same error
    (if the diff holds several, the first in the diff's order is named)."""
    table = _table(fields)
    out = dict(prev_json)  # apply_diff keeps prev's key order, updates in place, appends new keys
    changed = set()
    for key, dv in d.items():
        f, name, k, scale = table[key]  # apply_diff checked every key of the diff
        changed.add(name)
        if dv is None:
            out.pop(name, None)
            continue
        value = full[key]
        if type(value) is int:  # the usual change: a counter, a rate, a level (fast paths of from_wire)
            if k is Kind.UINT and 0 <= value <= UINT64_MAX:
                out[name] = value
                continue
            if k is Kind.FIXED and INT64_MIN <= value <= UINT64_MAX:
                out[name] = value / scale
                continue
        pj = prev_json.get(name)
        if k is Kind.MAP and pj is not None and value is not dv:
            out[name] = _from_wire_changed(f.children, value, dv, pj, f"{path}{name}.")
        elif k is Kind.LIST and pj is not None and value is not dv:
            # the same length as before: each item is apply_diff(previous item, dv[i])
            p = f"{path}{name}"
            out[name] = [
                _from_wire_changed(f.children, item, di, pi, f"{p}[{i}].")
                for i, (item, di, pi) in enumerate(zip(value, dv, pj, strict=True))
            ]
        else:  # new, replaced, or a scalar: converted and checked as from_wire does
            out[name] = from_wire(fields, {key: value}, path)[name]
    for name, v in out.items():
        if name not in changed and type(v) in (dict, list):
            out[name] = _copy_json(v)  # each snapshot owns its maps and lists
    return out


def _copy_json(v: Any) -> Any:
    """A deep copy of a decoded value (each snapshot owns its maps and lists)."""
    if type(v) is dict:
        return {k: _copy_json(x) for k, x in v.items()}
    if type(v) is list:
        return [_copy_json(x) for x in v]
    return v
