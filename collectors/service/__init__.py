"""Service checks (TCP, HTTP(S), TLS certificate, DNS, RTSP) run from the netmon host
against a device: CCTV cameras, NVRs, public web services. See README.md.

Configured per device by its own block (``service:``, :data:`SERVICE`): adding
this kind touched nothing in netmon's core (issue 11)."""

from collections.abc import Mapping
from typing import Any

from collectors.service.collector import ServiceCollector
from collectors.service.params import ServiceParams, build_params, secrets_from
from collectors.service.settings import ServiceSettings
from netmon.api import DeviceKind, Role

#: the device block `service:`: validated by ServiceSettings, built into ServiceParams
SERVICE = DeviceKind(
    kind="service", key="service", model=ServiceSettings, build=build_params, role=Role.PROBE
)


def factory(_options: Mapping[str, Any]) -> ServiceCollector:
    return ServiceCollector()


__all__ = [
    "SERVICE",
    "ServiceCollector",
    "ServiceParams",
    "ServiceSettings",
    "build_params",
    "factory",
    "secrets_from",
]
