"""Topic matching and payload decoding: pure functions, no broker.

Every way a message can be bad has a name (the ``result`` label of
``netmon_mqtt_messages_total``): ``malformed`` (not the format promised),
``bad_value`` (NaN, Inf, a field of the wrong type), ``too_large``,
``unknown_topic``, ``unknown_site``, ``other_shard``, ``over_budget``, ``duplicate``,
and (decided in sources.py) ``no_values`` and ``implausible``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from collectors.mqtt.config import FieldMetric, Subscription
from netmon.api import Labels, clean_label_value

_VAR = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_NAMED = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")


class PayloadError(ValueError):
    """A message that cannot be used; ``reason`` is its result label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class TopicMatcher:
    """Matches a topic against ``desa/{kabupaten}/{site}/power/{sensor}`` and captures the names."""

    __slots__ = ("levels", "rest")

    def __init__(self, pattern: str) -> None:
        levels = pattern.split("/")
        self.rest = levels[-1] == "#"
        if self.rest:
            levels = levels[:-1]
        #: per level: (literal, None) or (None, name)
        self.levels: list[tuple[str | None, str | None]] = []
        for level in levels:
            match = _NAMED.match(level)
            self.levels.append((None, match.group(1)) if match else (level, None))

    def match(self, topic: str) -> dict[str, str] | None:
        parts = topic.split("/")
        if len(parts) < len(self.levels) or (not self.rest and len(parts) != len(self.levels)):
            return None
        captured: dict[str, str] = {}
        for part, (literal, name) in zip(parts, self.levels, strict=False):
            if literal is not None:
                if part != literal:
                    return None
            elif not part:
                return None  # an empty level cannot name a site or a device
            else:
                captured[name or ""] = part
        return captured


def fill(template: str, names: Mapping[str, str]) -> str:
    return clean_label_value(_VAR.sub(lambda m: names.get(m.group(1), ""), template))


@dataclass(frozen=True, slots=True)
class Decoded:
    fields: Any  # the JSON object (or {"value": x} for single-value formats)
    sequence: int | None
    timestamp: float | None
    state: str | None = None  # format: status


def _path(obj: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError("bad_value", "timestamp is a boolean")
    if isinstance(value, int | float):
        ts = float(value)
        if ts > 1e12:  # milliseconds
            ts /= 1000.0
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError("bad_value", f"timestamp {value[:40]!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            raise PayloadError("bad_value", "timestamp has no time zone (give Z or +08:00)")
        ts = parsed.timestamp()
    else:
        raise PayloadError("bad_value", "timestamp is neither a number nor text")
    # NaN, 1e300 or 1970 is a broken clock, not a broken message: the values still
    # count; collectors.mqtt.repeats.payload_time decides whether this is a time
    return ts


def decode(sub: Subscription, payload: bytes) -> Decoded:
    """Decode one payload as the subscription's format says; PayloadError when it is not."""
    fmt = sub.format
    if fmt == "status" or (fmt == "tasmota" and not payload.lstrip().startswith(b"{")):
        text = payload.decode("utf-8", "replace").strip()
        if fmt == "status" and text.startswith("{"):
            state = _path(_loads(payload), "state")
            text = str(state) if state is not None else ""
        if not text:
            raise PayloadError("malformed", "empty payload")
        if fmt == "status":
            return Decoded({}, None, None, state=text.lower())
        return Decoded({"value": text}, None, None)
    if fmt == "number":
        try:
            return Decoded({"value": float(payload.decode("ascii").strip())}, None, None)
        except (UnicodeDecodeError, ValueError):
            raise PayloadError("malformed", "payload is not a number") from None
    obj = _loads(payload)
    if fmt == "victron":  # {"value": 12.8}
        if not isinstance(obj, dict) or "value" not in obj:
            raise PayloadError("malformed", 'victron payload without "value"')
    elif not isinstance(obj, dict):
        raise PayloadError("malformed", "JSON payload is not an object")
    sequence = _path(obj, sub.sequence) if sub.sequence else None
    if sequence is not None and (not isinstance(sequence, int) or isinstance(sequence, bool)):
        raise PayloadError("bad_value", f"sequence field {sub.sequence} is not an integer")
    ts = _timestamp(_path(obj, sub.timestamp)) if sub.timestamp else None
    return Decoded(obj, sequence, ts)


def _loads(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise PayloadError("malformed", "payload is not valid JSON") from None


def field_value(metric: FieldMetric, raw: Any) -> float | None:
    """A payload value as a number, or None when the field is absent; PayloadError when bad."""
    if raw is None:
        return None
    if metric.map is not None and not isinstance(raw, dict | list):
        key = str(raw).lower() if isinstance(raw, bool) else str(raw)
        if key in metric.map:
            return metric.map[key] * metric.scale
    if isinstance(raw, bool):
        number = 1.0 if raw else 0.0
    elif isinstance(raw, int | float):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            raise PayloadError("bad_value", f"{metric.field} is not a number") from None
    else:
        raise PayloadError("bad_value", f"{metric.field} is not a number")
    if not math.isfinite(number):
        raise PayloadError("bad_value", f"{metric.field} is {number}")
    return number * metric.scale


def metric_labels(metric: FieldMetric, names: Mapping[str, str], base: Labels) -> Labels:
    if not metric.labels:
        return base
    return base + tuple((k, fill(v, names)) for k, v in metric.labels.items())


def field_of(decoded: Decoded, metric: FieldMetric) -> Any:
    return _path(decoded.fields, metric.field)
