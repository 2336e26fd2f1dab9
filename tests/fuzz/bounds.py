"""How much of each property the default test run tries: bounded and deterministic
(CI sees the same inputs every time); bench/fuzz_long.py runs the same properties long."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

#: per property: 200 inputs, none taking over a second; derandomized, no example database
SUITE = settings(
    max_examples=200,
    deadline=1000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
