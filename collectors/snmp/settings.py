"""SNMP settings as admins write them: a device's keys (``profiles``, ``port``,
``snmp``, ``trap_engine_id``), ``defaults.snmp`` and ``defaults.by_uplink_kind.<k>.snmp``
of netmon.yaml. Validated by the config loader with the rest (file:line:col errors);
secrets are references, never literals."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from netmon.api import Duration, SecretRef, Strict


class AuthProtocol(StrEnum):
    md5 = "md5"
    sha1 = "sha1"
    sha224 = "sha224"
    sha256 = "sha256"
    sha384 = "sha384"
    sha512 = "sha512"


class PrivProtocol(StrEnum):
    des = "des"
    aes128 = "aes128"
    aes192 = "aes192"
    aes256 = "aes256"


class V3Auth(Strict):
    """SNMPv3 authentication: a protocol and its passphrase."""

    protocol: AuthProtocol = AuthProtocol.sha256
    """authentication protocol (the same as the device's user has)"""
    key: SecretRef
    """the authentication passphrase"""


class V3Priv(Strict):
    """SNMPv3 privacy (encryption): a protocol and its passphrase."""

    protocol: PrivProtocol = PrivProtocol.aes128
    """encryption protocol (the same as the device's user has)"""
    key: SecretRef
    """the privacy (encryption) passphrase"""


class V3UserConfig(Strict):
    """An SNMPv3 (USM) user: no auth is noAuthNoPriv, auth alone authNoPriv, both authPriv."""

    name: str = Field(min_length=1, max_length=32)
    """user name, as configured on the device"""
    auth: V3Auth | None = None
    """authentication; unset: noAuthNoPriv"""
    priv: V3Priv | None = None
    """encryption; needs auth (SNMPv3 has no noAuthPriv)"""

    @model_validator(mode="after")
    def _priv_needs_auth(self) -> V3UserConfig:
        if self.priv is not None and self.auth is None:
            msg = "priv needs auth (SNMPv3 has no noAuthPriv)"
            raise ValueError(msg)
        return self


SnmpVersionName = Literal["1", "2c", "3"]


def _version_text(value: Any) -> Any:
    # YAML reads `version: 3` as an int and `version: 2c` as text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class SnmpOverrides(Strict):
    """Per-device SNMP settings; anything left out comes from the defaults."""

    version: Annotated[SnmpVersionName | None, BeforeValidator(_version_text)] = None
    """SNMP version ("3" needs user, "1" and 2c need community)"""
    community: SecretRef | None = None
    """community for SNMP v1 and v2c"""
    user: V3UserConfig | None = None
    """SNMPv3 user (version "3")"""
    timeout: Duration | None = None
    """how long to wait for each response before sending the request again"""
    retries: int | None = Field(default=None, ge=0, le=10)
    """how often a request that timed out is sent again"""
    max_repetitions: int | None = Field(default=None, ge=1, le=200)
    """rows asked for per GETBULK request; lower it for slow links or weak agents"""
    insecure_on_intranet: bool | None = None
    """allow SNMP v1/v2c, or v3 without privacy, on a site with network: intranet (the closed
    intranet otherwise takes SNMPv3 authPriv only); logged at every load and exported as
    netmon_snmp_insecure_override"""


class SnmpDefaults(Strict):
    """SNMP settings of every device that does not set its own."""

    version: Annotated[SnmpVersionName, BeforeValidator(_version_text)] = "2c"
    """SNMP version ("3" needs user, "1" and 2c need community)"""
    community: SecretRef | None = None
    """community for SNMP v1 and v2c"""
    user: V3UserConfig | None = None
    """SNMPv3 user (version "3")"""
    port: int = Field(default=161, ge=1, le=65535)
    """UDP port of the SNMP agents (a device may set its own port)"""
    timeout: Duration = 2.0
    """how long to wait for each response before sending the request again"""
    retries: int = Field(default=1, ge=0, le=10)
    """how often a request that timed out is sent again"""
    max_repetitions: int = Field(default=25, ge=1, le=200)
    """rows asked for per GETBULK request; lower it for slow links or weak agents"""
    insecure_on_intranet: bool = False
    """allow SNMP v1/v2c, or v3 without privacy, on sites with network: intranet (the closed
    intranet otherwise takes SNMPv3 authPriv only); logged at every load and exported as
    netmon_snmp_insecure_override"""


class SnmpDevice(Strict):
    """The SNMP keys of a device entry in a site file."""

    profiles: list[str] | None = None
    """SNMP profiles; left out: system, if_mib and the vendor profiles its sysObjectID and
    sysDescr call for (detected at the first poll and after a reboot); [] for a device that
    is only probed (VSAT modem, CCTV, ISP CPE)"""
    port: int | None = Field(default=None, ge=1, le=65535)
    """SNMP UDP port when not defaults.snmp.port (e.g. a router's port forward to a modem)"""
    snmp: SnmpOverrides = SnmpOverrides()
    """this device's SNMP settings; anything left out comes from its uplink kind's, then from
    defaults.snmp
    """
    trap_engine_id: str | None = Field(default=None, pattern=r"^(0x)?[0-9a-fA-F]{10,64}$")
    """SNMPv3 engine id (hex) of its traps: maps them even behind NAT"""
