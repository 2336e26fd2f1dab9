"""netmon: network monitoring for village internet and government intranet sites."""

__version__ = "0.1.0"
