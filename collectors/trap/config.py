"""The `traps:` section of netmon.yaml: where to listen and whom to believe."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from netmon.api import SecretRef, Strict


class TrapUser(Strict):
    """An SNMPv3 trap sender. Traps are sent by the agent's engine, so the receiver
    needs the user once per sending engine id (the devices' trap_engine_id)."""

    name: str = Field(min_length=1, max_length=32)
    """user name the agents send with"""
    auth_protocol: Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] = "sha256"
    """authentication protocol"""
    auth_key: SecretRef
    """the authentication passphrase"""
    priv_protocol: Literal["des", "aes128", "aes192", "aes256"] | None = None
    """encryption protocol; unset: authNoPriv"""
    priv_key: SecretRef | None = None
    """the privacy (encryption) passphrase, with priv_protocol"""
    engine_ids: list[str] = Field(min_length=1)
    """engine ids (hex, 0x optional) of the agents that send with this user"""

    @model_validator(mode="after")
    def _priv_both_or_neither(self) -> TrapUser:
        # one without the other would quietly downgrade the user to authNoPriv
        if (self.priv_protocol is None) != (self.priv_key is None):
            msg = "give priv_protocol and priv_key together (or neither, for authNoPriv)"
            raise ValueError(msg)
        return self

    @field_validator("engine_ids")
    @classmethod
    def _hex(cls, value: list[str]) -> list[str]:
        out = []
        for item in value:
            text = item.lower().removeprefix("0x")
            if len(text) < 10 or len(text) % 2 or any(c not in "0123456789abcdef" for c in text):
                msg = f"engine id must be hex (5 to 32 octets), got {item!r}"
                raise ValueError(msg)
            out.append(text)
        return out


class TrapConfig(Strict):
    """SNMP trap and inform receiver: where it listens, which communities and SNMPv3
    users it accepts. A trap is mapped to its device by snmpTrapAddress.0, then by the
    v3 engine id (the devices' trap_engine_id), and only then by its source address."""

    listen: str = "0.0.0.0:162"
    """host:port of the UDP listener (port 162 needs root or CAP_NET_BIND_SERVICE)"""
    communities: list[SecretRef] = Field(default_factory=list)
    """SNMP v1/v2c communities accepted; traps with another are refused and counted"""
    users: list[TrapUser] = Field(default_factory=list)
    """SNMPv3 users accepted"""
    rate_per_source: float = Field(default=50.0, gt=0)
    """traps a second one source address may send, sustained (a datagram bigger than 1 KiB
    counts once per started KiB); more are dropped before they are decoded and counted as
    result rate_limited, so a flood from one sender starves nothing
    """
    burst: int = Field(default=500, ge=1)
    """traps a source may send at once beyond its rate (a reboot: a coldStart and a linkUp per
    port); a new or long quiet source starts with this many
    """
    max_message_size: int = Field(default=8192, ge=484, le=65535)
    """bytes; a bigger datagram is dropped undecoded and counted as result oversize (decoding
    costs time in proportion to size: some 20 ms for 8 KiB)
    """

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
            msg = f"listen must be host:port, got {value!r}"
            raise ValueError(msg)
        return value

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)
