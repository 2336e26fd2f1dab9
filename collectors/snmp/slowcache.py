"""Columns and scalars that change rarely, kept between polls to spare the link.

Names, descriptions, model and firmware (columns and scalars marked ``slow``
in the profiles) are fetched again only when one of these says they may
have changed:

- the refresh period (:data:`REFRESH_S`) has passed since they were read;
- the device rebooted (an uptime went back, or is shorter than the time since
  it was read: the same rule as reboot counting) or ifNumber.0 changed;
- a table's fast columns show a row the cache has not seen (a new interface);
- a slow column or scalar has never been read completely (its walk failed).

Columns a device does not have (ifSpeed on a RouterOS that only fills
ifHighSpeed) are remembered too: a fast column whose complete walk found no
rows while another column of its table had some is not walked again until a
refresh (the same reasons as above) or a row the table did not have when it
was found empty. A table that is empty as a whole (no hotspot users now) is
not an absent column: it is walked every poll.

The cache lives in :class:`collectors.snmp.state.DeviceState`, so it
outlives failed polls like the rest of the device's state: a poll that
fails changes nothing here. It is the same data as the engine's index ->
name map: the engine gets the cached name columns merged into each table's
walk, rows that are gone from the fast columns dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from collectors.snmp.counters import is_reboot
from collectors.snmp.plan import Value

#: seconds between reads of the slow columns when nothing says they changed
REFRESH_S = 3600.0
Varbinds = list[tuple[str, Value]]


@dataclass(frozen=True, slots=True)
class Absent:
    """Fast columns of a table found empty, and the table's rows when they were."""

    columns: frozenset[str]
    rows: frozenset[str]


@dataclass(slots=True)
class SlowCache:
    refresh_s: float = REFRESH_S
    #: monotonic time of the last refresh decided (None: never)
    at: float | None = None
    #: table key -> column OID -> its varbinds at the last complete walk
    columns: dict[str, dict[str, Varbinds]] = field(default_factory=dict)
    #: table key -> row indexes of its fast columns when the slow ones were walked
    rows: dict[str, set[str]] = field(default_factory=dict)
    #: slow scalar OID -> value (None: the agent has none)
    scalars: dict[str, Value] = field(default_factory=dict)
    #: uptime OID -> (seconds, monotonic time read), for reboot detection
    uptimes: dict[str, tuple[float, float]] = field(default_factory=dict)
    if_number: int | None = None
    #: column OID -> rows it had at its last complete walk (sizes the next GETBULK)
    sizes: dict[str, int] = field(default_factory=dict)
    #: table key -> its fast columns the device does not have (not walked in steady state)
    absent: dict[str, Absent] = field(default_factory=dict)
    #: why the slow data was last re-read (for tests and logs): first, period, reboot, ...
    reasons: list[str] = field(default_factory=list)

    def check(
        self,
        scalars: dict[str, Value],
        uptimes: tuple[tuple[str, bool], ...],
        interval: float,
        now: float,
    ) -> str | None:
        """Why everything slow must be read again in this poll (None: the cache stands).

        ``scalars`` are this poll's fast scalars; their uptime and ifNumber are
        remembered for the next poll. A reboot or ifNumber change empties the cache.
        """
        reason: str | None = None
        for oid, ticks in uptimes:
            value = scalars.get(oid)
            if type(value) is not int:
                continue
            seconds = value / 100.0 if ticks else float(value)
            last = self.uptimes.get(oid)
            self.uptimes[oid] = (seconds, now)
            if last is not None and is_reboot(
                last[0], seconds, now - last[1], interval, ticks=ticks
            ):
                reason = reason or "reboot"
        count = scalars.get("1.3.6.1.2.1.2.1.0")
        if type(count) is int:
            if self.if_number is not None and count != self.if_number:
                reason = reason or "if_number"
            self.if_number = count
        if reason is None and self.at is None:
            reason = "first"
        elif reason is None and now - self.at >= self.refresh_s:  # type: ignore[operator]
            reason = "period"
        if reason in ("reboot", "if_number"):
            self.columns.clear()
            self.rows.clear()
            self.scalars.clear()
            self.absent.clear()
        if reason is not None:
            self.at = now
            self.reasons.append(reason)
        return reason

    def missing_scalars(self, oids: tuple[str, ...], refresh: bool) -> list[str]:
        return [o for o in oids if refresh or o not in self.scalars]

    def store_column(self, key: str, oid: str, varbinds: Varbinds) -> None:
        self.columns.setdefault(key, {})[oid] = varbinds

    def skipped(self, key: str, refresh: bool) -> frozenset[str]:
        """Columns of a table not to walk in this poll (none at a refresh)."""
        known = self.absent.get(key)
        return frozenset() if refresh or known is None else known.columns

    def recheck(self, key: str, rows: set[str]) -> bool:
        """True: the table shows a row it did not have when its absent columns were found."""
        known = self.absent.get(key)
        return known is not None and not rows <= known.rows

    def store_absent(self, key: str, fast: dict[str, Varbinds], rows: set[str]) -> None:
        """After a table's complete walk of every fast column: remember the empty ones.

        Only when the table has rows: an empty table may fill up by the next poll.
        """
        empty = frozenset(oid for oid, varbinds in fast.items() if not varbinds)
        if rows and empty:
            self.absent[key] = Absent(empty, frozenset(rows))
        else:
            self.absent.pop(key, None)
