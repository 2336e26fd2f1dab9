"""Judging only what changed gives the states judging the whole province would.

The status engine evaluates the sites whose targets changed, their children, and what
follows; a second engine on the same store is made to compute every site at every
step (the way it worked before). Random poll results on a three-level province (NOC,
POPs, villages, some with two uplinks) must publish the same states at every step.
"""

from __future__ import annotations

import random

from netmon.inventory import Site
from netmon.status.engine import StatusEngine
from netmon.tasks import finish
from tests.unit.test_status import KINDS, World, inventory, site


def province(villages: int = 40) -> list[Site]:
    """A NOC, four POPs, villages (every seventh with two uplinks)."""
    sites = [site("noc")]
    pops = [f"pop-{i}" for i in range(4)]
    sites += [site(p, ("noc",)) for p in pops]
    for i in range(villages):
        first = pops[i % 4]
        uplinks = (first, pops[(i + 1) % 4]) if i % 7 == 0 else (first,)
        sites.append(site(f"desa-{i}", uplinks))
    return sites


def test_incremental_and_full_evaluation_agree_step_by_step() -> None:
    rng = random.Random(16)
    pops = [f"pop-{i}" for i in range(4)]
    inv = inventory(*province())
    world = World(inv)
    full = StatusEngine(inv, world.store, hold=0.0, kinds=KINDS)
    evaluated = 0
    for step in range(300):
        # a handful of poll results a step; now and then a POP fails with its villages
        chosen = rng.sample(list(inv.sites.values()), rng.randint(1, 6))
        if step % 37 == 5:
            chosen += [inv.sites[rng.choice(pops)]]
        for s in chosen:
            up = rng.random() > (0.5 if s.id in pops else 0.3)
            world.poll(f"rtr-{s.id}", s.id, up=up)
        world.now += rng.choice((1.0, 5.0, 30.0))
        world.engine.evaluate(world.now)
        full._full = True  # every site, every time
        full.evaluate(world.now)
        assert world.engine.published == full.published, f"step {step}"
        evaluated += len(chosen)
    statuses = {s.status for s in full.published.values()}
    assert {"up", "down", "unreachable"} <= statuses  # the walk reached the cases
    assert evaluated > 300


def test_an_evaluation_in_steps_publishes_what_one_in_one_step_does() -> None:
    """The status loop gives the event loop a turn inside a long evaluation (after a
    reload every site is judged); judged a site a step, the states are the same."""
    rng = random.Random(7)
    inv = inventory(*province())
    world = World(inv)
    whole = StatusEngine(inv, world.store, hold=0.0, kinds=KINDS)
    steps_seen = 0
    for step in range(60):
        for s in rng.sample(list(inv.sites.values()), rng.randint(1, 8)):
            world.poll(f"rtr-{s.id}", s.id, up=rng.random() > 0.4)
        world.now += 5.0
        stepped = world.engine.steps(world.now, turn=0.0)  # yields after every site
        while True:
            try:
                next(stepped)
                steps_seen += 1
            except StopIteration as done:
                changes = done.value
                break
        whole._full = True  # the same store: it judges every site (as above)
        assert changes == whole.evaluate(world.now), f"step {step}"
        assert world.engine.published == whole.published, f"step {step}"
    assert steps_seen > 60  # it did yield inside evaluations


def test_a_reload_between_steps_ends_the_evaluation_and_the_next_judges_all() -> None:
    inv = inventory(*province())
    world = World(inv)
    for s in inv.sites.values():
        world.poll(f"rtr-{s.id}", s.id, up=not s.id.startswith("desa-1"))
    stepped = world.engine.steps(world.now, turn=0.0)
    for _ in range(5):
        next(stepped)  # five sites judged, the rest waiting
    smaller = inventory(*province(villages=20))  # desa-20.. are gone
    world.engine.set_inventory(smaller, {})
    try:
        while True:
            next(stepped)
    except StopIteration as done:
        ended = done.value
    assert all(sid in smaller.sites for sid, _, _ in ended)
    finish(world.engine.steps(world.now, turn=None))
    fresh = StatusEngine(smaller, world.store, hold=0.0, kinds=KINDS)
    fresh.evaluate(world.now)
    assert world.engine.published == fresh.published
    assert set(world.engine.published) == set(smaller.sites)


def test_a_full_look_at_the_evidence_in_steps_shows_readers_the_old_indexes() -> None:
    inv = inventory(*province())
    world = World(inv)
    for s in inv.sites.values():
        world.poll(f"rtr-{s.id}", s.id, up=True)
    world.engine.evaluate(world.now)
    old = world.engine.evidence.devices
    assert len(old) == len(inv.sites)
    world.engine.set_inventory(inv, {})  # a reload: every target looked at again
    stepped = world.engine.steps(world.now, turn=0.0)
    next(stepped)
    assert world.engine.evidence.devices is old  # half built aside, not shown
    finish(stepped)
    assert world.engine.evidence.devices is not old
    assert world.engine.evidence.devices == old
