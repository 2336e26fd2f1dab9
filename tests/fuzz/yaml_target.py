"""netmon.yaml, a site file and SNMP profiles, mutated, through the real loaders.

Starts from the shipped files (config/netmon.yaml, config/sites/*.yaml,
collectors/snmp/profiles/*.yaml) and mutates them two ways: values in
the parsed tree replaced or removed (the document stays YAML), and the text itself
cut, spliced and garbled. The declared rejection of netmon.config.load is ConfigErrors,
of load_profile ProfileError; any other exception is a failure.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from collectors import REGISTRY
from collectors.snmp.profile import ProfileError, load_profile
from netmon.config import ConfigErrors, load

ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILES = {"netmon.yaml": (ROOT / "config/netmon.yaml").read_text()} | {
    f"sites/{p.name}": p.read_text() for p in sorted((ROOT / "config/sites").glob("*.yaml"))
}
PROFILE_FILES = {
    p.stem: p.read_text() for p in sorted((ROOT / "collectors/snmp/profiles").glob("*.yaml"))
}

leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=16),
    st.sampled_from(["0s", "-1s", "1e9s", "99999d", "1.3.6.1", ".1.3..6", "(", "*", "{env: X}"]),
)
trees = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*at, i))
    return out


@st.composite
def tree_mutation(draw: st.DrawFn, text: str) -> str:
    """Replace or delete a few nodes of the parsed document; dump it again."""
    doc = yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            doc = draw(trees)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            parent[path[-1]] = draw(trees)
        elif isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    return yaml.safe_dump(doc, allow_unicode=True)


@st.composite
def text_mutation(draw: st.DrawFn, text: str) -> str:
    """Cut, splice in junk, duplicate lines: often not YAML any more."""
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        end = draw(st.integers(at, min(len(text), at + 40)))
        junk = draw(
            st.one_of(
                st.text(max_size=12),
                st.sampled_from(
                    ["\t", ": ", "- ", "&a ", "*a", "!!python/object:os.system ", "? ", "{", "]"]
                ),
                st.sampled_from(["&a [*a, *a, *a, *a, *a, *a, *a, *a, *a]", "[" * 2000]),
            )
        )
        text = text[:at] + junk + text[end:]
    return text


def mutated(text: str) -> st.SearchStrategy[str]:
    return st.one_of(tree_mutation(text), text_mutation(text), st.just(text))


@st.composite
def configs(draw: st.DrawFn) -> dict[str, str]:
    files = dict(CONFIG_FILES)
    for name in draw(st.lists(st.sampled_from(sorted(files)), min_size=1, max_size=2, unique=True)):
        files[name] = draw(mutated(files[name]))
    return files


@st.composite
def profiles(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(PROFILE_FILES)))
    return name, draw(mutated(PROFILE_FILES[name]))


def check_config(files: dict[str, str]) -> str:
    """'ok' or 'rejected' (ConfigErrors); anything else raises."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sites").mkdir()
        for name, text in files.items():
            (root / name).write_text(text)
        try:
            load(root / "netmon.yaml", REGISTRY, env=False, secrets=False)
        except ConfigErrors as exc:
            why = str(exc)
        else:
            return "ok"
    assert why, "a rejection says why"
    return "rejected"


def check_profile(case: tuple[str, str]) -> str:
    name, text = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.yaml"
        path.write_text(text)
        try:
            load_profile(path, f"profiles/{name}.yaml")
        except ProfileError as exc:
            why = str(exc)
        else:
            return "ok"
    assert why, "a rejection says why"
    return "rejected"
