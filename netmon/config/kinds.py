"""Each collector kind's parts of the config: its keys of a device entry, its sections of
``defaults:``, its top-level keys of netmon.yaml and what it prepares from them once per
load (netmon.api.DeviceKind). The core validates each part with the kind's own model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from netmon.api import DeviceKind, Registry
from netmon.config.validate import validate
from netmon.config.yamlmarks import ConfigError, MarkedDoc, PathKey


def device_kinds(
    doc: MarkedDoc,
    path: PathKey,
    written: Mapping[str, Any],
    registry: Registry,
    errors: list[ConfigError],
) -> dict[str, Any]:
    """A device entry's keys of each collector kind, validated by the kind's model:
    a block kind where its block is written, a kind of keys always (absent keys take
    their defaults)."""
    out: dict[str, Any] = {}
    for spec in registry.device_kinds:
        if spec.key is not None:
            if spec.key in written:
                found = validate(spec.model, doc, errors, (*path, spec.key))
                if found is not None:
                    out[spec.kind] = found
            continue
        mine = {k: v for k, v in written.items() if k in spec.keys}
        found = validate(spec.model, doc, errors, path, mine)
        if found is not None:
            out[spec.kind] = found
    return out


def default_layers(
    doc: MarkedDoc,
    raw: Mapping[PathKey, Any],
    kinds: Mapping[str, DeviceKind],
    errors: list[ConfigError],
) -> dict[tuple[str, str], tuple[Any, PathKey]]:
    """Each kind's ``defaults.<section>`` (its model's defaults where not written) and
    ``defaults.by_uplink_kind.<kind>.<section>`` and ``defaults.by_network.<network>.
    <section>``, validated by the kind's models; keyed by (kind, "by_network:intranet")."""
    out: dict[tuple[str, str], tuple[Any, PathKey]] = {}
    for section, spec in kinds.items():
        if spec.defaults is not None:
            path: PathKey = ("defaults", section)
            found = validate(spec.defaults, doc, errors, path) if path in raw else spec.defaults()
            if found is not None:
                out[(spec.kind, "")] = (found, path)
    for path in raw:
        if len(path) != 4:
            continue
        spec = kinds[str(path[3])]
        model = spec.overrides or spec.defaults
        if model is not None:
            found = validate(model, doc, errors, path)
            if found is not None:
                out[(spec.kind, f"{path[1]}:{path[2]}")] = (found, path)
    return out


def prepare(
    doc: MarkedDoc,
    registry: Registry,
    base: Path,
    errors: list[ConfigError],
    warnings: list[ConfigError],
) -> dict[str, Any]:
    """Each kind's top-level keys of netmon.yaml, validated by its ``top`` model, and what
    its ``prepare`` makes of them for this load (by collector kind)."""
    data = doc.data if isinstance(doc.data, dict) else {}
    out: dict[str, Any] = {}
    for spec in registry.device_kinds:
        if spec.top is None and spec.prepare is None:
            continue
        settings = None
        if spec.top is not None:
            mine = {k: v for k, v in data.items() if k in spec.top_keys}
            settings = validate(spec.top, doc, errors, (), mine)
            if settings is None:
                continue
        if spec.prepare is None:
            out[spec.kind] = settings
            continue
        made = spec.prepare(settings, base)
        errors.extend(doc.error(path, message) for path, message in made.errors)
        warnings.extend(doc.error(path, message) for path, message in made.warnings)
        out[spec.kind] = made.value
    return out
