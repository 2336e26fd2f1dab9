"""Judging only what changed gives the states judging the whole province would.

The status engine evaluates the sites whose targets changed, their children, and what
follows; a second engine on the same store is made to compute every site at every
step (the way it worked before). Random poll results on a three-level province (NOC,
POPs, villages, some with two uplinks) must publish the same states at every step.
"""

from __future__ import annotations

import random

from netmon.status.engine import StatusEngine
from tests.unit.test_status import KINDS, World, inventory, site


def test_incremental_and_full_evaluation_agree_step_by_step() -> None:
    rng = random.Random(16)
    sites = [site("noc")]
    pops = [f"pop-{i}" for i in range(4)]
    sites += [site(p, ("noc",)) for p in pops]
    villages = []
    for i in range(40):
        first = pops[i % 4]
        uplinks = (first, pops[(i + 1) % 4]) if i % 7 == 0 else (first,)
        villages.append(f"desa-{i}")
        sites.append(site(f"desa-{i}", uplinks))
    inv = inventory(*sites)
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
