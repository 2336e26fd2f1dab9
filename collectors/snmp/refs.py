"""Label references of a profile table, parsed: which part reads what.

A reference is parts joined by ``|``, the first non-empty one wins: a column name,
``@index``, ``@index.NAME``, ``@ifname(KEY)``, ``@lookup(TABLE.LABEL, KEY)`` and
``@match(COLUMN, REGEX)``. KEY is ``index``, ``index.NAME`` or a column whose value is
the key. A ``|`` inside the parentheses (a regular expression's alternation) does not
split. Both the profile schema (which columns exist) and the fetch plan (which columns
to walk) read references through here, and :class:`collectors.snmp.plan.LabelRef`
compiles them.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

FUNCTIONS = ("@ifname(", "@lookup(", "@match(")

KeyKind = Literal["index", "part", "column"]


class Key(NamedTuple):
    """Where a look-up key comes from: the whole index, one index part, or a column."""

    kind: KeyKind
    name: str


class Part(NamedTuple):
    """One ``|``-separated part of a reference."""

    kind: Literal["column", "index", "index_part", "ifname", "lookup", "match"]
    #: the column, index part name, ``TABLE.LABEL`` target, or the regular expression
    arg: str
    key: Key | None = None


def split(ref: str) -> list[str]:
    """The parts of a reference; ``|`` inside parentheses (and escaped) does not split."""
    parts: list[str] = []
    depth, start, escaped = 0, 0, False
    for pos, char in enumerate(ref):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "|" and depth == 0:
            parts.append(ref[start:pos])
            start = pos + 1
    parts.append(ref[start:])
    return parts


def _key(text: str) -> Key:
    text = text.strip()
    if text == "index":
        return Key("index", "")
    if text.startswith("index."):
        return Key("part", text[6:])
    return Key("column", text)


def parse_part(part: str) -> Part:
    """One part; a malformed function call raises ValueError naming it."""
    if part == "@index":
        return Part("index", "")
    if part.startswith("@index."):
        return Part("index_part", part[7:])
    if part.startswith(FUNCTIONS):
        if not part.endswith(")"):
            msg = f"{part!r}: missing closing parenthesis"
            raise ValueError(msg)
        name, _, inner = part[:-1].partition("(")
        if name == "@ifname":
            return Part("ifname", "", _key(inner))
        first, comma, rest = inner.partition(",")
        if not comma or not rest.strip():
            msg = f"{part!r}: {name}() takes two arguments"
            raise ValueError(msg)
        if name == "@lookup":
            target = first.strip()
            if "." not in target:
                msg = f"{part!r}: the first argument is TABLE.LABEL"
                raise ValueError(msg)
            return Part("lookup", target, _key(rest))
        pattern = rest.strip()
        try:
            re.compile(pattern)
        except re.error as exc:
            msg = f"{part!r}: not a regular expression: {exc}"
            raise ValueError(msg) from None
        return Part("match", pattern, Key("column", first.strip()))
    if part.startswith("@"):
        msg = f"{part!r}: unknown reference"
        raise ValueError(msg)
    return Part("column", part)


def parse(ref: str) -> list[Part]:
    return [parse_part(p) for p in split(ref)]


def columns(ref: str) -> list[str]:
    """The columns a reference reads: plain parts and column keys of the functions."""
    out: list[str] = []
    for part in parse(ref):
        if part.kind == "column":
            out.append(part.arg)
        elif part.key is not None and part.key.kind == "column":
            out.append(part.key.name)
    return out
