"""Thresholds the dashboards colour by, the same numbers the alert rules fire on.

tests/unit/test_dashboards.py reads deploy/prometheus/rules/netmon-alerts.yml and fails
when an alert's threshold and the one here disagree.
"""

from __future__ import annotations

#: OpticalPowerLow fires below this receive power (dBm)
OPTICAL_LOW_DBM = -25.0
#: OpticalPowerMarginal: below this for an hour the link budget is almost used up (dBm)
OPTICAL_MARGINAL_DBM = -23.0
#: LinkErrorsHigh: receive + transmit errors per second, sustained
LINK_ERRORS_PER_SECOND = 1.0
#: OnBatteryLong (reason battery_low): battery charge below this ratio
BATTERY_LOW_RATIO = 0.3

# Radio links have no alert rule yet; usual airMAX/MikroTik guidance for a point-to-point
# backhaul: better than -70 dBm is good, below -80 dBm the link drops to low rates.
RADIO_LOW_DBM = -80.0
RADIO_MARGINAL_DBM = -70.0
#: client connection quality below these is a poor radio link
CCQ_LOW_RATIO = 0.5
CCQ_MARGINAL_RATIO = 0.75

#: site availability (SLA) colours: red below LOW, green from GOOD
AVAILABILITY_LOW = 0.95
AVAILABILITY_GOOD = 0.99

#: interface utilisation: orange from BUSY, red from FULL
UTILISATION_BUSY = 0.7
UTILISATION_FULL = 0.9

#: CertificateExpiring fires below these days left (severity admin, labels days=30/14/7)
CERT_NOTICE_DAYS = 30.0
CERT_WARNING_DAYS = 14.0
CERT_CRITICAL_DAYS = 7.0
