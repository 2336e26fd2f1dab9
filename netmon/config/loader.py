"""Load netmon.yaml and the site files into a validated Inventory.

Every problem is collected and reported at once, each as
``file:line:col: field.path: message``: an admin fixing a config wants the
whole list, not one error per run.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from netmon.api import Secret, SnmpParams, V3User
from netmon.config.models import (
    DeviceConfig,
    LinkConfig,
    MainConfig,
    SecretRef,
    SiteFile,
    SnmpDefaults,
    V3UserConfig,
)
from netmon.config.yamlmarks import (
    ConfigError,
    ConfigErrors,
    MarkedDoc,
    PathKey,
    Position,
    load_marked,
)
from netmon.inventory import Device, Inventory, Link, LinkEnd, Site

M = TypeVar("M", bound=BaseModel)


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


def _validate(model: type[M], doc: MarkedDoc, errors: list[ConfigError]) -> M | None:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc: PathKey = tuple(p for p in err["loc"] if isinstance(p, str | int))
            # pydantic puts union/validator tags into loc; keep the data path only
            loc = _data_path(doc.data, loc)
            is_key = err["type"] == "extra_forbidden"
            message = err["msg"].removeprefix("Value error, ")
            if is_key:
                message = f"unknown key {loc[-1]!r}" if loc else message
            errors.append(
                ConfigError(doc.position(loc, key=is_key), ".".join(map(str, loc)), message)
            )
        return None


def _data_path(data: Any, loc: PathKey) -> PathKey:
    """Drop loc entries that are not keys of the data (pydantic's union tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if _has(node, part):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and out[-1:] != [part]:
            # a missing required key: name it, point at the parent
            if isinstance(part, str) and not part.startswith(("function-", "literal[")):
                out.append(part)
            break
    return tuple(out)


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _resolve(ref: SecretRef, base: Path, where: Position, path: str) -> Secret | ConfigError:
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if value is None:
            return ConfigError(where, path, f"environment variable {ref.env} is not set")
    else:
        assert ref.file is not None
        secret_path = Path(ref.file)
        if not secret_path.is_absolute():
            secret_path = base / secret_path
        try:
            value = secret_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            return ConfigError(where, path, f"cannot read secret file {ref.file}: {exc.strerror}")
    if not value:
        return ConfigError(where, path, f"secret from {ref.describe()} is empty")
    return Secret(value)


class _Builder:
    """Turns validated models into an Inventory, collecting cross-file errors."""

    def __init__(
        self, main: MainConfig, main_doc: MarkedDoc, base: Path, profiles: Collection[str]
    ) -> None:
        self.main = main
        self.main_doc = main_doc
        self.base = base
        self.profiles = profiles
        self.errors: list[ConfigError] = []

    def secret(self, ref: SecretRef | None, doc: MarkedDoc, path: PathKey) -> Secret | None:
        if ref is None:
            return None
        got = _resolve(ref, self.base, doc.position(path), ".".join(map(str, path)))
        if isinstance(got, ConfigError):
            self.errors.append(got)
            return None
        return got

    def user(self, cfg: V3UserConfig | None, doc: MarkedDoc, path: PathKey) -> V3User | None:
        if cfg is None:
            return None
        return V3User(
            name=cfg.name,
            auth_protocol=cfg.auth.protocol.value if cfg.auth else None,
            auth_key=self.secret(cfg.auth.key, doc, (*path, "auth", "key")) if cfg.auth else None,
            priv_protocol=cfg.priv.protocol.value if cfg.priv else None,
            priv_key=self.secret(cfg.priv.key, doc, (*path, "priv", "key")) if cfg.priv else None,
        )

    def device(self, dev: DeviceConfig, site: str, doc: MarkedDoc, path: PathKey) -> Device:
        d: SnmpDefaults = self.main.defaults.snmp
        o = dev.snmp
        version = o.version or d.version
        # credentials: a device override wins, else the defaults
        if o.community is not None:
            community = self.secret(o.community, doc, (*path, "snmp", "community"))
        elif version != "3":
            community = self.secret(d.community, self.main_doc, ("defaults", "snmp", "community"))
        else:
            community = None
        if o.user is not None:
            user = self.user(o.user, doc, (*path, "snmp", "user"))
        elif version == "3":
            user = self.user(d.user, self.main_doc, ("defaults", "snmp", "user"))
        else:
            user = None
        if version == "3" and user is None and o.user is None and d.user is None:
            self.errors.append(
                ConfigError(doc.position(path), ".".join(map(str, path)), "SNMPv3 needs a user")
            )
        if version != "3" and community is None and o.community is None and d.community is None:
            self.errors.append(
                ConfigError(
                    doc.position(path),
                    ".".join(map(str, path)),
                    f"SNMP v{version} needs a community (here or in defaults.snmp)",
                )
            )
        for i, profile in enumerate(dev.profiles):
            if profile not in self.profiles:
                known = ", ".join(sorted(self.profiles))
                self.errors.append(
                    ConfigError(
                        doc.position((*path, "profiles", i)),
                        ".".join(map(str, (*path, "profiles", i))),
                        f"unknown profile {profile!r} (known: {known})",
                    )
                )
        interval = dev.interval or self.main.defaults.interval
        return Device(
            id=dev.id,
            site=site,
            interval=interval,
            deadline=min(dev.deadline or self.main.defaults.deadline, interval),
            snmp=SnmpParams(
                address=dev.address,
                port=dev.port or o.port or d.port,
                version=version,
                community=community,
                user=user,
                timeout=o.timeout or d.timeout,
                retries=o.retries if o.retries is not None else d.retries,
                max_repetitions=o.max_repetitions or d.max_repetitions,
                profiles=tuple(dev.profiles),
                interval=interval,
                max_label_values=self.main.defaults.max_label_values,
            ),
        )


def _err(doc: MarkedDoc, path: PathKey, message: str) -> ConfigError:
    return ConfigError(doc.position(path), ".".join(map(str, path)), message)


def _site_files(main: MainConfig, base: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in main.inventory:
        full = pattern if os.path.isabs(pattern) else str(base / pattern)
        found.extend(Path(p) for p in sorted(glob.glob(full, recursive=True)))
    return list(dict.fromkeys(found))


def load(path: str | Path, profiles: Collection[str], *, env: bool = True) -> LoadedConfig:
    """Load and validate everything; raise ConfigErrors with all problems found."""
    main_path = Path(path)
    base = main_path.parent
    main_doc = load_marked(main_path, str(path))
    errors: list[ConfigError] = []
    main = _validate(MainConfig, main_doc, errors)
    if main is None:
        raise ConfigErrors(errors)
    if env:
        main = _apply_env(main)
    files = _site_files(main, base)
    if not files:
        errors.append(_err(main_doc, ("inventory",), "no site files match these patterns"))
    docs: list[tuple[MarkedDoc, SiteFile]] = []
    schema_errors = len(errors)
    for file in files:
        try:
            doc = load_marked(file, _display(file))
        except ConfigErrors as exc:
            errors.extend(exc.errors)
            continue
        model = _validate(SiteFile, doc, errors)
        if model is not None:
            docs.append((doc, model))
    # a file that failed its own checks contributes no sites; checking references into it
    # would only add phantom "unknown site" errors elsewhere
    complete = len(errors) == schema_errors
    inventory = _build(main, main_doc, base, docs, profiles, errors, complete=complete)
    if not complete:
        errors.append(
            ConfigError(
                main_doc.position(("inventory",)),
                "inventory",
                "references between files (uplinks, links) not checked until the errors "
                "above are fixed",
                note=True,
            )
        )
    if errors:
        raise ConfigErrors(errors)
    return LoadedConfig(main=main, inventory=inventory, path=main_path)


def _display(file: Path) -> str:
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def _apply_env(main: MainConfig) -> MainConfig:
    env = EnvOverrides()
    update: dict[str, Any] = {}
    if env.listen:
        update["listen"] = env.listen
    if env.log_level:
        update["log"] = main.log.model_copy(update={"level": env.log_level})
    if env.reload_enabled is not None:
        update["http"] = main.http.model_copy(update={"reload_enabled": env.reload_enabled})
    return main.model_copy(update=update) if update else main


def _build(
    main: MainConfig,
    main_doc: MarkedDoc,
    base: Path,
    docs: Iterable[tuple[MarkedDoc, SiteFile]],
    profiles: Collection[str],
    errors: list[ConfigError],
    *,
    complete: bool = True,
) -> Inventory:
    builder = _Builder(main, main_doc, base, profiles)
    sites: dict[str, Site] = {}
    devices: dict[str, Device] = {}
    site_where: dict[str, tuple[MarkedDoc, PathKey]] = {}
    device_where: dict[str, Position] = {}
    raw_links: list[tuple[MarkedDoc, PathKey, LinkConfig]] = []
    for doc, model in docs:
        for si, site in enumerate(model.sites):
            spath: PathKey = ("sites", si)
            if site.id in sites:
                first_doc, first_path = site_where[site.id]
                first = first_doc.position(first_path)
                errors.append(
                    _err(doc, (*spath, "id"), f"duplicate site id {site.id!r} (first at {first})")
                )
                continue
            site_where[site.id] = (doc, spath)
            dev_ids: list[str] = []
            for di, dev in enumerate(site.devices):
                dpath: PathKey = (*spath, "devices", di)
                if dev.id in device_where:
                    first = device_where[dev.id]
                    errors.append(
                        _err(
                            doc,
                            (*dpath, "id"),
                            f"duplicate device id {dev.id!r} (first at {first})",
                        )
                    )
                    continue
                device_where[dev.id] = doc.position(dpath)
                devices[dev.id] = builder.device(dev, site.id, doc, dpath)
                dev_ids.append(dev.id)
            sites[site.id] = Site(
                id=site.id,
                name=site.name,
                kind=site.kind.value,
                kabupaten=model.kabupaten,
                kecamatan=site.kecamatan or "",
                network=site.network.value,
                timezone=model.timezone,
                lat=site.location.lat if site.location else None,
                lon=site.location.lon if site.location else None,
                uplinks=site.parents,
                uplink_kind="",
                maintenance=site.maintenance,
                contact_name=site.contact.name if site.contact else "",
                contact_phone=(site.contact.phone or "") if site.contact else "",
                isp_name=site.isp.name if site.isp else "",
                isp_circuit=(site.isp.circuit_id or "") if site.isp else "",
                devices=tuple(dev_ids),
                source=doc.file,
            )
        for li, link in enumerate(model.links):
            raw_links.append((doc, ("links", li), link))
    errors.extend(builder.errors)
    links = _links(raw_links, sites, errors if complete else [])
    _check_uplinks(sites, site_where, errors if complete else [])
    sites = _with_uplink_kinds(sites, links)
    return Inventory(
        sites=sites, devices=devices, links=links, files=tuple(d.file for d, _ in docs)
    )


def _links(
    raw: list[tuple[MarkedDoc, PathKey, LinkConfig]],
    sites: dict[str, Site],
    errors: list[ConfigError],
) -> dict[str, Link]:
    links: dict[str, Link] = {}
    for doc, path, link in raw:
        if link.id in links:
            errors.append(_err(doc, (*path, "id"), f"duplicate link id {link.id!r}"))
            continue
        ends: list[LinkEnd] = []
        for side in ("a", "b"):
            site, device, ifname = LinkConfig.split(getattr(link, side))
            if site not in sites:
                errors.append(_err(doc, (*path, side), f"unknown site {site!r}"))
            elif device not in sites[site].devices:
                errors.append(_err(doc, (*path, side), f"site {site!r} has no device {device!r}"))
            ends.append(LinkEnd(site, device, ifname))
        links[link.id] = Link(link.id, link.kind.value, ends[0], ends[1])
    return links


def _check_uplinks(
    sites: dict[str, Site],
    where: dict[str, tuple[MarkedDoc, PathKey]],
    errors: list[ConfigError],
) -> None:
    for site in sites.values():
        doc, spath = where[site.id]
        for parent in site.uplinks:
            if parent == site.id:
                errors.append(_err(doc, (*spath, "uplinks"), "a site cannot be its own uplink"))
            elif parent not in sites:
                errors.append(_err(doc, (*spath, "uplinks"), f"unknown uplink site {parent!r}"))
    # cycles: iterative DFS with colours, report each cycle once at its first site
    state: dict[str, int] = {}
    for start in sites:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        trail: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                trail.append(node)
            parents = [p for p in sites[node].uplinks if p in sites and p != node]
            if i < len(parents):
                stack.append((node, i + 1))
                nxt = parents[i]
                if state.get(nxt) == 1:
                    cycle = [*trail[trail.index(nxt) :], nxt]
                    doc, spath = where[node]
                    errors.append(
                        _err(doc, (*spath, "uplinks"), "uplink cycle: " + " -> ".join(cycle))
                    )
                elif not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                trail.pop()


def _with_uplink_kinds(sites: dict[str, Site], links: dict[str, Link]) -> dict[str, Site]:
    """uplink_kind: the kind of the link joining a site to its first uplink."""
    kinds: dict[tuple[str, str], str] = {}
    for link in links.values():
        kinds[(link.a.site, link.b.site)] = link.kind
        kinds[(link.b.site, link.a.site)] = link.kind
    out: dict[str, Site] = {}
    for sid, site in sites.items():
        kind = kinds.get((sid, site.uplinks[0]), "") if site.uplinks else ""
        out[sid] = replace(site, uplink_kind=kind)
    return out
