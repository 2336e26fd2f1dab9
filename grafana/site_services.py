"""Site dashboard, the service checks (collectors/service): cameras, NVRs, portals.

The checks run from the netmon host: these panels say whether the NOC reaches a
service over the province's network, not whether the village does.
"""

from __future__ import annotations

from grafana import levels
from grafana.panels import (
    GREEN,
    ORANGE,
    RED,
    YELLOW,
    Grid,
    stat,
    state_timeline,
    target,
    thresholds,
    timeseries,
)
from grafana.site_counters import PER_MINUTE, per_minute
from grafana.site_readings import UP_DOWN, at_site

CHECK_LEGEND = "{{device}} {{check}}"
#: the reasons a check fails with (collectors/service/README.md)
FAILURE_REASONS = (
    "refused (nothing listens: the service is down), timeout (no answer: the device or "
    "its path is down), tls (certificate expired, untrusted or for another name), dns, "
    "status (another HTTP/RTSP status than expected; RTSP 401: wrong credentials), "
    "mismatch (the page does not contain what it should), error"
)
#: colours of the days left, at CertificateExpiring's thresholds
CERT_STEPS = thresholds(
    (RED, None),
    (ORANGE, levels.CERT_CRITICAL_DAYS),
    (YELLOW, levels.CERT_WARNING_DAYS),
    (GREEN, levels.CERT_NOTICE_DAYS),
)


def certificate_days() -> str:
    """Days until each certificate a tls check saw expires (negative: expired)."""
    expiry = at_site("netmon_tls_certificate_expiry_timestamp_seconds")
    return f"(max by (device, check) ({expiry}) - time()) / 86400"


def service_panels(g: Grid) -> None:
    g.add(
        state_timeline(
            "Service checks",
            "Each service check of the site's devices (camera RTSP, NVR and web pages, TLS "
            "certificates, DNS), passed (up) or failed (down) at each poll, from the netmon "
            "host. ServiceDown pages after 5 minutes down while the site itself is up.",
            [
                target(
                    f"max by (device, check, kind) ({at_site('netmon_service_up')})",
                    CHECK_LEGEND + " ({{kind}})",
                )
            ],
            mappings=UP_DOWN,
        ),
        24,
        5,
    )
    g.add(
        timeseries(
            "Check latency",
            "How long each check took at its last poll, until it passed or failed (a check "
            "that timed out shows its timeout). A camera slower and slower to answer is a "
            "congested link or an overloaded recorder.",
            [
                target(
                    f"max by (device, check) ({at_site('netmon_service_duration_seconds')})",
                    CHECK_LEGEND,
                )
            ],
            unit="s",
            min=0,
        ),
        8,
        8,
    )
    g.add(
        timeseries(
            "Check failures by reason",
            f"Failed checks per minute, by device, check and reason: {FAILURE_REASONS}. "
            "Empty while every check passes.",
            [
                target(
                    per_minute("netmon_service_failures_total", "device, check, reason"),
                    CHECK_LEGEND + " {{reason}}",
                )
            ],
            unit=PER_MINUTE,
        ),
        8,
        8,
    )
    g.add(
        stat(
            "Certificate days left",
            "Days until the certificate each tls check saw expires; also shown for a "
            "certificate that fails verification. CertificateExpiring tells the admins at "
            f"{levels.CERT_NOTICE_DAYS:g} (yellow), {levels.CERT_WARNING_DAYS:g} (orange) "
            f"and {levels.CERT_CRITICAL_DAYS:g} days (red).",
            [target(certificate_days(), CHECK_LEGEND, instant=True)],
            unit="suffix: days",
            decimals=0,
            steps=CERT_STEPS,
        ),
        8,
        8,
    )
