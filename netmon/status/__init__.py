"""Site state: up, degraded, down, unreachable or unknown, with cause and root."""

from netmon.status.engine import SiteState, StatusEngine

__all__ = ["SiteState", "StatusEngine"]
