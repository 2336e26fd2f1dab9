"""How a device becomes scheduler jobs: one per collector kind that polls it (each
built by the kind's :class:`netmon.api.DeviceKind`), and how a poll's result is logged.

A job's identity is its settings (see :class:`netmon.scheduler.Job`): a reload that
leaves a device's settings alone leaves its poll loop and counter state alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from netmon import logging as nlog
from netmon.api import PollingCollector, Snapshot, TargetRef
from netmon.inventory import Device
from netmon.scheduler import Job, Plan
from netmon.status.engine import Topology
from netmon.store import Change

log = nlog.get("netmon.daemon")

#: (target, the settings its collector's poll takes, the device)
Poll = tuple[TargetRef, Any, Device]


class Prepared(NamedTuple):
    """A load's polls, its jobs (compared with the running ones ahead: a plan), the
    running config's targets it no longer has, and its sites' topology."""

    polls: list[Poll]
    plan: Plan | list[Job]
    gone: list[TargetRef]
    #: the sites' topology for the status engine (None: worked out in the swap)
    shape: Topology | None = None

    @classmethod
    def of(
        cls,
        polls: list[Poll],
        plan: Plan | list[Job],
        old: list[Poll],
        shape: Topology | None = None,
    ) -> Prepared:
        """``old``: the running config's polls."""
        wanted = {target.key for target, _, _ in polls}
        gone = [target for target, _, _ in old if target.key not in wanted]
        return cls(polls, plan, gone, shape)


def polls_of(device: Device) -> list[Poll]:
    """(target, its settings, device) for each way this device is watched."""
    return [(TargetRef(device.site, device.id, k), p, device) for k, p in device.polls]


def make_job(
    collector: PollingCollector, poll: Poll, deliver: Callable[[Snapshot, Device], None]
) -> Job:
    """The scheduler's job for one target; ``deliver`` gets each poll's snapshot."""
    target, settings, device = poll

    async def run() -> Snapshot:
        return await collector.poll(target, settings, device.deadline)

    def delivered(snapshot: Snapshot) -> None:
        deliver(snapshot, device)

    # identity: what the closures use, nothing else (a site renamed keeps its polls)
    return Job(target, device.interval, run, delivered, settings=(settings, device.deadline))


def log_change(change: Change) -> None:
    """Log once per state change, not once per failed poll (1,000 dead sites = 1,000 lines per
    minute otherwise)."""
    if change.before == change.after:
        return
    fields = {
        "site": change.target.site,
        "device": change.target.device,
        "state": change.after,
        "was": change.before,
    }
    if change.after == "down":
        log.warning("target down", reason=change.reason, detail=change.detail, **fields)
    elif change.after == "partial":
        log.warning("target partially polled", detail=change.detail, **fields)
    elif change.before != "unknown":
        log.info("target recovered", **fields)
