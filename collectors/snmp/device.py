"""The SNMP kind of device: its keys in a site file, its defaults in netmon.yaml, and
the :class:`SnmpParams` a device's poll takes (:data:`SNMP`, listed in the registry).

Settings win in this order: the device's own, its uplink kind's
(``defaults.by_uplink_kind.<kind>.snmp``: a VSAT site needs longer timeouts), then
``defaults.snmp``. Credentials come whole from the first layer that has any.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from collectors.snmp.catalogue import Catalogue, SnmpTop, catalogue_of_builtin, prepare
from collectors.snmp.detect import BASE, candidates
from collectors.snmp.params import SnmpParams, V3User
from collectors.snmp.peers import keys, unambiguous
from collectors.snmp.settings import SnmpDefaults, SnmpDevice, SnmpOverrides, V3UserConfig
from netmon.api import (
    INTERFACE_OPER_UP,
    OPTICAL_RX_POWER,
    POWER_EVIDENCE,
    BlockContext,
    BlockError,
    BlockPath,
    DeviceKind,
    Role,
    SecretRef,
    SecretResolver,
)

#: the closed government intranet: SNMPv3 authPriv only, unless explicitly overridden
INTRANET = "intranet"
RULE = (
    "only SNMPv3 with auth and priv is allowed there; set version 3 with a user that has "
    "auth and priv, or allow it explicitly with snmp.insecure_on_intranet: true "
    "(logged at every load and exported as netmon_snmp_insecure_override)"
)

_log = structlog.get_logger("netmon.snmp")


def _user(cfg: V3UserConfig, resolve: SecretResolver, path: BlockPath) -> V3User:
    auth, priv = cfg.auth, cfg.priv
    return V3User(
        name=cfg.name,
        auth_protocol=auth.protocol.value if auth else None,
        auth_key=resolve(auth.key, (*path, "auth", "key")) if auth else None,
        priv_protocol=priv.protocol.value if priv else None,
        priv_key=resolve(priv.key, (*path, "priv", "key")) if priv else None,
    )


def _layers(device: SnmpDevice, ctx: BlockContext) -> list[tuple[Any, SecretResolver, BlockPath]]:
    """(settings, their resolver, the path of their secrets) most specific first."""
    out: list[tuple[Any, SecretResolver, BlockPath]] = [(device.snmp, ctx.resolve, ("snmp",))]
    out.extend((layer.value, layer.resolve, ()) for layer in ctx.defaults)
    if not ctx.defaults:  # a context without the defaults (a tool): the model's own
        out.append((SnmpDefaults(), ctx.resolve, ()))
    return out


def _first(layers: list[tuple[Any, SecretResolver, BlockPath]], name: str) -> Any:
    for settings, _resolve, _path in layers:
        value = getattr(settings, name, None)
        if value is not None:
            return value
    return None


def build(device: SnmpDevice, ctx: BlockContext) -> SnmpParams | None:
    """The device's poll settings, or None when it is only probed (``profiles: []``).

    Without ``profiles`` the device is polled with the base ones (system, if_mib) and
    the collector adds those whose ``detect:`` rules match it (collectors.snmp.detect)."""
    if device.profiles is not None and not device.profiles:
        return None
    errors: list[tuple[BlockPath, str]] = []
    catalogue = ctx.prepared if isinstance(ctx.prepared, Catalogue) else catalogue_of_builtin()
    known = ", ".join(sorted(catalogue.valid))
    detecting = device.profiles is None
    names = list(BASE) if device.profiles is None else device.profiles
    for i, profile in enumerate(names):
        path: BlockPath = () if detecting else ("profiles", i)
        what = f"profile {profile!r}" + (" (polled when profiles is left out)" if detecting else "")
        if profile in catalogue.broken:
            first = catalogue.broken[profile].splitlines()[0]
            errors.append((path, f"{what} is broken: {first}"))
        elif profile not in catalogue.valid:
            errors.append((path, f"unknown {what} (known: {known})"))
    layers = _layers(device, ctx)
    version = _first(layers, "version")
    # credentials: the device's own, else its uplink kind's, else the defaults
    owner = next(
        (layer for layer in layers if layer[0].community is not None or layer[0].user is not None),
        layers[-1],
    )
    settings, resolve, path = owner
    community = user = None
    if version == "3":
        if settings.user is None:
            errors.append(((), "SNMPv3 needs a user (here or in defaults.snmp)"))
        else:
            user = _user(settings.user, resolve, (*path, "user"))
    elif settings.community is None:
        errors.append(((), f"SNMP v{version} needs a community (here or in defaults.snmp)"))
    else:
        ref: SecretRef = settings.community
        community = resolve(ref, (*path, "community"))
    insecure = not (version == "3" and user is not None and user.priv_protocol is not None)
    if ctx.network == INTRANET and insecure:
        what = f"SNMP v{version}" if version != "3" else "SNMPv3 without privacy"
        if not _first(layers, "insecure_on_intranet"):
            errors.append(((), f"{what} on the closed intranet (network: intranet): {RULE}"))
        elif not errors:
            _log.warning(
                "insecure SNMP allowed on the closed intranet by snmp.insecure_on_intranet",
                site=ctx.site,
                device=ctx.device,
                snmp=what,
            )
    if errors:
        raise BlockError.many(errors)
    found = [k for p in ctx.peers for k in keys(p.device, p.address, p.mac)]
    peers = unambiguous(found)  # a key of two peers (one address) finds neither
    if len(peers) < len({key for key, _ in found}):
        _log.warning(
            "radio peers share an address: neither is found by it in station tables",
            site=ctx.site,
            device=ctx.device,
            peers=sorted({d for k, d in found if k not in peers}),
        )
    return SnmpParams(
        address=ctx.address,
        port=device.port or _first(layers, "port"),
        version=version,
        community=community,
        user=user,
        timeout=_first(layers, "timeout"),
        retries=_first(layers, "retries"),
        max_repetitions=_first(layers, "max_repetitions"),
        profiles=tuple(names),
        specs=tuple(catalogue.valid[name] for name in names),
        detect_from=candidates(catalogue.valid.values()) if detecting else None,
        interval=ctx.interval,
        max_label_values=ctx.max_label_values,
        engine_id=(device.trap_engine_id or "").lower().removeprefix("0x") or None,
        insecure=ctx.network == INTRANET and insecure,
        peers=tuple(sorted(peers.items())),
    )


def describe(params: SnmpParams) -> Mapping[str, Any]:
    """What /api/targets shows: the profiles (never a credential); ``detect`` when the
    collector adds the ones it detects to these."""
    if params.detect_from is not None:
        return {"profiles": list(params.profiles), "detect": True}
    return {"profiles": list(params.profiles)}


#: SNMP polls: a device's `profiles`, `port`, `snmp` and `trap_engine_id` keys, with
#: `defaults.snmp` and each uplink kind's `snmp` as its defaults
SNMP = DeviceKind(
    kind="snmp",
    model=SnmpDevice,
    build=build,
    role=Role.AGENT,
    section="snmp",
    defaults=SnmpDefaults,
    overrides=SnmpOverrides,
    evidence=frozenset({INTERFACE_OPER_UP, OPTICAL_RX_POWER, *POWER_EVIDENCE}),
    describe=describe,
    hint="SNMP profiles",
    top=SnmpTop,
    prepare=prepare,
)
