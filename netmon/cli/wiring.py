"""Where netmon meets its collectors: the one module of netmon that imports them.

The CLI hands the explicit list (``collectors.REGISTRY``) to the daemon, the config
loader and the reference generators; the SNMP profiles shipped with netmon are read
here too. Imported lazily by the commands: ``netmon --help`` loads no collector.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from collectors import REGISTRY
from collectors.snmp import V3User
from collectors.snmp.catalogue import catalogue
from collectors.snmp.oneshot import poll_once
from collectors.snmp.profile import Profile, ProfileError
from collectors.snmp.tooling.check import check as check_profiles
from collectors.snmp.tooling.lldp_check import Status as LldpStatus
from collectors.snmp.tooling.lldp_check import lldp_check
from collectors.snmp.tooling.new import new_profile, profile_name
from collectors.snmp.tooling.recording import RecordingError, read_values
from collectors.snmp.tooling.replay import find_profiles, replay


class ProfileNames(dict[str, str]):
    """Valid profile name -> description; ``broken`` has each broken file's error."""

    broken: dict[str, str]
    #: name -> the profile itself
    specs: dict[str, Profile]


def profiles(dirs: Sequence[str] = ()) -> ProfileNames:
    """The SNMP profiles of these folders (first wins) over the shipped ones, valid and
    broken."""
    loaded, _notes = catalogue([(Path(d), d) for d in dirs])
    names = ProfileNames({name: p.description for name, p in loaded.valid.items()})
    names.broken = dict(loaded.broken)
    names.specs = loaded.valid
    return names


__all__ = [
    "REGISTRY",
    "LldpStatus",
    "ProfileError",
    "ProfileNames",
    "RecordingError",
    "V3User",
    "check_profiles",
    "find_profiles",
    "lldp_check",
    "new_profile",
    "poll_once",
    "profile_name",
    "profiles",
    "read_values",
    "replay",
]
