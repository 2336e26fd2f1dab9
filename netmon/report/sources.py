"""Where a report's inputs come from: the loaded config (sites, contracts), the outage
journal (closed outages, netmon.status.journal) and the state file (outages still open
when the report is made: they end, for the report, at the report's time)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from netmon.config import LoadedConfig
from netmon.report import figures as fig
from netmon.report.assemble import SiteInfo, open_outage
from netmon.status import journal
from netmon.status import view as status_view
from netmon.status.persist import state_file

#: a report reads the journal this far around the month (zones differ by hours)
MARGIN = 2 * 86400.0


def sites(config: LoadedConfig) -> dict[str, SiteInfo]:
    return {
        s.id: SiteInfo(s.id, s.name, s.kind, s.kabupaten, s.kecamatan, s.timezone)
        for s in config.inventory.sites.values()
    }


def contracts(config: LoadedConfig) -> Mapping[str, fig.ContractLike]:
    return config.contracts


def journal_path(config: LoadedConfig, given: str | None) -> Path | None:
    return Path(given) if given else journal.journal_file(config)


def outages(config: LoadedConfig, path: Path | None, now: float) -> list[fig.OutageLike]:
    """Closed outages from the journal plus the open ones from the state file (all of
    them: the figures clip each to its month)."""
    found: list[fig.OutageLike] = []
    if path is not None:
        found.extend(journal.read(path, 0.0, now + MARGIN))
    saved = state_file(config)
    states = status_view.load(saved) if saved is not None else {}
    inventory = config.inventory.sites
    for sid, st in states.items():
        if not st.failed or sid not in inventory:
            continue
        found.append(open_outage(inventory[sid], st, now))
    return found
