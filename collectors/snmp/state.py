"""What one device's mapping remembers between polls, and outlives a failed poll.

A village router is unreachable exactly when it reboots, and a radio link
loses one poll in five in the rain. So this state is kept across timeouts
and errors (only the SNMP session is rebuilt): the running totals of 32-bit
counters, the last uptime of each source, the index -> name map and the
slow columns it comes from, the facts that pick units by firmware. It goes
only when the target leaves the config.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from collectors.snmp.slowcache import SlowCache

#: (table key, row index, column)
CounterKey = tuple[str, str, str]


@dataclass(slots=True)
class DeviceState:
    #: Counter32 columns: (last raw value, running total since netmon first saw it)
    counters: dict[CounterKey, tuple[int, int]] = field(default_factory=dict)
    #: last raw value of each HC (Counter64) column that has a 32-bit twin
    hc_last: dict[CounterKey, int] = field(default_factory=dict)
    #: HC columns found fake (stuck at 0, or wrapping at 2^32) -> why
    fake_hc: dict[CounterKey, str] = field(default_factory=dict)
    #: table key -> monotonic time of its last complete walk
    table_at: dict[str, float] = field(default_factory=dict)
    #: table key -> ``reboots`` at its last complete walk: a reboot seen in a poll that lost
    #: the table still resets (and excuses) its counters at the table's next complete walk
    table_reboots: dict[str, int] = field(default_factory=dict)
    #: (table key, row index) -> last ifCounterDiscontinuityTime
    discontinuity: dict[tuple[str, str], int] = field(default_factory=dict)
    #: uptime source -> (seconds, monotonic time read)
    uptimes: dict[str, tuple[float, float]] = field(default_factory=dict)
    reboots: int = 0
    #: 32-bit running totals restarted from the raw value, by reason
    resets: Counter[str] = field(default_factory=Counter)
    #: fake HC columns found, by reason
    fallbacks: Counter[str] = field(default_factory=Counter)
    #: last known ifIndex -> ifname, kept while a poll loses the interfaces table
    ifnames: dict[str, str] = field(default_factory=dict)
    #: last known device facts (scalars' text, device_info) for unit conditions
    facts: dict[str, str] = field(default_factory=dict)
    #: (table key, row index) already flagged as able to wrap 2^32 in one interval
    wrap_risk: set[tuple[str, str]] = field(default_factory=set)
    #: slow columns and scalars (names, model, firmware) read less often than each poll
    slow: SlowCache = field(default_factory=SlowCache)
    #: bytes of every poll's datagrams, failed polls and retries included: sent, received
    bytes_sent: int = 0
    bytes_received: int = 0

    def prune(self, table: str, present: Collection[str]) -> None:
        """Forget rows of a completely walked table that are gone (PPPoE, VPN come and go)."""
        gone = {k for k in (*self.counters, *self.hc_last) if k[0] == table and k[1] not in present}
        for key in gone:
            self.counters.pop(key, None)
            self.hc_last.pop(key, None)
            self.fake_hc.pop(key, None)
        for row in [r for r in self.discontinuity if r[0] == table and r[1] not in present]:
            del self.discontinuity[row]
        self.wrap_risk = {r for r in self.wrap_risk if r[0] != table or r[1] in present}
