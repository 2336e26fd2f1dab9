"""Fuzz: random query strings on every GET route of the HTTP app."""

from __future__ import annotations

from hypothesis import given

from tests.fuzz.bounds import SUITE
from tests.fuzz.http_target import check, requests


@SUITE
@given(requests)
def test_no_query_string_makes_a_server_error(case: list[tuple[str, str]]) -> None:
    assert all(status < 600 for status in check(case))


def test_a_bad_filter_is_a_400_not_a_500() -> None:
    assert check([("/api/v1/sites", "status=%ff%fe"), ("/api/v1/sites", "status=up")]) == [
        400,
        200,
    ]
