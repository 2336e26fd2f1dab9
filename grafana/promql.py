"""PromQL fragments shared by the dashboards: variable filters, joins, link ends.

Filtering: a series belongs to the selection when its `site` is one of the sites that
`netmon_site_info` lists for the chosen network, kabupaten and site. Series carry only
`site` (and device labels), so the filter is a join on `site`; the metric selector also
matches `site=~"$site"` so Prometheus reads fewer series before the join.

Joins use `max by (site, name, ...) (netmon_site_info)` as their "one" side: two netmon
instances reporting the same site (an HA pair) must not make a join many-to-many.
"""

from __future__ import annotations


def sites(matchers: str = "") -> str:
    """The info series of the sites the template variables select (and `matchers`)."""
    extra = f", {matchers}" if matchers else ""
    return (
        'netmon_site_info{network=~"$network", kabupaten=~"$kabupaten", site=~"$site"' + extra + "}"
    )


#: the sites the template variables select
SITES = sites()

#: site state -> (code, text, colour); the code orders the states by severity
STATES: dict[str, tuple[int, str, str]] = {
    "up": (0, "up", "green"),
    "degraded": (1, "degraded", "yellow"),
    "unknown": (2, "unknown", "#8e8e8e"),
    "unreachable": (3, "unreachable", "orange"),
    "down": (4, "down", "red"),
}


def metric(name: str, matchers: str = "") -> str:
    """`name{site=~"$site", <matchers>}`: the cheap pre-filter on the site variable."""
    extra = f", {matchers}" if matchers else ""
    return f'{name}{{site=~"$site"{extra}}}'


def selected(expr: str) -> str:
    """Only the series of selected sites."""
    return f"(({expr}) and on (site) {SITES})"


def named(expr: str, labels: str = "name") -> str:
    """Filter to the selection and copy site attributes (e.g. `name, kabupaten`) on."""
    return f"(({expr}) * on (site) group_left ({labels}) max by (site, {labels}) ({SITES}))"


def as_label(expr: str, new: str, old: str) -> str:
    """Copy label `old` to `new` (e.g. an outage's `root` to `site` for a join)."""
    return f'label_replace({expr}, "{new}", "$1", "{old}", "(.*)")'


def state_code() -> str:
    """One series per site whose value is the code of its state (see STATES)."""
    parts = []
    for state, (code, _text, _color) in STATES.items():
        series = metric("netmon_site_status", 'status="' + state + '"')
        parts.append(f"({series} == 1) * {code}")
    return "max by (site) (" + " or ".join(parts) + ")"


# ---------------------------------------------------------------------------- links
def _end(end: str, kind: str) -> str:
    expr = f'label_replace(netmon_link_info{{kind=~"{kind}"}}, "end", "{end.upper()}", "", "")'
    for label in ("site", "device", "ifname"):
        expr = as_label(expr, label, f"{end}_{label}")
    return expr


def link_ends(kind: str) -> str:
    """Both ends of every link of `kind` touching a selected site, whole links only.

    One series per end: labels link, kind, end (A or B), site, device, ifname. A link is
    kept with both ends when either end is at a selected site, so a village's fibre
    shows the POP's end too.
    """
    ends = (
        f"max by (link, kind, end, site, device, ifname) ({_end('a', kind)} or {_end('b', kind)})"
    )
    return f"({ends} and on (link) ({ends} and on (site) {SITES}))"


def with_site_name(expr: str) -> str:
    """Copy the site name on without filtering (a link's far end may be unselected)."""
    return f"(({expr}) * on (site) group_left (name) max by (site, name) (netmon_site_info))"


def at_link_ends(per_interface: str, kind: str, keys: str = "site, device, ifname") -> str:
    """A per-interface series (unique per `keys`) at both ends of the selected links.

    The result carries link, kind, end, site, device, ifname and the site's name, so a
    legend can say "fo-samarinda-berau A: POP Berau rtr-berau sfp1". An interface that
    ends several links (a point-to-multipoint radio) repeats for each of them.
    """
    return with_site_name(f"({link_ends(kind)}) * on ({keys}) group_left () ({per_interface})")


def wireless_at_link_ends(name: str, stat: str, kind: str = "radio") -> str:
    """A radio metric at both link ends, the worst (`stat`: min or max) per interface.

    MikroTik reports per interface (`ifname`), airOS per radio without `ifname`: those
    are joined to a link end on (site, device).
    """
    per_if = f'{stat} by (site, device, ifname) ({name}{{ifname!=""}})'
    per_device = f'{stat} by (site, device) ({name}{{ifname=""}})'
    ends = link_ends(kind)
    return with_site_name(
        f"{ends} * on (site, device, ifname) group_left () ({per_if})"
        f" or {ends} * on (site, device) group_left () ({per_device})"
    )


def interface_rate(counter: str, site: bool = True) -> str:
    """Per interface rate of a counter, unique per (site, device, ifname)."""
    series = metric(counter) if site else counter
    return f"sum by (site, device, ifname) (rate({series}[$__rate_interval]))"


def errors_per_second(site: bool = True) -> str:
    """Receive + transmit errors per second per interface (as LinkErrorsHigh counts them).

    `site=False` leaves out the site pre-filter (for link ends at unselected sites).
    """
    return (
        f"({interface_rate('netmon_interface_receive_errors_total', site)}"
        f" + {interface_rate('netmon_interface_transmit_errors_total', site)})"
    )


# ------------------------------------------------------------------------- availability
def availability(window: str, by: str) -> str:
    """Share of time up or degraded over `window` (1d, 7d, 30d, 5m), averaged per `by`.

    Built from the recorded per-site series, so the variables (network, kabupaten, site)
    apply; every site weighs the same, as in the recorded kabupaten/kind series.
    """
    per_site = (
        f'site:netmon_site_available:ratio{window}{{site=~"$site"}}'
        f" * on (site) group_left ({by}) max by (site, {by}) ({SITES})"
    )
    if by == "uplink_kind":  # sites without a link in the inventory have uplink_kind=""
        per_site = no_uplink_kind(per_site)
    return f"avg by ({by}) ({per_site})"


def no_uplink_kind(expr: str) -> str:
    """uplink_kind="none" for sites without a link in the inventory (uplink_kind="").

    Per site, before any aggregation: on an aggregate's empty group VictoriaMetrics 1.79
    (Debian's, the long-term store) sets the label to another series' value instead.
    """
    return f'label_replace({expr}, "uplink_kind", "none", "uplink_kind", "")'
