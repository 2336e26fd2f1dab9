"""The config models as an admin writes them, for the reference: the core's models
extended with every collector kind's keys (a device entry's keys or block, the kind's
``defaults:`` sections, its top-level keys, the streaming collectors' sections), each
described by the kind's own model and named after it (:func:`origin`)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from netmon.api import Registry
from netmon.config.models import Defaults, KindDefaults, LinkKind, MainConfig, Network
from netmon.config.site_models import DeviceConfig, SiteConfig, SiteFile

M = TypeVar("M", bound=BaseModel)


def own_doc(cls: type) -> str:
    """A class's own docstring (not an inherited one), on one line."""
    raw = cls.__dict__.get("__doc__")
    return " ".join(raw.split()) if isinstance(raw, str) else ""


def _extend(base: type[M], origins: Mapping[str, type[BaseModel]], **fields: Any) -> type[M]:
    """``base`` with more keys, under its own name and docstring (for the reference);
    ``origins``: the model each new key comes from (the reference names it as the key's
    model, not this made-up one)."""
    doc = base.__dict__.get("__doc__")
    made = create_model(base.__name__, __base__=base, __doc__=doc, **fields)
    made.__field_origins__ = {name: base for name in fields} | dict(origins)  # type: ignore[attr-defined]
    return made


def origin(model: type[BaseModel], name: str) -> type[BaseModel]:
    """The model that declares a key: itself, unless :func:`_extend` made it."""
    origins: Mapping[str, type[BaseModel]] = model.__dict__.get("__field_origins__", {})
    if not origins:
        return model
    return origins.get(name) or origin(model.__bases__[0], name)


def _field(model: type[BaseModel], name: str, annotation: Any) -> tuple[Any, FieldInfo]:
    """A field of ``model`` with another type (a model extended by the kinds' keys)."""
    info = copy.copy(model.model_fields[name])
    info.annotation = annotation
    return annotation, info


def with_kinds(registry: Registry) -> tuple[type[MainConfig], type[SiteFile]]:
    """netmon.yaml's and a site file's models as an admin writes them: the core's, with
    the keys of every collector kind in the registry (its ``defaults:`` sections and its
    keys or block in a device entry), each described by the kind's own model."""
    device: dict[str, Any] = {}
    device_origins: dict[str, type[BaseModel]] = {}
    defaults: dict[str, Any] = {}
    by_kind: dict[str, Any] = {}
    for spec in registry.device_kinds:
        if spec.key is not None:
            described = Field(default=None, description=own_doc(spec.model))
            device[spec.key] = (spec.model | None, described)
        else:
            device.update({n: (i.annotation, i) for n, i in spec.model.model_fields.items()})
            device_origins.update(dict.fromkeys(spec.model.model_fields, spec.model))
        if spec.section and spec.defaults is not None:
            made = Field(default_factory=spec.defaults, description=own_doc(spec.defaults))
            defaults[spec.section] = (spec.defaults, made)
        if spec.section and spec.overrides is not None:
            made = Field(default_factory=spec.overrides, description=own_doc(spec.overrides))
            by_kind[spec.section] = (spec.overrides, made)
    kind_defaults = _extend(KindDefaults, {}, **by_kind)
    kinds_map = dict[LinkKind, kind_defaults]  # type: ignore[valid-type]
    networks_map = dict[Network, kind_defaults]  # type: ignore[valid-type]
    all_defaults = _extend(
        Defaults,
        {},
        **defaults,
        by_uplink_kind=_field(Defaults, "by_uplink_kind", kinds_map),
        by_network=_field(Defaults, "by_network", networks_map),
    )
    streams = {
        name: (dict[str, Any] | None, Field(default=None, description=own_doc(spec.model)))
        for name, spec in sorted(registry.sections().items())
    }
    tops: dict[str, Any] = {}
    top_origins: dict[str, type[BaseModel]] = {}
    for spec in registry.device_kinds:
        if spec.top is not None:
            tops.update({n: (i.annotation, i) for n, i in spec.top.model_fields.items()})
            top_origins.update(dict.fromkeys(spec.top.model_fields, spec.top))
    main = _extend(
        MainConfig,
        top_origins,
        **tops,
        **streams,
        defaults=_field(MainConfig, "defaults", all_defaults),
    )
    device_model = _extend(DeviceConfig, device_origins, **device)
    devices = list[device_model]  # type: ignore[valid-type]
    site = _extend(SiteConfig, {}, devices=_field(SiteConfig, "devices", devices))
    sites = list[site]  # type: ignore[valid-type]
    site_file = _extend(SiteFile, {}, sites=_field(SiteFile, "sites", sites))
    return main, site_file
