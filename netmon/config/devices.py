"""A device's effective settings: device > defaults for its uplink kind > defaults.

A VSAT site needs a longer interval, deadline and timeout than a fibre POP;
``defaults.by_uplink_kind`` says so once instead of on every device. Secrets
are resolved here (or, for ``netmon check --no-secrets``, only checked for
shape), and every problem becomes a ConfigError with its position.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from netmon.api import (
    BlockContext,
    BlockError,
    BlockPath,
    DeviceKind,
    IcmpParams,
    Secret,
    SnmpParams,
    V3User,
)
from netmon.config.models import (
    KindDefaults,
    LinkKind,
    MainConfig,
    SnmpOverrides,
    V3UserConfig,
)
from netmon.config.site_models import DeviceConfig, IcmpConfig
from netmon.config.yamlmarks import ConfigError, MarkedDoc, PathKey, Position, dotted
from netmon.inventory import Device
from netmon.schema import SecretError, SecretRef, read_secret

#: stands in for every secret when secrets are not resolved (check --no-secrets)
UNRESOLVED = Secret("")


def resolve_secret(ref: SecretRef, base: Path, where: Position, path: str) -> Secret | ConfigError:
    try:
        return Secret(read_secret(ref, base))
    except SecretError as exc:
        return ConfigError(where, path, str(exc))


class DeviceBuilder:
    """Builds a device's SnmpParams, collecting errors instead of stopping at the first."""

    def __init__(
        self,
        main: MainConfig,
        main_doc: MarkedDoc,
        base: Path,
        profiles: Collection[str],
        kinds: Mapping[str, DeviceKind],
        *,
        secrets: bool = True,
    ) -> None:
        """``kinds``: the registry's per-device collector blocks, by key."""
        self.main = main
        self.kinds = kinds
        self.main_doc = main_doc
        self.base = base
        self.profiles = profiles
        self.secrets = secrets
        self.errors: list[ConfigError] = []

    def error(self, doc: MarkedDoc, path: PathKey, message: str) -> None:
        self.errors.append(doc.error(path, message))

    def secret(self, ref: SecretRef | None, doc: MarkedDoc, path: PathKey) -> Secret | None:
        if ref is None:
            return None
        if not self.secrets:
            return UNRESOLVED
        got = resolve_secret(ref, self.base, doc.position(path), dotted(path))
        if isinstance(got, ConfigError):
            self.errors.append(got)
            return None
        return got

    def user(self, cfg: V3UserConfig | None, doc: MarkedDoc, path: PathKey) -> V3User | None:
        if cfg is None:
            return None
        auth, priv = cfg.auth, cfg.priv
        return V3User(
            name=cfg.name,
            auth_protocol=auth.protocol.value if auth else None,
            auth_key=self.secret(auth.key, doc, (*path, "auth", "key")) if auth else None,
            priv_protocol=priv.protocol.value if priv else None,
            priv_key=self.secret(priv.key, doc, (*path, "priv", "key")) if priv else None,
        )

    def device(
        self,
        dev: DeviceConfig,
        site: str,
        uplink_kind: str,
        doc: MarkedDoc,
        path: PathKey,
        blocks: Mapping[str, Any] | None = None,
    ) -> Device:
        """``blocks``: the device's blocks of collector kinds with their own settings."""
        blocks = blocks or {}
        if not dev.profiles and dev.icmp is False and not blocks:
            others = "".join(f", {key}" for key in sorted(self.kinds))
            self.error(doc, path, f"a device needs SNMP profiles or icmp{others} (or more)")
        defaults = self.main.defaults
        d = defaults.snmp
        kind = (defaults.by_uplink_kind.get(LinkKind(uplink_kind)) if uplink_kind else None) or (
            KindDefaults()
        )
        k: SnmpOverrides = kind.snmp
        o: SnmpOverrides = dev.snmp
        version = o.version or k.version or d.version
        # credentials: the device's own, else its uplink kind's, else the defaults
        where: tuple[SecretRef | None, V3UserConfig | None, MarkedDoc, PathKey]
        if o.community is not None or o.user is not None:
            where = (o.community, o.user, doc, (*path, "snmp"))
        elif k.community is not None or k.user is not None:
            kpath: PathKey = ("defaults", "by_uplink_kind", uplink_kind, "snmp")
            where = (k.community, k.user, self.main_doc, kpath)
        else:
            where = (d.community, d.user, self.main_doc, ("defaults", "snmp"))
        community_ref, user_ref, cdoc, cpath = where
        community = None
        user = None
        # a device that is only probed (no profiles) needs no SNMP credentials
        if dev.profiles and version == "3":
            user = self.user(user_ref, cdoc, (*cpath, "user"))
            if user_ref is None:
                self.error(doc, path, "SNMPv3 needs a user (here or in defaults.snmp)")
        elif dev.profiles:
            community = self.secret(community_ref, cdoc, (*cpath, "community"))
            if community_ref is None:
                message = f"SNMP v{version} needs a community (here or in defaults.snmp)"
                self.error(doc, path, message)
        known = ", ".join(sorted(self.profiles))
        broken: dict[str, str] = getattr(self.profiles, "broken", {})
        for i, profile in enumerate(dev.profiles):
            if profile in broken:
                first = broken[profile].splitlines()[0]
                self.error(doc, (*path, "profiles", i), f"profile {profile!r} is broken: {first}")
            elif profile not in self.profiles:
                message = f"unknown profile {profile!r} (known: {known})"
                self.error(doc, (*path, "profiles", i), message)
        interval = dev.interval or kind.interval or defaults.interval
        deadline = dev.deadline or kind.deadline or defaults.deadline
        icmp = None
        if dev.icmp is not False:
            settings = dev.icmp if isinstance(dev.icmp, IcmpConfig) else IcmpConfig()
            icmp = IcmpParams(dev.address, settings.count, settings.interval, settings.timeout)
        polls: list[tuple[str, Any]] = []
        for key, block in sorted(blocks.items()):
            spec = self.kinds[key]

            def resolve(ref: SecretRef, where: BlockPath, key: str = key) -> Secret:
                return self.secret(ref, doc, (*path, key, *where)) or UNRESOLVED

            try:
                polls.append(
                    (spec.kind, spec.build(block, BlockContext(dev.address, self.base, resolve)))
                )
            except BlockError as exc:
                self.error(doc, (*path, key, *exc.path), exc.message)
        return Device(
            id=dev.id,
            site=site,
            polls=tuple(polls),
            interval=interval,
            deadline=min(deadline, interval),
            icmp=icmp,
            trap_engine_id=(dev.trap_engine_id or "").lower().removeprefix("0x") or None,
            snmp=SnmpParams(
                address=dev.address,
                port=dev.port or d.port,
                version=version,
                community=community,
                user=user,
                timeout=o.timeout or k.timeout or d.timeout,
                retries=_first(o.retries, k.retries, d.retries),
                max_repetitions=o.max_repetitions or k.max_repetitions or d.max_repetitions,
                profiles=tuple(dev.profiles),
                interval=interval,
                max_label_values=defaults.max_label_values,
            ),
        )


def _first(*values: int | None) -> int:
    for value in values:
        if value is not None:
            return value
    raise AssertionError("the defaults always have a value")
