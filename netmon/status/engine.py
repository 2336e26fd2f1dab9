"""Site state from device health and the uplink topology: "which villages are
offline, since when, and why".

Sites are evaluated parents first. A site whose own targets fail and that has
no working uplink path is *unreachable* behind the failed site at the top
(its ``root``), not *down*: one fibre cut is one outage, not two hundred. A
site reachable only over a backup uplink is *degraded*.

One cut, one page: a child's failure is only judged once every ancestor has
a result newer than the child's failure began (from any collector), and so has
the device at the near end of its uplink link (whose interface says whether the
link is the cause); until then the child keeps its previous state, and what is
missing is polled at once. Flap damping: a new state must hold ``hold`` seconds
before it is published.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

from netmon.inventory import Inventory
from netmon.status.evidence import Evidence, Kinds, Own
from netmon.status.links import Uplink, uplinks_steps
from netmon.store import Store, TargetEntry
from netmon.tasks import TURN, Pace, Steps, finish

FAILED = frozenset({"down", "unreachable"})


@dataclass(frozen=True, slots=True)
class SiteState:
    status: str  # up | degraded | down | unreachable | unknown
    cause: str = ""  # device | uplink | power | link | unknown ("" when up)
    upstream: str = ""  # the failed site at the top of the outage ("" when the site itself)
    since: float = 0.0
    link: str = ""  # the uplink link's id from the inventory, when the cause is link

    @property
    def failed(self) -> bool:
        return self.status in FAILED


#: a published change: (site, before, after)
Change = tuple[str, SiteState, SiteState]


@dataclass(slots=True)
class _Candidate:
    state: SiteState
    since: float


def _differs(a: SiteState, b: SiteState) -> bool:
    """Whether children must be judged again: what they read of a parent (its status,
    and the top of its outage), not when it was computed."""
    return (a.status, a.upstream) != (b.status, b.upstream)


class Topology(NamedTuple):
    """What status judging needs of an inventory's shape (worked out once per load)."""

    #: sites, parents first
    order: list[str]
    #: each site's place in that order
    rank: dict[str, int]
    #: each site's children
    children: dict[str, list[str]]
    #: each site's link to its primary uplink, where one is declared
    uplinks: dict[str, Uplink]


def topology(inventory: Inventory) -> Topology:
    """The order sites are judged in (parents first), and who depends on whom."""
    return finish(topology_steps(inventory, Pace(None)))


def topology_steps(inventory: Inventory, pace: Pace) -> Steps[Topology]:
    """``topology`` in steps of ``pace`` (10,000 sites: ~10 ms)."""
    order: list[str] = []
    placed: set[str] = set()

    def visit(site: str, trail: frozenset[str]) -> None:
        if site in placed or site in trail:
            return
        for parent in inventory.sites[site].uplinks:
            if parent in inventory.sites:
                visit(parent, trail | {site})
        placed.add(site)
        order.append(site)

    for site in inventory.sites:
        visit(site, frozenset())
        yield from pace.give()
    children: dict[str, list[str]] = {}
    for sid in order:
        for parent in inventory.sites[sid].uplinks:
            children.setdefault(parent, []).append(sid)
        yield from pace.give()
    links = yield from uplinks_steps(inventory, pace)
    return Topology(order, {sid: i for i, sid in enumerate(order)}, children, links)


class StatusEngine:
    def __init__(
        self,
        inventory: Inventory,
        store: Store,
        *,
        hold: float = 30.0,
        poll_now: Callable[[str], bool] = lambda _key: False,
        restored: dict[str, SiteState] | None = None,
        kinds: Kinds | None = None,
    ) -> None:
        """``kinds``: the collector kinds' roles and evidence (``Kinds.of(registry)``)."""
        self.store = store
        self.hold = hold
        self.poll_now = poll_now
        self.evidence = Evidence(kinds or Kinds({}, {}))
        self.published: dict[str, SiteState] = {}
        #: sites in maintenance by an Alertmanager silence (the daemon keeps it current)
        self.silenced: frozenset[str] = frozenset()
        self._candidates: dict[str, _Candidate] = {}
        self._requested: dict[str, float] = {}
        #: each site's state as last computed (before damping); kept between evaluations
        self._computed: dict[str, SiteState] = {}
        #: sites whose failure waits for fresher results of their ancestors
        self._waiting: set[str] = set()
        #: the next evaluation computes every site (a new inventory, a restart)
        self._full = True
        self.set_inventory(inventory, restored or {})

    def set_inventory(
        self,
        inventory: Inventory,
        restored: dict[str, SiteState],
        shape: Topology | None = None,
    ) -> None:
        """A new inventory; ``shape``: its topology, worked out ahead (a reload does, in
        turns of the loop: ~15 ms at 10,000 sites), else here."""
        self.inventory = inventory
        shape = shape or topology(inventory)
        self.order, self._rank, self._children = shape.order, shape.rank, shape.children
        self.evidence.uplinks = shape.uplinks
        #: sites with declared power cuts (the series show when one is on)
        self.power_cut_sites = [sid for sid, s in inventory.sites.items() if s.power_cuts]
        previous = {**restored, **self.published}
        unknown = SiteState("unknown")  # one (frozen) for all: 10,000 made cost ~5 ms
        self.published = {sid: previous.get(sid, unknown) for sid in inventory.sites}
        self._candidates = {k: v for k, v in self._candidates.items() if k in inventory.sites}
        self._computed = {}
        self._full = True

    def evaluate(self, now: float) -> list[Change]:
        """``steps`` at once: the whole evaluation in one step."""
        return finish(self.steps(now, turn=None))

    def steps(self, now: float, turn: float | None = TURN) -> Steps[list[Change]]:
        """Recompute the sites whose evidence changed since the last evaluation, and what
        follows from them; returns the published changes (site, before, after).

        A poll result touches its own site and the sites it is the near end for (its
        children); a site whose computed state changes passes that on to its children.
        Sites awaiting their ancestors' fresher results, and changes still being held
        (flap damping), are looked at every time. So one evaluation costs what changed,
        not the province: at 10,000 devices one runs after every few poll results."""
        # taken first: what arrives while the steps wait is judged at the next evaluation
        changed = self.store.take_changes()
        computed = self._computed
        pace = Pace(turn)  # one clock for the steps of both parts
        touched = yield from self.evidence.observe_steps(
            self.store, now, None if self._full else changed, pace
        )
        yield from pace.give()
        if self._computed is not computed:  # set_inventory came in meanwhile
            return []
        if self._full or touched is None:
            self._full = False
            todo = list(self.order)
        else:
            seeds = touched | self._waiting | self._candidates.keys()
            for sid in touched:
                seeds.update(self._children.get(sid, ()))
            todo = sorted((s for s in seeds if s in self._rank), key=self._rank.__getitem__)
        return (yield from self._run(todo, now, pace))

    def _run(self, todo: list[str], now: float, pace: Pace) -> Steps[list[Change]]:
        """Compute ``todo`` parents first, adding the children of each site whose state
        changed (a heap by rank keeps the order as sites are added). Yields when ``pace``
        says (after a reload all 10,000 sites are computed: 0.1-0.16 s);
        a reload while it waits ends it there, the new inventory judged in full next."""
        heap = [(self._rank[sid], sid) for sid in todo]  # sorted: already a heap
        queued = set(todo)
        changes: list[Change] = []
        computed = self._computed
        while heap:
            if pace.due():
                yield
                pace.restart()
                if self._computed is not computed:  # set_inventory came in meanwhile
                    return [c for c in changes if c[0] in self.inventory.sites]
            _, sid = heapq.heappop(heap)
            state = self._compute(sid, computed, now)
            old = computed.get(sid)
            computed[sid] = state
            if old is None or _differs(old, state):
                for child in self._children.get(sid, ()):
                    if child not in queued:
                        queued.add(child)
                        heapq.heappush(heap, (self._rank[child], child))
            before = self.published[sid]
            after = self._damp(sid, state, now)
            if after != before:
                self.published[sid] = after
                changes.append((sid, before, after))
        return changes

    def _compute(self, sid: str, computed: dict[str, SiteState], now: float) -> SiteState:
        site = self.inventory.sites[sid]
        own: Own = self.evidence.own(site, self.store)
        parents = [p for p in site.uplinks if p in computed]
        failed = [p for p in parents if computed[p].failed]
        previous = self.published[sid]
        if parents and len(failed) == len(parents) and own.state in ("down", "unknown"):
            top = self.root_of(parents[0], computed)
            return SiteState("unreachable", "uplink", top, since=now)
        self._waiting.discard(sid)
        if own.state == "down":
            if not self._settled(sid, own.since):
                self._waiting.add(sid)
                return previous if previous.status != "unknown" else SiteState("unknown")
            return SiteState("down", own.cause, "", since=own.since, link=own.link)
        if own.state == "unknown":
            return previous  # nothing new: keep what we knew (e.g. restored after a restart)
        if own.state == "up" and parents and parents[0] in failed:
            # reachable, but only over a backup path
            return SiteState("degraded", "uplink", self.root_of(parents[0], computed), now)
        return SiteState(own.state, own.cause, "", since=now)

    def _settled(self, sid: str, failed_at: float) -> bool:
        """Whether a child's failure can be judged: every ancestor, and the device at the
        near end of its uplink link (the cause's evidence), has a result newer than it.

        An ancestor is settled by one newer sign of life from any collector (it cannot be
        the cause), or by newer results from all its targets. What is missing is polled
        at once, once per child failure (polled kinds; pushed telemetry cannot be asked:
        its next message, or its going stale, is its result)."""
        waiting: list[TargetEntry] = []
        for ancestor in self.inventory.ancestors(sid):
            targets = list(self.evidence.targets.get(ancestor, {}).values())
            newer = [e for e in targets if e.last_started >= failed_at]
            if len(newer) < len(targets) and not any(e.state != "down" for e in newer):
                waiting.extend(e for e in targets if e.last_started < failed_at)
        uplink = self.evidence.uplinks.get(sid)
        near = self.evidence.near_end(uplink).polled()
        waiting.extend(e for e in near if e.last_started < failed_at)
        polled = self.evidence.polled if waiting else frozenset()
        for entry in waiting:
            key = entry.target.key
            if entry.target.collector in polled and self._requested.get(key, 0.0) < failed_at:
                self._requested[key] = failed_at
                self.poll_now(key)
        return not waiting

    def root_of(self, sid: str, computed: dict[str, SiteState]) -> str:
        state = computed.get(sid)
        if state is None or not state.failed:
            return sid
        return state.upstream or sid

    def _damp(self, sid: str, state: SiteState, now: float) -> SiteState:
        """Publish a changed status only after it held for ``hold`` seconds."""
        published = self.published[sid]
        if state.status == published.status:
            self._candidates.pop(sid, None)
            if (state.cause, state.upstream, state.link) != (
                published.cause,
                published.upstream,
                published.link,
            ):
                return replace(state, since=published.since)  # same status, new detail
            return published
        if published.status == "unknown" or state.status == "unknown":
            self._candidates.pop(sid, None)
            return state
        candidate = self._candidates.get(sid)
        if candidate is None or candidate.state.status != state.status:
            candidate = self._candidates[sid] = _Candidate(state, min(state.since or now, now))
        if now - candidate.since >= self.hold:
            self._candidates.pop(sid, None)
            return replace(state, since=candidate.since)
        return published

    # -- views -----------------------------------------------------------------
    def root(self, sid: str) -> str:
        state = self.published[sid]
        if state.status == "unreachable" and state.upstream:
            return state.upstream
        return sid

    def outages(self) -> dict[str, list[str]]:
        """root -> sites it takes down (itself first), for roots that are down.

        A shard counts only its own sites (the root may be a read-only ancestor):
        summed over the shards, netmon_outage_sites is the whole outage."""
        out: dict[str, list[str]] = {}
        for sid, state in self.published.items():
            if state.failed and self.inventory.exported(sid):
                out.setdefault(self.root(sid), []).append(sid)
        return {
            root: sorted(sites, key=lambda s: (s != root, s))
            for root, sites in out.items()
            if self.published.get(root, SiteState("unknown")).failed
        }
