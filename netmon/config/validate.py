"""Validating a part of a config file with a pydantic model, errors at file:line:col."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from netmon.config.yamlmarks import ConfigError, MarkedDoc, PathKey

M = TypeVar("M", bound=BaseModel)


def validate(
    model: type[M],
    doc: MarkedDoc,
    errors: list[ConfigError],
    prefix: PathKey = (),
    data: Any = None,
) -> M | None:
    """Validate the data at ``prefix`` of ``doc`` (or ``data``, a part of it written
    there); errors at their file:line:col."""
    if data is None:
        data = doc.data
        for key in prefix:
            data = data[key]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc: PathKey = tuple(p for p in err["loc"] if isinstance(p, str | int))
            # pydantic puts union/validator tags into loc; keep the data path only
            loc = (*prefix, *data_path(data, loc))
            is_key = err["type"] == "extra_forbidden"
            message = err["msg"].removeprefix("Value error, ")
            if is_key:
                message = f"unknown key {loc[-1]!r}" if loc else message
            errors.append(doc.error(loc, message, key=is_key))
        return None


def data_path(data: Any, loc: PathKey) -> PathKey:
    """Drop loc entries that are not keys of the data (pydantic's union tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if has(node, part):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and out[-1:] != [part]:
            # a missing required key: name it, point at the parent
            if isinstance(part, str) and not part.startswith(("function-", "literal[")):
                out.append(part)
            break
    return tuple(out)


def has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
