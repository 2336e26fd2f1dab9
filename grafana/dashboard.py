"""Dashboard shell: template variables, links between the netmon dashboards, settings."""

from __future__ import annotations

from collections.abc import Sequence

from grafana.panels import DATASOURCE, JSON, Grid

#: uid -> title; uids are stable (alerts and links point at them)
DASHBOARDS = {
    "netmon-noc": "netmon / NOC overview",
    "netmon-site": "netmon / Site",
    "netmon-links": "netmon / Fibre and radio links",
    "netmon-sla": "netmon / Kabupaten SLA",
    "netmon-health": "netmon / netmon health",
    "netmon-contracts": "netmon / Kontrak ISP",
}

#: Grafana turns the site's series into "name=...,site=..." text; the regex takes the
#: site id as the value and its name as the text shown in the picker
SITE_REGEX = '/name="(?<text>[^"]*)".*site="(?<value>[^"]*)"/'


def query_variable(
    name: str, label: str, query: str, *, multi: bool, regex: str = "", description: str = ""
) -> JSON:
    return {
        "allValue": ".*" if multi else None,
        "current": {},
        "datasource": DATASOURCE,
        "definition": query,
        "description": description,
        "hide": 0,
        "includeAll": multi,
        "label": label,
        "multi": multi,
        "name": name,
        "options": [],
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "regex": regex,
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def variables(*, one_site: bool = False) -> list[JSON]:
    """datasource, network, kabupaten, site; each filtered by the ones before it.

    `one_site`: the site picker takes exactly one site (the Site dashboard).
    """
    datasource = {
        "current": {},
        "hide": 0,
        "includeAll": False,
        "label": "Data source",
        "multi": False,
        "name": "datasource",
        "options": [],
        "query": "prometheus",
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
        "type": "datasource",
    }
    network = query_variable(
        "network",
        "Network",
        "label_values(netmon_site_info, network)",
        multi=True,
        description="public (village access points) or intranet (government offices)",
    )
    kabupaten = query_variable(
        "kabupaten",
        "Kabupaten",
        'label_values(netmon_site_info{network=~"$network"}, kabupaten)',
        multi=True,
    )
    site = query_variable(
        "site",
        "Site",
        'query_result(max by (site, name) (netmon_site_info{network=~"$network", '
        'kabupaten=~"$kabupaten"}))',
        multi=not one_site,
        regex=SITE_REGEX,
        description="Sites by name; the value is the site id",
    )
    return [datasource, network, kabupaten, site]


def dashboard(
    uid: str,
    description: str,
    grid: Grid,
    *,
    one_site: bool = False,
    extra: Sequence[JSON] = (),
) -> JSON:
    """A dashboard with the common pickers, then ``extra`` ones of its own (the Kontrak
    ISP dashboard's contract picker)."""
    links = [
        {
            "asDropdown": True,
            "icon": "external link",
            "includeVars": True,
            "keepTime": True,
            "tags": ["netmon"],
            "targetBlank": False,
            "title": "netmon dashboards",
            "type": "dashboards",
        }
    ]
    return {
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": links,
        "panels": grid.panels,
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": ["netmon"],
        "templating": {"list": [*variables(one_site=one_site), *extra]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": DASHBOARDS[uid],
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }
