"""What one check found, and how failures map onto the few reasons operators see."""

from __future__ import annotations

import errno
import socket
import ssl
from dataclasses import dataclass

#: every reason a check can fail with; netmon_service_failures_total shows each from 0
REASONS = ("refused", "timeout", "tls", "dns", "status", "mismatch", "error")


@dataclass(frozen=True, slots=True)
class Outcome:
    """``reason`` is None when the check passed. ``detail`` is built from the probe's
    own words and the OS's error text, never from a URL or a secret."""

    reason: str | None = None
    detail: str = ""
    #: a TLS certificate's not-after as Unix time, when one was seen (even an invalid one)
    not_after: float | None = None
    #: a throughput check's measurement: body bytes counted, over ``window`` seconds
    received: int = 0
    window: float = 0.0

    @property
    def up(self) -> bool:
        return self.reason is None

    @property
    def bytes_per_second(self) -> float | None:
        """The delivered rate a throughput check measured (None: nothing measured)."""
        if self.received <= 0 or self.window <= 0:
            return None
        return self.received / self.window


PASSED = Outcome()


def failed(reason: str, detail: str, not_after: float | None = None) -> Outcome:
    assert reason in REASONS, reason
    return Outcome(reason, detail, not_after)


def from_exception(exc: BaseException) -> Outcome:
    """An OS-level failure as an outcome: refused, timeout, tls, dns or error."""
    if isinstance(exc, TimeoutError):
        return failed("timeout", "no answer in time")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return failed("tls", f"certificate not valid: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError):
        return failed("tls", f"TLS failed: {exc.reason or type(exc).__name__}")
    if isinstance(exc, ConnectionRefusedError):
        return failed("refused", "connection refused")
    if isinstance(exc, socket.gaierror):
        return failed("dns", f"cannot resolve the host name: {exc.strerror}")
    if isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT:
        return failed("timeout", "connect timed out")
    if isinstance(exc, OSError):
        text = exc.strerror or type(exc).__name__
        return failed("error", f"connection failed: {text}")
    return failed("error", f"unexpected {type(exc).__name__}")
