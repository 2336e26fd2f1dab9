"""Grafana dashboards for netmon, built as JSON models by code (see generate.py)."""
