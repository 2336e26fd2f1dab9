"""A device's effective settings: device > its uplink kind's > its network's > defaults.

A VSAT site needs a longer interval, deadline and timeout than a fibre POP;
``defaults.by_uplink_kind`` says so once instead of on every device. What each
collector kind polls is built by the kind itself (:class:`netmon.api.DeviceKind`)
from its validated keys, with its defaults as layers; secrets are resolved here (or,
for ``netmon check --no-secrets``, only checked for shape), and every problem becomes
a ConfigError with its position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from netmon.api import BlockContext, BlockError, BlockPath, DeviceKind, Layer, Secret
from netmon.config.models import KindDefaults, LinkKind, MainConfig, Network
from netmon.config.site_models import DeviceConfig
from netmon.config.yamlmarks import ConfigError, MarkedDoc, PathKey, dotted
from netmon.inventory import Device, Link
from netmon.schema import SecretError, SecretRef, read_secret
from netmon.seam import RadioPeer

#: stands in for every secret when secrets are not resolved (check --no-secrets)
UNRESOLVED = Secret("")
#: (kind, "by_uplink_kind:vsat" / "by_network:intranet" / "" for the global ones) ->
#: (validated defaults, their path)
DefaultLayers = Mapping[tuple[str, str], tuple[Any, PathKey]]


def radio_peers(
    links: Iterable[Link], devices: Mapping[str, DeviceConfig]
) -> dict[str, tuple[RadioPeer, ...]]:
    """Device id -> the devices at the other end of its radio links (``kind: radio``), with
    their address and ``radio_mac``: the backhaul peers whose readings in its station table
    may be series of their own. Nothing else in a station table ever is (DESIGN: privacy)."""
    out: dict[str, dict[str, RadioPeer]] = {}
    for link in links:
        if link.kind != "radio":
            continue
        for near, far in ((link.a.device, link.b.device), (link.b.device, link.a.device)):
            dev = devices.get(far)
            if dev is not None and near != far:
                peer = RadioPeer(dev.id, dev.address, dev.radio_mac)
                out.setdefault(near, {})[far] = peer
    return {near: tuple(peers.values()) for near, peers in out.items()}


class DeviceBuilder:
    """Builds a device's polls, collecting errors instead of stopping at the first."""

    def __init__(
        self,
        main: MainConfig,
        main_doc: MarkedDoc,
        base: Path,
        kinds: Mapping[str, DeviceKind],
        layers: DefaultLayers,
        prepared: Mapping[str, Any] | None = None,
        *,
        secrets: bool = True,
    ) -> None:
        """``kinds``: the registry's device kinds by collector kind; ``layers``: their
        validated defaults sections."""
        self.main = main
        self.kinds = kinds
        self.layers = layers
        #: collector kind -> what its prepare made for this load
        self.prepared = prepared or {}
        self.main_doc = main_doc
        self.base = base
        self.secrets = secrets
        self.errors: list[ConfigError] = []
        #: (env, file) -> the secret read, or why it could not be (once per load)
        self._read: dict[tuple[str | None, str | None], Secret | SecretError] = {}
        #: device id -> its radio links' far ends (:func:`radio_peers`), once links are read
        self.peers: Mapping[str, tuple[RadioPeer, ...]] = {}

    def error(self, doc: MarkedDoc, path: PathKey, message: str) -> None:
        self.errors.append(doc.error(path, message))

    def secret(self, ref: SecretRef, doc: MarkedDoc, path: PathKey) -> Secret:
        """The secret's value; a failure is an error at ``path`` and a placeholder. Each
        secret is read once per load (10,000 devices on one default community read its
        file 10,000 times: 0.3 s of a 2.2 s load)."""
        if not self.secrets:
            return UNRESOLVED
        key = (ref.env, ref.file)
        got = self._read.get(key)
        if got is None:
            try:
                got = self._read[key] = Secret(read_secret(ref, self.base))
            except SecretError as exc:
                got = self._read[key] = exc
        if isinstance(got, SecretError):
            self.errors.append(ConfigError(doc.position(path), dotted(path), str(got)))
            return UNRESOLVED
        return got

    def _resolver(self, doc: MarkedDoc, path: PathKey) -> Any:
        def resolve(ref: SecretRef, where: BlockPath) -> Secret:
            return self.secret(ref, doc, (*path, *where))

        return resolve

    def _defaults(self, spec: DeviceKind, uplink_kind: str, network: str) -> tuple[Layer, ...]:
        """The kind's defaults for a device: its uplink kind's, its network's, global."""
        out = []
        wanted = [f"by_uplink_kind:{uplink_kind}", f"by_network:{network}", ""]
        for key in wanted:
            found = self.layers.get((spec.kind, key))
            if found is not None:
                value, path = found
                out.append(Layer(value, self._resolver(self.main_doc, path)))
        return tuple(out)

    def device(
        self,
        dev: DeviceConfig,
        site: tuple[str, str, str],
        doc: MarkedDoc,
        path: PathKey,
        settings: Mapping[str, Any],
    ) -> Device:
        """``site``: (id, network, uplink kind); ``settings``: the device's validated
        keys of each kind, by collector kind (a block kind only where it has a block)."""
        sid, network, uplink_kind = site
        defaults = self.main.defaults
        empty = KindDefaults()
        kind = (
            defaults.by_uplink_kind.get(LinkKind(uplink_kind)) if uplink_kind else None
        ) or empty
        net = defaults.by_network.get(Network(network)) or empty
        interval = dev.interval or kind.interval or net.interval or defaults.interval
        deadline = dev.deadline or kind.deadline or net.deadline or defaults.deadline
        deadline = min(deadline, interval)
        polls: list[tuple[str, Any]] = []
        errors_before = len(self.errors)
        for name, value in sorted(settings.items()):
            spec = self.kinds[name]
            where: PathKey = (*path, spec.key) if spec.key is not None else path
            context = BlockContext(
                address=dev.address,
                base=self.base,
                resolve=self._resolver(doc, where),
                interval=interval,
                deadline=deadline,
                defaults=self._defaults(spec, uplink_kind, network),
                network=network,
                uplink_kind=uplink_kind,
                max_label_values=defaults.max_label_values,
                site=sid,
                device=dev.id,
                prepared=self.prepared.get(spec.kind),
                peers=self.peers.get(dev.id, ()),
            )
            try:
                built = spec.build(value, context)
            except BlockError as exc:
                for at, message in exc.errors:
                    self.error(doc, (*where, *at), message)
                continue
            if built is not None:
                polls.append((spec.kind, built))
        if not polls and len(self.errors) == errors_before:
            hints = [s.hint or s.key or s.kind for s in self.kinds.values()]
            self.error(doc, path, f"a device needs {' or '.join(sorted(hints))} (or more)")
        return Device(
            id=dev.id,
            site=sid,
            address=dev.address,
            polls=tuple(polls),
            interval=interval,
            deadline=deadline,
        )
