"""netmon.sameness.same answers what ``==`` answers (the reference), comparing each shared
piece once: two loads of the example province, every job; and arbitrary nestings."""

from __future__ import annotations

import math
import pickle
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors import REGISTRY
from collectors.snmp.profile import Profile
from netmon.config import load
from netmon.jobs import make_job, polls_of
from netmon.sameness import same
from tests.helpers import ROOT


@dataclass(frozen=True)
class Plain:
    a: Any
    b: Any = None
    ignored: Any = field(default=None, compare=False)


@dataclass(frozen=True, eq=False)
class Own:
    a: Any

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Own)  # every Own equals every other

    def __hash__(self) -> int:
        return 0


leaves = st.one_of(st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=2), st.none())
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(inner, inner),
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=1), inner, max_size=3),
        st.builds(Plain, inner, inner, inner),
        st.builds(Own, inner),
    ),
    max_leaves=12,
)


@given(values, values)
def test_same_is_equality(a: Any, b: Any) -> None:
    assert same(a, b, {}) == (a == b)
    assert same(a, a, {}) == (a == a)


def test_what_equality_does_not_say_is_left_to_it() -> None:
    assert same(Counter(a=0), Counter(), {}) == (Counter(a=0) == Counter())
    nan = math.nan
    assert same((nan,), (nan,), {})
    assert not same((nan,), (float("nan"),), {})
    assert same(Plain(1, ignored=1), Plain(1, ignored=2), {})
    assert same(Own(1), Own(2), {})


def _jobs(config: Path, *, from_child: bool) -> dict[str, Any]:
    """The jobs of a load; ``from_child``: as a reload's child hands it over (pickled,
    so the shared profiles are new objects, as after netmon.config_process)."""
    loaded = load(config, REGISTRY)
    if from_child:
        loaded = pickle.loads(pickle.dumps(loaded))  # noqa: S301 - our own bytes
    polls = [p for d in loaded.inventory.devices.values() for p in polls_of(d)]
    collectors = {p[0].collector: REGISTRY.collector_factory(p[0].collector)({}) for p in polls}
    jobs = [make_job(collectors[p[0].collector], p, lambda *_: None) for p in polls]
    return {j.key: j for j in jobs}


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NETMON_SNMP_COMMUNITY", "NETMON_SNMPV3_AUTH_KEY", "NETMON_SNMPV3_PRIV_KEY"):
        monkeypatch.setenv(name, "example-secret")
    monkeypatch.setenv("NETMON_MQTT_PASSWORD", "example")


def test_two_loads_jobs_are_the_same_and_profiles_compared_once(
    example_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = (_jobs(ROOT / "config" / "netmon.yaml", from_child=c) for c in (False, True))
    assert old.keys() == new.keys()
    assert len(old) > 10
    compared: list[tuple[int, int]] = []
    profile_eq = Profile.__eq__

    def counting(self: Profile, other: object) -> bool:
        compared.append((id(self), id(other)))
        return profile_eq(self, other)

    monkeypatch.setattr(Profile, "__eq__", counting)
    memo: dict[tuple[int, int], bool] = {}
    assert all(same(new[key], job, memo) for key, job in old.items())
    snmp_jobs = sum(1 for j in old.values() if j.target.collector == "snmp")
    assert 0 < len(compared) == len(set(compared)) < snmp_jobs  # each shared pair once
    monkeypatch.undo()
    assert all(new[key] == job for key, job in old.items())  # the reference agrees
    changed = replace(next(iter(new.values())), interval=12345.0)
    assert not same(changed, old[changed.key], memo)
