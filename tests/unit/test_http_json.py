"""Big JSON answers made a slice at a time (netmon.http_json): the same bytes as one
json.dumps of the whole answer, whatever the slicing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon import http_json


def _body(items: list[int], row: Any) -> str:
    async def make() -> str:
        response = await http_json.sliced_success(items, row)
        assert response.content_type == "application/json"
        assert response.text is not None
        return response.text

    return asyncio.run(make())


@given(st.lists(st.integers(-5, 5), max_size=40), st.integers(1, 7))
def test_the_answer_is_what_one_dumps_would_write(items: list[int], size: int) -> None:
    def row(i: int) -> dict[str, Any] | None:
        return None if i == 0 else {"n": i, "name": f"desa-{i}", "errors": {"timeout": i}}

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(http_json, "SLICE", size)
        body = _body(items, row)
    rows = [row(i) for i in items if i != 0]
    assert body == json.dumps({"status": "success", "data": rows})
    assert json.loads(body)["data"] == rows
