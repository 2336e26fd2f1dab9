"""New, repeated or restarted: the rules that make at-least-once delivery idempotent.

Pure functions over what a source last said (:class:`Order`); the rules are
written out for operators in collectors/mqtt/README.md ("Repeats, restarts and
payload times"), and tests/unit/test_mqtt_sources.py checks each one.

- A **payload time** is used only if it is a time this device could have
  measured: finite, not before :data:`TIME_FLOOR` (a clock lost with the power
  starts near 1970 or at its firmware's build date) and not more than the
  configured skew ahead of its arrival. Otherwise it is *no time*: the caller
  counts it and uses the arrival time.
- A message is a **repeat** when its sequence number is not above the last
  one applied (or, without a sequence, its payload time is not newer).
- Unless the device **restarted** counting, which shows as: a newer payload
  time with a lower sequence number; the end of the source's last session
  (its Last Will, a new "online" from its site's agent, or silence past its
  TTL while netmon was connected); or, for a source without usable payload
  times, a sequence number more than the window (``sequence_window``,
  :data:`SEQUENCE_WINDOW`) below the last one.
- A retained message never starts anything anew: the broker sends it because
  netmon (re)subscribed, so it is old state by definition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

#: 2020-01-01T00:00:00Z. An earlier payload time is a clock that lost its setting
#: (1970, or the build date of the firmware); no device here predates it.
TIME_FLOOR: Final = 1_577_836_800.0

#: The default of how far below the last applied sequence number a repeat can be
#: (``sequence_window`` in the config). A repeat is a
#: message applied but not yet acknowledged when the connection broke (at most one
#: batch of 32, collectors/mqtt/session.py, plus the broker's in-flight window,
#: mosquitto's max_inflight_messages 20) or a publisher's own resend of its
#: unacknowledged messages. A number further below is a device counting anew.
SEQUENCE_WINDOW: Final = 64


class Verdict(StrEnum):
    NEW = "new"
    REPEAT = "repeat"
    RESTART = "restart"  # new, and the device started counting again


@dataclass(slots=True)
class Order:
    """What a source last said, for telling a new message from a repeat."""

    sequence: int | None = None
    timestamp: float | None = None
    #: the source's last session ended (Last Will, its agent "online" again, stale):
    #: its next message may count from anywhere
    session_ended: bool = False


def payload_time(ts: float | None, arrival: float, max_skew: float) -> tuple[float | None, str]:
    """(the payload time if it is a time, else None; why it is not, else "")."""
    if ts is None:
        return None, ""
    if not math.isfinite(ts):
        return None, f"payload time is {ts}"
    if ts < TIME_FLOOR:
        return None, f"payload time {ts:.0f} is before 2020 (a clock lost with the power?)"
    if ts > arrival + max_skew:
        return None, f"payload time is {ts - arrival:.3g}s ahead of its arrival"
    return ts, ""


def judge(
    order: Order,
    sequence: int | None,
    timestamp: float | None,
    *,
    retained: bool = False,
    window: int = SEQUENCE_WINDOW,
) -> tuple[Verdict, str]:
    """The verdict on a message, and for a restart which sign showed it.

    ``timestamp`` is a usable payload time (see :func:`payload_time`) or None.
    """
    verdict, sign = _judge(order, sequence, timestamp, window)
    if verdict is Verdict.RESTART and retained:
        return Verdict.REPEAT, ""  # old state sent on subscribe: never a new start
    return verdict, sign


def _judge(
    order: Order, sequence: int | None, timestamp: float | None, window: int
) -> tuple[Verdict, str]:
    last_seq, last_ts = order.sequence, order.timestamp
    if sequence is not None and last_seq is not None:
        if sequence > last_seq:
            return Verdict.NEW, ""
        if order.session_ended:
            return Verdict.RESTART, "session"
        if timestamp is not None and last_ts is not None:
            # both clocks agree on what is old: trust the time over the number
            return (Verdict.RESTART, "timestamp") if timestamp > last_ts else (Verdict.REPEAT, "")
        if last_seq - sequence > window:
            return Verdict.RESTART, "jump"
        return Verdict.REPEAT, ""
    if timestamp is not None and last_ts is not None:
        if timestamp > last_ts:
            return Verdict.NEW, ""
        if order.session_ended:
            return Verdict.RESTART, "session"  # its clock went back with the restart
        return Verdict.REPEAT, ""
    return Verdict.NEW, ""


def advance(order: Order, sequence: int | None, timestamp: float | None) -> None:
    """Record a message that was not a repeat (its usable time only)."""
    if sequence is not None:
        order.sequence = sequence
    if timestamp is not None:
        order.timestamp = timestamp
    order.session_ended = False
