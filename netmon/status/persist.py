"""Site states outlive a restart: status, since and cause are written to the state file
(atomically, see view.save) after every change and restored at start, so a restart
neither resolves nor re-fires alerts."""

from __future__ import annotations

from pathlib import Path

from netmon import logging as nlog
from netmon.config import LoadedConfig
from netmon.status import view as status_view
from netmon.status.engine import SiteState, StatusEngine

log = nlog.get("netmon.status")


def state_file(config: LoadedConfig) -> Path | None:
    """status.state_file, relative to the folder of netmon.yaml; None: not kept."""
    name = config.main.status.state_file
    return None if name is None else config.path.parent / name


def restore(path: Path | None) -> dict[str, SiteState]:
    """The saved states; none without a state file (or with an unreadable one)."""
    restored = status_view.load(path) if path is not None else {}
    if restored:
        log.info("site states restored", sites=len(restored), file=str(path))
    return restored


def save(path: Path | None, engine: StatusEngine) -> None:
    """Write the states; a failure is logged, the daemon goes on."""
    if path is None:
        return
    try:
        status_view.save(path, engine)
    except OSError as exc:
        log.error("cannot save site states", file=str(path), error=exc.strerror)
