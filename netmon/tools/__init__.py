"""Tools that are not the daemon: the demo, the simulated agents, the Prometheus and
Alertmanager stack beside a netmon, and the reference generators (docs/*.md)."""
