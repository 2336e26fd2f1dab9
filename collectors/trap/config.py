"""The `traps:` section of netmon.yaml: where to listen and whom to believe."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from netmon.api import SecretRef, Strict


class TrapUser(Strict):
    """An SNMPv3 trap sender. Traps are sent by the agent's engine, so the receiver
    needs the user once per sending engine id (the devices' trap_engine_id)."""

    name: str = Field(min_length=1, max_length=32)
    auth_protocol: Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"] = "sha256"
    auth_key: SecretRef
    priv_protocol: Literal["des", "aes128", "aes192", "aes256"] | None = None
    priv_key: SecretRef | None = None
    engine_ids: list[str] = Field(min_length=1)

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
    listen: str = "0.0.0.0:162"
    communities: list[SecretRef] = Field(default_factory=list)
    users: list[TrapUser] = Field(default_factory=list)

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
