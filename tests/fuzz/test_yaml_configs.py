"""Fuzz: mutated netmon.yaml, site files and SNMP profiles through the real loaders."""

from __future__ import annotations

from hypothesis import given

from tests.fuzz.bounds import SUITE
from tests.fuzz.yaml_target import (
    CONFIG_FILES,
    PROFILE_FILES,
    check_config,
    check_profile,
    configs,
    profiles,
)


@SUITE
@given(configs())
def test_a_mutated_config_loads_or_is_a_config_error(files: dict[str, str]) -> None:
    assert check_config(files) in ("ok", "rejected")


@SUITE
@given(profiles())
def test_a_mutated_profile_loads_or_is_a_profile_error(case: tuple[str, str]) -> None:
    assert check_profile(case) in ("ok", "rejected")


def test_the_shipped_files_load_and_a_billion_laughs_is_refused() -> None:
    """The starting points are valid (else every mutation is a rejection for the same
    reason), and the classic alias bomb is a ConfigErrors, not memory exhaustion."""
    assert check_config(CONFIG_FILES) == "ok"
    assert all(check_profile((n, t)) == "ok" for n, t in PROFILE_FILES.items())
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert check_config({**CONFIG_FILES, "netmon.yaml": bomb}) == "rejected"
