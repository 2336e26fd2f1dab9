"""The demo's CCTV in the province config: public CCTV points (site kind ``cctv``) with
cameras watched by service checks, and NVRs at some village offices.

- Kutai Timur's market: an NVR (web page over HTTPS, its RTSP) and two cameras, the
  second of them dead from the start (its RTSP port refuses): the site is degraded and
  ServiceDown pages for that camera.
- A camera at a Puskesmas of Kutai Barat, the kabupaten whose fibre the script cuts: it
  becomes unreachable behind the POP with its villages, and pages nothing of its own.
- A camera at Kutai Kartanegara's market, and an NVR at the first village office of the
  two kabupaten the script leaves alone (the Site dashboard's service panels, the
  certificate's days left among them, have a healthy village to show).

Every device answers on 127.0.0.1, each check on its own port (``netmon.tools.demo.cctv``
serves them); the ports are filled in once the servers are bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: where the CCTV points are: (kabupaten index, place, name, the kind of village it hangs
#: under (its kabupaten's first village office when there is none), its devices)
CCTV: tuple[tuple[int, str, str, str, tuple[str, ...]], ...] = (
    (0, "pasar", "CCTV Pasar Induk", "village_office", ("nvr", "cam-1", "cam-2")),
    (2, "puskesmas", "CCTV Puskesmas", "puskesmas", ("cam-1",)),
    (3, "pasar", "CCTV Pasar", "village_office", ("cam-1",)),
)
#: kabupaten whose first village office has an NVR (the CCTV of the village hall)
NVR_OFFICES = (3, 4)
#: the NVRs' certificate (self-signed, its own CA), relative to the folder of netmon.yaml
NVR_CA = "certs/nvr.pem"
#: check name -> the server (per device) that answers it: an NVR's certificate is its
#: web page's
SERVER_OF_CHECK = {"rtsp": "rtsp", "web": "web", "cert": "web"}


def device_id(role: str, slug: str, place: str) -> str:
    """``nvr-kutai-timur-pasar``, ``cam-kutai-timur-pasar-1``."""
    kind, _, number = role.partition("-")
    return f"{kind}-{slug}-{place}" + (f"-{number}" if number else "")


def dead_camera(slug: str) -> str:
    """The camera whose stream server died (its port refuses every connection): the last
    one of the first CCTV point (``slug``: that point's kabupaten)."""
    return device_id(CCTV[0][4][-1], slug, CCTV[0][1])


def _checks(kind: str) -> list[dict[str, Any]]:
    """A camera's or an NVR's checks; ports 0 until the servers are bound."""
    rtsp = {"name": "rtsp", "kind": "rtsp", "port": 0, "path": "/stream1"}
    if kind == "cam":
        return [rtsp]
    return [
        {
            "name": "web",
            "kind": "http",
            "scheme": "https",
            "port": 0,
            "ca": NVR_CA,
            "body_match": "NVR",
            "max_body": 4096,
        },
        {"name": "cert", "kind": "tls", "port": 0, "ca": NVR_CA},
        {**rtsp, "path": "/ch1"},
    ]


def service_device(dev_id: str) -> dict[str, Any]:
    """A camera (``cam-...``) or an NVR (``nvr-...``): no SNMP, only service checks."""
    kind = dev_id.split("-", 1)[0]
    return {
        "id": dev_id,
        "address": "127.0.0.1",
        "profiles": [],
        "service": {"checks": _checks(kind)},
    }


def cctv_sites(k: int, slug: str, villages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CCTV points of kabupaten ``k`` (index), under its villages."""
    sites = []
    for at, place, name, under, roles in CCTV:
        if at != k or not villages:
            continue
        offices = [v for v in villages if v["kind"] == "village_office"] or villages
        parent = next((v for v in villages if v["kind"] == under), offices[0])
        sid = f"cctv-{slug}-{place}"
        devices = [service_device(device_id(role, slug, place)) for role in roles]
        where = parent.get("kecamatan") or ""
        sites.append(
            {
                "id": sid,
                "name": f"{name} {where}".strip(),
                "kind": "cctv",
                "kecamatan": where,
                "location": {
                    "lat": round(parent["location"]["lat"] + 0.001, 4),
                    "lon": round(parent["location"]["lon"] + 0.001, 4),
                },
                "uplinks": [parent["id"]],
                "devices": devices,
            }
        )
    return sites


def cctv_link(site: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    """The CCTV point's radio link from its village router's free radio (wlan4, up in
    the recording) to its first device."""
    return {
        "id": f"radio-{site['id']}",
        "kind": "radio",
        "a": f"{parent['id']}/{parent['devices'][0]['id']}:wlan4",
        "b": f"{site['id']}/{site['devices'][0]['id']}:wlan0",
    }


def add_nvr(k: int, slug: str, villages: list[dict[str, Any]]) -> None:
    """The first village office of kabupaten ``k`` gets its hall's NVR, if ``k`` is one
    of NVR_OFFICES."""
    offices = [v for v in villages if v["kind"] == "village_office"]
    if k in NVR_OFFICES and offices:
        office = offices[0]
        office["devices"].append(service_device(f"nvr-{office['id'].removeprefix('desa-')}"))


def fill_ports(device: dict[str, Any], endpoints: Mapping[tuple[str, str], int]) -> None:
    """Each check's port: its server's for this device (0 while not bound)."""
    for check in device["service"]["checks"]:
        check["port"] = endpoints.get((device["id"], SERVER_OF_CHECK[check["name"]]), 0)


def servers(content: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(device, server) of every server the province's service checks need."""
    found: list[tuple[str, str]] = []
    for _site, device in service_devices(content):
        for check in device["service"]["checks"]:
            key = (device["id"], SERVER_OF_CHECK[check["name"]])
            if key not in found:
                found.append(key)
    return found


def service_devices(
    content: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, dict[str, Any]]]:
    """(site id, device) of every device with service checks."""
    return [
        (site["id"], device)
        for data in content.values()
        for site in data["sites"]
        for device in site["devices"]
        if "service" in device
    ]
