"""Scale harness: N simulated village routers, netmon and snmp_exporter, one core each.

``python -m bench.scale --devices 1000,5000,10000 --dead 0.1 --interval 60`` (bench/README.md,
section "Scale"). Per size it starts tests/replay_agent.py (every device a UDP port on
127.0.0.1 replaying the MikroTik recording, a share of them dead) pinned to one core,
writes a province config (tests/scale_inventory.py), starts ``netmon run`` pinned to the
other core, waits until every device was polled twice, then measures over a window:
netmon's CPU per device-poll, the scheduler's lag quantiles, RSS, /metrics scrapes (gzip
and plain), the event loop's lag and the agent's CPU. Then it stops netmon and measures
prometheus-snmp-exporter on the same core against the same agents, scraped once per
interval per device as Prometheus would. ``--soak SECONDS`` runs one size for that long
and writes RSS, descriptors and tasks over time as CSV.

Modules: procs (processes, /proc), prom (exposition parsing, histogram quantiles),
netmon_side (agent, netmon, warm-up, scrapes), exporter (snmp.yml, scrape loop),
run (one size), soak, report (table, JSON).
"""
