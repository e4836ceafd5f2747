"""Hypothesis strategies built from the schema registry, so every field is exercised."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from zte_uxip.wire.schema import MAX_STR_BYTES, PSEUDONYM_BYTES, Field, Kind


def scalar(f: Field) -> st.SearchStrategy[Any]:
    if f.kind is Kind.UINT:
        return st.integers(0, 2**64 - 1)
    if f.kind is Kind.INT:
        return st.integers(-(2**63), 2**63 - 1)
    if f.kind is Kind.FIXED:
        # values that survive the fixed-point scale exactly
        return st.integers(-(10**9), 10**9).map(lambda n, s=f.scale: n / s)
    if f.kind is Kind.BOOL:
        return st.booleans()
    if f.kind is Kind.STR:
        return st.text(max_size=MAX_STR_BYTES // 4)
    if f.kind is Kind.PSEUDONYM:
        return st.binary(min_size=PSEUDONYM_BYTES, max_size=PSEUDONYM_BYTES)
    raise AssertionError(f.kind)


def record(fields: tuple[Field, ...], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    opts: dict[str, st.SearchStrategy[Any]] = {}
    for f in fields:
        if f.kind is Kind.MAP:
            opts[f.name] = record(f.children, depth + 1)
        elif f.kind is Kind.LIST:
            opts[f.name] = st.lists(record(f.children, depth + 1), max_size=3 if depth == 0 else 2)
        else:
            opts[f.name] = scalar(f)
    return st.fixed_dictionaries({}, optional=opts)


def wire_equal_json(value: Any) -> Any:
    """Pseudonyms come back as hex: the JSON view of a value that went in as bytes."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: wire_equal_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire_equal_json(v) for v in value]
    return value
