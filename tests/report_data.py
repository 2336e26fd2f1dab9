"""What the report tests write by hand: the zones, November's length, and one journal
line per outage in the journal's own format (netmon/status/journal.py)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

WITA = timezone(timedelta(hours=8))
WIB = timezone(timedelta(hours=7))
NOVEMBER = 30 * 86400  # 2,592,000 s


def record(site: str, start: datetime, end: datetime, cause: str = "link", **flags: bool) -> str:
    """One closed outage as a journal line (the site its own root; flags default false)."""
    rec: dict[str, Any] = {
        "site": site,
        "root": site,
        "cause": cause,
        "link": "fo-x-1" if cause == "link" else "",
        "start": start.timestamp(),
        "end": end.timestamp(),
        "state": "down",
        "maintenance": False,
        "power_cut": False,
        "stale": False,
    }
    rec.update(flags)
    return json.dumps(rec) + "\n"
