"""Load netmon.yaml and the site files into a validated Inventory.

Every problem is collected and reported at once, each as
``file:line:col: field.path: message``: an admin fixing a config wants the
whole list, not one error per run.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from netmon.api import Registry
from netmon.config import device_blocks, power_cuts, shards
from netmon.config.contracts import Contract, load_contracts
from netmon.config.devices import DeviceBuilder, radio_peers
from netmon.config.evidence import evidence_warnings
from netmon.config.kinds import default_layers, device_kinds, prepare
from netmon.config.models import LogConfig, MainConfig
from netmon.config.radio_checks import duplicate_macs
from netmon.config.site_models import LinkConfig, SiteFile
from netmon.config.topology import (
    Placed,
    check_links,
    check_uplinks,
    unlinked_uplinks,
    uplink_kinds,
)
from netmon.config.validate import validate
from netmon.config.yamlmarks import (
    ConfigError,
    ConfigErrors,
    LoadBudget,
    MarkedDoc,
    PathKey,
    Position,
    load_marked,
)
from netmon.inventory import Device, Inventory, Site
from netmon.schema import SecretError, SecretRef, read_secret

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class EnvOverrides(BaseSettings):
    """NETMON_* environment variables that override daemon settings of netmon.yaml."""

    model_config = SettingsConfigDict(env_prefix="NETMON_", extra="ignore")
    listen: str | None = None
    log_level: str | None = None
    reload_enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    main: MainConfig
    inventory: Inventory
    path: Path
    #: things that work but look like mistakes (an uplink no link backs)
    warnings: list[ConfigError] = field(default_factory=list)
    #: streaming collectors' sections (e.g. "mqtt"), validated by their models
    sections: dict[str, Any] = field(default_factory=dict)
    #: ISP contracts by id (netmon.config.contracts), their circuits resolved to sites
    contracts: Mapping[str, Contract] = field(default_factory=dict)


def _site_files(main: MainConfig, base: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in main.inventory:
        full = pattern if os.path.isabs(pattern) else str(base / pattern)
        found.extend(Path(p) for p in sorted(glob.glob(full, recursive=True)))
    return list(dict.fromkeys(found))


def load(
    path: str | Path,
    registry: Registry,
    *,
    env: bool = True,
    secrets: bool = True,
) -> LoadedConfig:
    """Load and validate everything; raise ConfigErrors with all problems found.

    ``registry``: the collectors whose sections of netmon.yaml and per-device blocks
    are validated here (``collectors.REGISTRY``, handed over by the CLI).
    ``secrets=False`` checks secret references for shape only (``netmon check
    --no-secrets``, for CI that validates the layout without the keys).
    """
    main_path = Path(path)
    base = main_path.parent
    budget = LoadBudget()  # what all the files of this load may add up to
    main_doc = _read(main_path, str(path), budget)
    errors: list[ConfigError] = []
    sections_of = {spec.section: spec for spec in registry.device_kinds if spec.section}
    main_core, raw_defaults = device_blocks.split_defaults(main_doc, sections_of.keys())
    tops = [k for spec in registry.device_kinds for k in spec.top_keys]
    main_core = device_blocks.without(main_core, [*registry.sections(), *tops])
    main = _guarded(main_doc.file, lambda: validate(MainConfig, main_core, errors))
    layers = default_layers(main_doc, raw_defaults, sections_of, errors)
    kind_warnings: list[ConfigError] = []
    prepared = prepare(main_doc, registry, base, errors, kind_warnings)
    if main is None or errors:  # devices would only repeat what their defaults lack
        raise ConfigErrors(errors)
    if env:
        main = _apply_env(main, main_doc, errors)
    sections = _sections(main_doc, base, errors, secrets, registry)
    kinds = registry.blocks()
    files = _site_files(main, base)
    if not files:
        errors.append(main_doc.error(("inventory",), "no site files match these patterns"))
    docs: list[tuple[MarkedDoc, SiteFile]] = []
    #: (file, site, device) -> collector kind -> its validated keys of the device entry
    blocks: dict[tuple[str, int, int], dict[str, Any]] = {}
    schema_errors = len(errors)
    for file in files:
        try:
            doc = _read(file, _display(file), budget)
            stripped, raw = device_blocks.split(doc, kinds.keys())
            model = _guarded(doc.file, lambda: validate(SiteFile, stripped, errors))  # noqa: B023
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        for (si, di), written in raw.items():
            validated = device_kinds(doc, ("sites", si, "devices", di), written, registry, errors)
            blocks[(doc.file, si, di)] = validated
        if model is not None:
            docs.append((doc, model))
    # a file that failed its own checks contributes no sites; checking references into it
    # would only add phantom "unknown site" errors elsewhere
    complete = len(errors) == schema_errors
    builder = DeviceBuilder(
        main, main_doc, base, registry.kinds(), layers, prepared, secrets=secrets
    )
    inventory, warnings = _build(base, docs, errors, blocks, builder, complete)
    warnings[:0] = kind_warnings
    if not complete:
        message = (
            "references between files (uplinks, links) not checked until the errors above are fixed"
        )
        errors.append(main_doc.error(("inventory",), message, note=True))
    if complete:
        errors.extend(shards.check(main, main_doc, inventory))
    contracts = load_contracts(
        main.contracts, base, inventory, lambda f: _read(f, _display(f), budget), errors, complete
    )
    # not an override of a key: it picks one of the shards (docs/configuration.md)
    wanted = os.environ.get("NETMON_SHARD") if env else None
    if wanted and not errors:
        chosen = shards.pick(main.shards, wanted)
        if chosen is None:
            errors.append(main_doc.error(("shards",), shards.unknown(main.shards, wanted)))
        else:
            inventory = shards.select(inventory, chosen)
            sections = shards.for_shard(sections, chosen)
    if errors:
        raise ConfigErrors(errors)
    warnings.extend(evidence_warnings(main_doc, sections, registry.sections()))
    return LoadedConfig(
        main=main,
        inventory=inventory,
        path=main_path,
        warnings=warnings,
        sections=sections,
        contracts=contracts,
    )


def _read(path: Path, display: str, budget: LoadBudget) -> MarkedDoc:
    """One YAML file, within the bounds of yamlmarks (its size, values, nesting; the
    whole load's ``budget``); a hostile one is an error naming the file, like any other,
    never a RecursionError or a MemoryError."""
    return _guarded(display, lambda: load_marked(path, display, budget))


def _guarded(file: str, step: Callable[[], T]) -> T:
    try:
        return step()
    except RecursionError:
        message = "nested too deeply (or an alias that contains itself)"
        raise ConfigErrors([ConfigError(Position(file, 1, 1), "", message)]) from None


def _sections(
    doc: MarkedDoc, base: Path, errors: list[ConfigError], secrets: bool, registry: Registry
) -> dict[str, Any]:
    """Validate each registered streaming collector's section with its own model."""
    out: dict[str, Any] = {}
    data = doc.data if isinstance(doc.data, dict) else {}
    for name, spec in registry.sections().items():
        if data.get(name) is None:
            continue
        model = validate(spec.model, doc, errors, (name,))
        if model is None:
            continue
        for path, ref in _secret_refs(model, (name,)):
            if secrets:
                try:
                    read_secret(ref, base)
                except SecretError as exc:
                    errors.append(doc.error(path, str(exc)))
                except UnicodeDecodeError:
                    errors.append(doc.error(path, f"{ref.describe()}: not UTF-8 text"))
        out[name] = model
    return out


def _secret_refs(value: Any, path: PathKey) -> Iterator[tuple[PathKey, SecretRef]]:
    """Every SecretRef inside a model, with its path (to resolve and to point at)."""
    if isinstance(value, SecretRef):
        yield path, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_refs(getattr(value, name), (*path, name))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _secret_refs(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_refs(item, (*path, str(key)))


def _utf8(ref: SecretRef, base: Path) -> bool:
    """Whether the secret can be read as text (the check names the file that cannot)."""
    try:
        read_secret(ref, base)
    except UnicodeDecodeError:
        return False
    except SecretError:
        return True  # reported on its own
    return True


def _display(file: Path) -> str:
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def _apply_env(main: MainConfig, doc: MarkedDoc, errors: list[ConfigError]) -> MainConfig:
    """NETMON_* overrides, validated like the keys they replace (a bad value is a config
    error naming the variable, never a crash or a silently ignored value)."""
    try:
        env = EnvOverrides()
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            name = f"NETMON_{str(err['loc'][0]).upper()}"
            errors.append(doc.error((), f"environment {name}: {err['msg']}"))
        return main
    # the strings are checked by the models of the keys they replace
    checks = (
        ("NETMON_LISTEN", env.listen, MainConfig, "listen"),
        ("NETMON_LOG_LEVEL", env.log_level, LogConfig, "level"),
    )
    for name, value, model, key in checks:
        if not value:
            continue
        try:
            model.model_validate({key: value})
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                errors.append(doc.error((), f"environment {name}: {err['msg']}"))
            return main
    update: dict[str, Any] = {}
    if env.listen:
        update["listen"] = env.listen
    if env.log_level:
        update["log"] = main.log.model_copy(update={"level": env.log_level})
    if env.reload_enabled is not None:
        update["http"] = main.http.model_copy(update={"reload_enabled": env.reload_enabled})
    return main.model_copy(update=update) if update else main


def _build(
    base: Path,
    docs: Iterable[tuple[MarkedDoc, SiteFile]],
    errors: list[ConfigError],
    blocks: dict[tuple[str, int, int], dict[str, Any]],
    builder: DeviceBuilder,
    complete: bool,
) -> tuple[Inventory, list[ConfigError]]:
    """Sites, links and devices; returns the inventory and the warnings."""
    placed: dict[str, Placed] = {}
    kabupaten: dict[str, tuple[str, str]] = {}  # site -> (kabupaten, timezone)
    cuts: dict[str, power_cuts.Windows] = {}  # site -> its declared power cuts
    raw_links: list[tuple[MarkedDoc, PathKey, LinkConfig]] = []
    for doc, model in docs:
        for si, site in enumerate(model.sites):
            here = Placed(site, doc, ("sites", si))
            if site.id in placed:
                first = placed[site.id]
                where = first.doc.position(first.path)
                errors.append(
                    here.error(("id",), f"duplicate site id {site.id!r} (first at {where})")
                )
                continue
            placed[site.id] = here
            kabupaten[site.id] = (model.kabupaten, model.timezone)
        windows, problems = power_cuts.resolve(
            model.power_cuts, model.timezone, {s.id: s.kecamatan or "" for s in model.sites}
        )
        errors.extend(doc.error(p.path, p.message) for p in problems)
        for sid, declared in windows.items():
            cuts.setdefault(sid, declared)  # a duplicate site id is an error already
        raw_links.extend((doc, ("links", li), link) for li, link in enumerate(model.links))
    # references into a file that failed its own checks would only add phantom errors
    checked = errors if complete else []
    links = check_links(raw_links, placed, checked)
    builder.peers = radio_peers(
        links.values(), {d.id: d for p in placed.values() for d in p.site.devices}
    )
    errors.extend(duplicate_macs(placed))
    check_uplinks(placed, checked)
    kinds = uplink_kinds(placed, links)
    warnings = unlinked_uplinks(placed, links) if complete else []
    devices: dict[str, Device] = {}
    first_device: dict[str, Position] = {}
    sites: dict[str, Site] = {}
    for sid, here in placed.items():
        ids: list[str] = []
        for di, dev in enumerate(here.site.devices):
            dpath: PathKey = (*here.path, "devices", di)
            if dev.id in first_device:
                message = f"duplicate device id {dev.id!r} (first at {first_device[dev.id]})"
                errors.append(here.error(("devices", di, "id"), message))
                continue
            first_device[dev.id] = here.doc.position(dpath)
            try:
                at = here.path[1]
                own = blocks.get((here.doc.file, at, di), {}) if isinstance(at, int) else {}
                facts = (sid, here.site.network.value, kinds[sid])
                devices[dev.id] = builder.device(dev, facts, here.doc, dpath, own)
            except UnicodeDecodeError:  # read_secret raises it for a file that is not UTF-8
                bad = [r.describe() for _, r in _secret_refs(dev, ()) if not _utf8(r, base)]
                which = ", ".join(bad) if bad else "a default secret (defaults)"
                errors.append(here.error(("devices", di), f"{which}: not UTF-8 text"))
                continue
            ids.append(dev.id)
        sites[sid] = _site(here, kabupaten[sid], kinds[sid], tuple(ids), cuts.get(sid, ()))
    errors.extend(builder.errors)
    files = tuple(dict.fromkeys(d.file for d, _ in docs))
    return Inventory(sites=sites, devices=devices, links=links, files=files), warnings


def _site(
    here: Placed,
    kab: tuple[str, str],
    uplink_kind: str,
    devices: tuple[str, ...],
    declared: power_cuts.Windows,
) -> Site:
    site = here.site
    return Site(
        id=site.id,
        name=site.name,
        kind=site.kind.value,
        kabupaten=kab[0],
        kecamatan=site.kecamatan or "",
        network=site.network.value,
        timezone=kab[1],
        lat=site.location.lat if site.location else None,
        lon=site.location.lon if site.location else None,
        uplinks=site.parents,
        uplink_kind=uplink_kind,
        maintenance=site.maintenance,
        contact_name=site.contact.name if site.contact else "",
        contact_phone=(site.contact.phone or "") if site.contact else "",
        isp_name=site.isp.name if site.isp else "",
        isp_circuit=(site.isp.circuit_id or "") if site.isp else "",
        devices=devices,
        source=here.doc.file,
        power_cuts=declared,
    )
