"""Seeded input generators of the fast fuzz run for text inputs: YAML configs and
profiles (line-, tree- and byte-level mutations of the shipped files), HTTP query
strings. The protocol generators (SNMP, MQTT, traps) and the shared helpers are in
fuzz_inputs.py, which re-exports these."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_from_bytes

import yaml
from fuzz_inputs import R, floats, mutate_bytes, text

from tests.fuzz import http_target, yaml_target

# --- YAML ------------------------------------------------------------------------------

JUNK = ["\t", ": ", "- ", "&a ", "*a", "!!python/object:os.system ", "? ", "{", "]", "\n  ", "#"]
JUNK += [
    "&a [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "[" * 2000,
    "'",
    '"',
    "\\",
    "%YAML 9\n",
    "---\n",
]
LEAVES = ["0s", "-1s", "1e9s", "99999d", "1.3.6.1", ".1.3..6", "(", "*", "{env: X}"]


def leaf(r: R) -> Any:
    pick = r.randrange(6)
    if pick == 0:
        return None
    if pick == 1:
        return r.random() < 0.5
    if pick == 2:
        return r.randint(-(2**70), 2**70)
    if pick == 3:
        return floats(r)
    if pick == 4:
        return text(r, 16)
    return r.choice(LEAVES)


def tree(r: R, depth: int = 0) -> Any:
    pick = r.randrange(4 if depth < 2 else 2)
    if pick < 2:
        return leaf(r)
    if pick == 2:
        return [tree(r, depth + 1) for _ in range(r.randint(0, 3))]
    return {text(r, 8): tree(r, depth + 1) for _ in range(r.randint(0, 3))}


_PARSED: dict[str, Any] = {}


def tree_mutation(r: R, source: str) -> str:
    if source not in _PARSED:
        _PARSED[source] = yaml.safe_load(source)
    doc = json.loads(json.dumps(_PARSED[source]))  # a deep copy; the shipped files are JSON-able
    for _ in range(r.randint(1, 4)):
        path = r.choice(yaml_target._paths(doc))
        if not path:
            doc = tree(r)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if r.random() < 0.5:
            parent[path[-1]] = tree(r)
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    return yaml.safe_dump(doc, allow_unicode=True)


def text_mutation(r: R, source: str) -> str:
    for _ in range(r.randint(1, 4)):
        at = r.randint(0, len(source))
        end = r.randint(at, min(len(source), at + 40))
        junk = text(r, 12) if r.random() < 0.5 else r.choice(JUNK)
        source = source[:at] + junk + source[end:]
    return source


def line_mutation(r: R, source: str) -> str:
    lines = source.split("\n")
    for _ in range(r.randint(1, 4)):
        at = r.randrange(len(lines))
        op = r.randrange(5)
        if op == 0:
            del lines[at]
        elif op == 1:
            lines.insert(r.randint(0, len(lines)), lines[at])
        elif op == 2:
            other = r.randrange(len(lines))
            lines[at], lines[other] = lines[other], lines[at]
        elif op == 3:
            lines[at] = " " * r.randint(0, 8) + lines[at].lstrip()
        else:
            lines[at] = lines[at][: r.randint(0, len(lines[at]))]
        if not lines:
            lines = [""]
    return "\n".join(lines)


def byte_mutation(r: R, source: str) -> str:
    return mutate_bytes(r, source.encode()).decode("utf-8", "replace")


def mutated(r: R, source: str) -> str:
    pick = r.randrange(20)
    if pick == 0:
        return source
    op: Callable[[R, str], str] = r.choice(
        [tree_mutation, text_mutation, line_mutation, byte_mutation]
    )
    return op(r, source)


def config_case(r: R) -> dict[str, str]:
    files = dict(yaml_target.CONFIG_FILES)
    for name in r.sample(sorted(files), r.randint(1, 2)):
        files[name] = mutated(r, files[name])
    return files


def profile_case(r: R) -> tuple[str, str]:
    name = r.choice(sorted(yaml_target.PROFILE_FILES))
    return name, mutated(r, yaml_target.PROFILE_FILES[name])


# --- HTTP query strings ----------------------------------------------------------------

RAW = "abcXYZ019-._~!$&'()*+,;=:@/?%[]" + '<>"{}|\\^`'


def raw_chars(r: R) -> str:
    return "".join(r.choice(RAW) for _ in range(r.randint(0, 30)))


def encoded(r: R) -> str:
    pick = r.randrange(20)
    if pick < 8:  # random percent-encoded bytes
        return quote_from_bytes(r.randbytes(r.randint(0, 40)), safe="")
    if pick < 13:
        return quote_from_bytes(text(r, 20).encode("utf-8", "surrogatepass"))
    if pick < 19:
        return quote_from_bytes(r.choice(http_target.WORDS).encode())
    return "x" * r.randint(1000, 20000)


def query(r: R) -> str:
    pick = r.randrange(10)
    if pick < 7:
        pairs = []
        for _ in range(r.randint(0, 8)):
            key = r.choice(http_target.KEYS) if r.random() < 0.7 else raw_chars(r)
            pairs.append(f"{key}={encoded(r) if r.random() < 0.7 else raw_chars(r)}")
        return "&".join(pairs)
    if pick < 9:
        return raw_chars(r)
    return r.choice(["", "&", "=", "==", "%", "%zz", "%00", "status=%ff", "q=%ed%a0%80"])


def http_case(r: R) -> list[tuple[str, str]]:
    return [(r.choice(http_target.ROUTES), query(r)) for _ in range(r.randint(1, 4))]
