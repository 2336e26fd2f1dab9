"""Where netmon meets its collectors: the one module of netmon that imports them.

The CLI hands the explicit list (``collectors.REGISTRY``) to the daemon, the config
loader and the reference generators; the SNMP profiles shipped with netmon are read
here too. Imported lazily by the commands: ``netmon --help`` loads no collector.
"""

from __future__ import annotations

from collectors import REGISTRY
from collectors.snmp import V3User
from collectors.snmp.oneshot import poll_once
from collectors.snmp.profile import load_builtin


class ProfileNames(dict[str, str]):
    """Valid profile name -> description; ``broken`` has each broken file's error."""

    broken: dict[str, str]


def profiles() -> ProfileNames:
    """The SNMP profiles shipped with netmon, valid and broken."""
    loaded = load_builtin()
    names = ProfileNames({name: p.description for name, p in loaded.valid.items()})
    names.broken = dict(loaded.broken)
    return names


__all__ = ["REGISTRY", "ProfileNames", "V3User", "poll_once", "profiles"]
