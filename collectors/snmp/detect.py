"""Which profiles a device gets when its entry names none: detection by what it says of
itself, as LibreNMS's OS detection does.

The rules are data: each profile's ``detect:`` list (see README.md). A device gets the
base profiles (:data:`BASE`: system, if_mib) and every profile of the load's catalogue
with a rule that matches its sysObjectID and sysDescr, read with one GET of the two.
The collector detects at a device's first poll, and again after a reboot or when
either value changed (a firmware upgrade can turn a device into another).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from collectors.snmp.plan import Value, to_text
from collectors.snmp.profile import DetectRule, Profile, ScalarSpec

#: polled on every device that names no profiles, whatever it says of itself
BASE = ("system", "if_mib")
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
#: what detection fetches: one GET of sysDescr.0 and sysObjectID.0
IDENTITY = Profile(
    name="detect",
    description="sysDescr and sysObjectID, for profile detection",
    scalars={
        "sysDescr": ScalarSpec(oid=SYS_DESCR, type="string"),
        "sysObjectID": ScalarSpec(oid=SYS_OBJECT_ID, type="oid"),
    },
)
NO_MATCH = "no vendor rule matched"
#: sysDescr beyond this is not searched (an agent may send 64 KiB of garbage)
MAX_DESCR = 4096


@dataclass(frozen=True, slots=True)
class Identity:
    """What a device says of itself ("" for what it did not say)."""

    sys_object_id: str = ""
    sys_descr: str = ""

    @classmethod
    def of(cls, values: dict[str, Value]) -> Identity:
        """From a poll's scalars by OID (the GET of :data:`IDENTITY`)."""
        oid = to_text(values.get(SYS_OBJECT_ID)).lstrip(".")
        descr = values.get(SYS_DESCR)
        if isinstance(descr, bytes):  # whole, not cut like a label value: rules search it all
            descr = descr[:MAX_DESCR].decode("utf-8", "replace")
        return cls(oid, descr[:MAX_DESCR] if isinstance(descr, str) else "")


@dataclass(frozen=True, slots=True)
class Detection:
    """The profiles chosen for a device, and why."""

    identity: Identity
    profiles: tuple[Profile, ...]
    #: (profile, the rule that picked it) for each profile a rule picked
    reasons: tuple[tuple[str, str], ...]
    #: the device's reboot count (DeviceState.reboots) when it was detected
    reboots: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.profiles)

    @property
    def reason(self) -> str:
        return "; ".join(f"{name} ({why})" for name, why in self.reasons) or NO_MATCH

    def text(self) -> str:
        """For a person (`netmon poll`): what was picked, what the device said, and why."""
        said = self.identity
        lines = [
            f"detected profiles: {', '.join(self.names)}",
            f"  the device says: sysObjectID {said.sys_object_id or '(none)'}, "
            f"sysDescr {to_text(said.sys_descr)!r}",
        ]
        picked = {name for name, _ in self.reasons}
        base = [name for name in self.names if name not in picked]
        lines.append(f"  {', '.join(base)}: always, when a device names no profiles")
        lines.extend(f"  {name}: {why}" for name, why in self.reasons)
        if not self.reasons:
            lines.append(f"  {NO_MATCH}")
        return "\n".join(lines)


def under(oid: str, prefix: str) -> bool:
    """``oid`` is ``prefix`` or sits below it (arc by arc: 14988 is not under 1498)."""
    return oid == prefix or oid.startswith(prefix + ".")


def explain(rule: DetectRule, identity: Identity) -> str | None:
    """Why ``rule`` matches ``identity`` (None: it does not)."""
    why: list[str] = []
    if rule.sys_object_id:
        prefix = next((p for p in rule.sys_object_id if under(identity.sys_object_id, p)), None)
        if prefix is None:
            return None
        why.append(f"sysObjectID under {prefix}")
    if rule.sys_descr:
        found = next((r for r in rule.sys_descr if re.search(r, identity.sys_descr)), None)
        if found is None:
            return None
        why.append(f"sysDescr matches /{found}/")
    return " and ".join(why)


def candidates(profiles: Iterable[Profile]) -> tuple[Profile, ...]:
    """The profiles detection may add: those with ``detect:`` rules, not the base ones."""
    return tuple(p for p in profiles if p.detect and p.name not in BASE)


def choose(
    identity: Identity, catalogue: Iterable[Profile], base: Iterable[Profile]
) -> tuple[tuple[Profile, ...], tuple[tuple[str, str], ...]]:
    """The base profiles, then (by name) every profile with a rule that matches; with a
    reason for each one a rule picked."""
    chosen = list(base)
    taken = {p.name for p in chosen}
    reasons: list[tuple[str, str]] = []
    for profile in sorted(catalogue, key=lambda p: p.name):
        if profile.name in taken:
            continue
        for rule in profile.detect:
            why = explain(rule, identity)
            if why is not None:
                chosen.append(profile)
                taken.add(profile.name)
                reasons.append((profile.name, why))
                break
    return tuple(chosen), tuple(reasons)


def detect(
    identity: Identity, catalogue: Iterable[Profile], base: Iterable[Profile], reboots: int = 0
) -> Detection:
    profiles, reasons = choose(identity, catalogue, base)
    return Detection(identity, profiles, reasons, reboots)


def stale(detection: Detection | None, reboots: int, facts: dict[str, str]) -> str | None:
    """Why a device must be detected again (None: its detection stands): ``first``,
    ``reboot`` (one was counted since), ``changed`` (sysDescr or sysObjectID differs
    from what it said then: read again by the slow refresh, e.g. after a firmware upgrade)."""
    if detection is None:
        return "first"
    if reboots > detection.reboots:
        return "reboot"
    was = detection.identity
    descr, oid = facts.get("sysDescr"), facts.get("sysObjectID")
    if (descr is not None and descr != to_text(was.sys_descr)) or (
        oid is not None and oid.lstrip(".") != was.sys_object_id
    ):
        return "changed"
    return None
