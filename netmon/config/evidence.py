"""Checks that the configured telemetry feeds the evidence the status engine reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netmon.api import POWER_EVIDENCE, StreamSpec
from netmon.config.yamlmarks import ConfigError, MarkedDoc


def evidence_warnings(
    doc: MarkedDoc, sections: dict[str, Any], specs: Mapping[str, StreamSpec]
) -> list[ConfigError]:
    """Telemetry is configured, but none of it feeds the power cause: say so once.
    ``specs``: the streaming collectors by section (the registry's)."""
    telemetry = {name: specs[name].provides for name in sections if specs[name].provides}
    if not telemetry:
        return []
    provided: set[str] = set()
    for name, provides in telemetry.items():
        if provides is not None:
            provided |= provides(sections[name])
    if provided & POWER_EVIDENCE:
        return []
    names = " or ".join(sorted(POWER_EVIDENCE))
    message = (
        f"no mapping yields {names}: a site that goes dark on a flat battery or a "
        "grid cut will be reported with cause device, never power"
    )
    return [doc.error((next(iter(telemetry)),), message)]
