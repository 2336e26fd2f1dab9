"""SNMP sessions from settings, and what a failure means (its metric reason).

Kept apart from the walker; :mod:`collectors.snmp.walker` re-exports these names.
"""

from __future__ import annotations

from gufo.snmp import (
    Aes128Key,
    Aes192Key,
    Aes256Key,
    DesKey,
    Md5Key,
    Sha1Key,
    Sha224Key,
    Sha256Key,
    Sha384Key,
    Sha512Key,
    SnmpAuthError,
    SnmpDecodeError,
    SnmpError,
    SnmpVersion,
    User,
)
from gufo.snmp.aio import SnmpSession

from collectors.snmp.params import SnmpParams

_AUTH = {
    "md5": Md5Key,
    "sha1": Sha1Key,
    "sha224": Sha224Key,
    "sha256": Sha256Key,
    "sha384": Sha384Key,
    "sha512": Sha512Key,
}
_PRIV = {"des": DesKey, "aes128": Aes128Key, "aes192": Aes192Key, "aes256": Aes256Key}
_VERSION = {"1": SnmpVersion.v1, "2c": SnmpVersion.v2c, "3": SnmpVersion.v3}


class PollFailed(Exception):
    """The device did not answer usefully at all; ``reason`` is the metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def is_decoder_panic(exc: BaseException) -> bool:
    """pyo3 turns a Rust panic into PanicException, which derives from BaseException.

    Seen here: random bytes as an SNMP reply panic gufo-snmp 0.13's BER decoder
    ("index out of bounds"). Garbage from the network must never end a poll task.
    """
    return type(exc).__name__ == "PanicException"


def classify(exc: BaseException) -> tuple[str, str]:
    """(reason, detail) for an exception; details never contain credentials."""
    if isinstance(exc, TimeoutError):
        return "timeout", "no answer within the timeout (down, unreachable, or wrong credentials)"
    if isinstance(exc, SnmpAuthError):
        return "auth", f"SNMPv3 authentication failed: {exc}"
    if isinstance(exc, SnmpDecodeError):
        return "decode", f"undecodable reply: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "port unreachable (no agent listening)"
    if isinstance(exc, OSError):
        return "network", f"network error: {exc.strerror or exc}"
    if isinstance(exc, SnmpError):
        return "agent_error", f"agent error: {exc}"
    return "internal", f"{type(exc).__name__}: {exc}"


def make_session(params: SnmpParams) -> SnmpSession:
    user: User | None = None
    if params.version == "3":
        v3 = params.user
        if v3 is None:
            raise PollFailed("config", "SNMPv3 without a user")
        auth = (
            _AUTH[v3.auth_protocol](v3.auth_key.reveal().encode())
            if v3.auth_protocol and v3.auth_key
            else None
        )
        priv = (
            _PRIV[v3.priv_protocol](v3.priv_key.reveal().encode())
            if v3.priv_protocol and v3.priv_key
            else None
        )
        user = User(v3.name, auth_key=auth, priv_key=priv)
    community = params.community.reveal() if params.community else "public"
    return SnmpSession(
        params.address,
        params.port,
        community=community,
        user=user,
        version=_VERSION[params.version],
        timeout=params.timeout,
        max_repetitions=params.max_repetitions,
    )
