"""netmon's own metrics (a prometheus_client registry) as exposition text, fast.

Every scrape renders them afresh (scrape counts, the event loop's lag, the process).
prometheus_client's writers check each name and escape each label character by
character (its UTF-8 name support): at one poll and one scrape a second that was a
quarter of netmon's CPU, more than the SNMP poll itself. These are our own names,
valid by construction, so this writer only formats, with the same escaping as the
targets' series. ``_created`` samples are left out in both formats (a start time per
series that no dashboard reads; Prometheus ingests them as series of their own).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from netmon.exposition import escape_help, format_labels, format_value

#: prometheus_client's family types -> the text format's, and OpenMetrics'
_TEXT_TYPES = {"info": "gauge", "unknown": "untyped", "stateset": "gauge", "enum": "gauge"}
_OM_TYPES = {"untyped": "unknown"}


def render_registry(registry: CollectorRegistry, openmetrics: bool) -> bytes:
    """The registry's metrics in the text format or OpenMetrics (with its ``# EOF``)."""
    out: list[str] = []
    for family in registry.collect():
        kind = family.type
        name = family.name
        help_text = escape_help(family.documentation)
        if openmetrics:
            kind = _OM_TYPES.get(kind, kind)
            help_text = help_text.replace('"', r"\"")
        else:
            if kind == "counter":
                name += "_total"
            elif kind == "info":
                name += "_info"
            kind = _TEXT_TYPES.get(kind, kind)
        lines = [
            f"{s.name}{format_labels(tuple(s.labels.items()))} {format_value(s.value)}\n"
            for s in family.samples
            if not s.name.endswith("_created")
        ]
        if lines:
            out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")
            out.extend(lines)
    if openmetrics:
        out.append("# EOF\n")
    return "".join(out).encode()
