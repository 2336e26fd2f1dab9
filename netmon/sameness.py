"""Equality of two configs' settings, each shared piece compared once.

A reload compares every job's settings with the running one's (Scheduler.sync): equal
settings keep their poll loop. The settings are frozen dataclasses that share big pieces
(10,000 SNMP devices hold the same few profiles); after a reload the new config's pieces
are new objects, so ``==`` compared the same two profiles once per device: 1.3 s of the
event loop at 10,000 devices. ``same`` answers exactly what ``==`` answers, remembering
each pair of objects it compared (by identity, for as long as one comparison runs).
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

Memo = dict[tuple[int, int], bool]
#: compared with == at once (no containers inside)
ATOMS = frozenset({str, int, float, bool, bytes, type(None)})


def same(a: Any, b: Any, memo: Memo) -> bool:
    """``a == b`` for dataclasses (their generated ``__eq__``), tuples, lists and dicts of
    them, each pair of containers compared once per ``memo`` (which must not outlive ``a``
    and ``b``: it is keyed by identity). Anything else is compared with ``==``."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return bool(a == b)
    key = (id(a), id(b))
    known = memo.get(key)
    if known is not None:
        return known
    if kind is tuple or kind is list:
        result = len(a) == len(b) and all(same(x, y, memo) for x, y in zip(a, b, strict=True))
    elif kind is dict or kind is MappingProxyType:
        result = a.keys() == b.keys() and all(same(a[k], b[k], memo) for k in a)
    elif (names := _compared(kind)) is not None:
        result = True
        for name in names:
            x, y = getattr(a, name), getattr(b, name)
            if x is y:
                continue
            atoms = type(x) in ATOMS and type(y) is type(x)
            if not (x == y if atoms else same(x, y, memo)):
                result = False
                break
    else:
        result = bool(a == b)
    memo[key] = result
    return result


_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _compared(kind: type) -> tuple[str, ...] | None:
    """The fields a dataclass's ``__eq__`` compares, when it is the one dataclasses wrote
    (fields compared in order), not one of its own; None otherwise."""
    if kind not in _FIELDS:
        _FIELDS[kind] = _fields(kind)
    return _FIELDS[kind]


def _fields(kind: type) -> tuple[str, ...] | None:
    code = getattr(kind.__dict__.get("__eq__"), "__code__", None)  # its own, not inherited
    written = getattr(code, "co_qualname", "")  # dataclasses renames the function, not this
    if not dataclasses.is_dataclass(kind) or written != "__create_fn__.<locals>.__eq__":
        return None
    return tuple(f.name for f in dataclasses.fields(kind) if f.compare)
