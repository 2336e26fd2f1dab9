"""The profiles a load polls with: the admins' own folders (``profiles_dirs:`` in
netmon.yaml), searched before the ones shipped with netmon. A profile of an earlier
folder replaces one of the same name in a later folder or among the built-in ones, and
``netmon check`` says so. A broken file stops only the devices that use it.

Read once per load (:func:`prepare`, the SNMP kind's ``prepare``), so a reload picks up an
edited profile; the devices whose profiles changed restart their poll, the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pydantic import Field

from collectors.snmp.profile import Profile, load_builtin, load_dir
from netmon.api import BlockPath, Prepared, Strict

BUILTIN = "built-in"


class SnmpTop(Strict):
    """SNMP settings of netmon.yaml's top level."""

    profiles_dirs: list[str] = Field(default_factory=list)
    """folders of your own SNMP profiles (`*.yaml`, relative to this file's folder), searched
    in order before the built-in ones; a profile here replaces a built-in one of the same
    name (netmon check says so). Keep them outside the installed package: an upgrade
    replaces that"""


@dataclass(slots=True)
class Catalogue:
    """Profile name -> profile, where each came from, and each broken file's error."""

    valid: dict[str, Profile] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def user_profiles(self) -> list[Profile]:
        return [p for name, p in self.valid.items() if self.origin.get(name) != BUILTIN]


def catalogue(folders: list[tuple[Path, str]]) -> tuple[Catalogue, list[tuple[int, str]]]:
    """The profiles of ``folders`` ((path, as shown), searched first to last) over the
    built-in ones; with (folder index, warning) for each profile a folder hides."""
    out = Catalogue()
    notes: list[tuple[int, str]] = []
    index = {shown: i for i, (_path, shown) in enumerate(folders)}
    sources = [(load_dir(path, shown), shown) for path, shown in folders]
    for loaded, shown in [*sources, (load_builtin(), BUILTIN)]:
        for name in sorted({*loaded.valid, *loaded.broken}):
            first = out.origin.get(name)
            if first is not None:  # an earlier folder has it: it wins
                hidden = "the built-in one" if shown == BUILTIN else f"the one in {shown}"
                notes.append((index[first], f"profile {name!r} of {first} replaces {hidden}"))
                continue
            out.origin[name] = shown
            if name in loaded.valid:
                out.valid[name] = loaded.valid[name]
            else:
                out.broken[name] = loaded.broken[name]
    return out, notes


@cache
def catalogue_of_builtin() -> Catalogue:
    """The built-in profiles alone (a build outside a load: tools, tests)."""
    return catalogue([])[0]


def prepare(top: SnmpTop | None, base: Path) -> Prepared:
    """The SNMP kind's ``prepare``: the catalogue of this load."""
    dirs = top.profiles_dirs if top is not None else []
    errors: list[tuple[BlockPath, str]] = []
    folders: list[tuple[Path, str]] = []
    for i, written in enumerate(dirs):
        path = Path(written) if Path(written).is_absolute() else base / written
        if not path.is_dir():
            errors.append((("profiles_dirs", i), f"not a folder: {written}"))
            continue
        folders.append((path, written))
    found, notes = catalogue(folders)
    by_folder = {shown: dirs.index(shown) for _path, shown in folders}
    warnings: list[tuple[BlockPath, str]] = [
        (("profiles_dirs", by_folder[folders[i][1]]), note) for i, note in notes
    ]
    return Prepared(found, errors, warnings)
