"""Service checks (TCP, HTTP(S), TLS certificate, DNS, RTSP) run from the netmon host
against a device: CCTV cameras, NVRs, public web services. See README.md.

Configured per device by its own block (``service:``, :data:`SERVICE`): adding
this kind touched nothing in netmon's core (issue 11)."""

from collectors.service.collector import ServiceCollector
from collectors.service.params import ServiceParams, build_params, secrets_from
from collectors.service.settings import ServiceSettings
from netmon.api import DeviceKind, register_collector, register_device_kind

#: the device block `service:`: validated by ServiceSettings, built into ServiceParams
SERVICE = DeviceKind(kind="service", key="service", model=ServiceSettings, build=build_params)

register_collector("service", lambda _options: ServiceCollector())
register_device_kind(SERVICE)

__all__ = [
    "SERVICE",
    "ServiceCollector",
    "ServiceParams",
    "ServiceSettings",
    "build_params",
    "secrets_from",
]
