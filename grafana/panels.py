"""Small builders for Grafana 10/11 JSON models: panels, targets, variables, layout.

Every panel and target reads from the `${datasource}` variable, so one set of dashboards
serves any Prometheus the admin picks. Panel ids and grid positions are assigned by
`Grid`, so a dashboard module only says what goes where, in reading order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

DATASOURCE: JSON = {"type": "prometheus", "uid": "${datasource}"}
COLUMNS = 24

# Grafana's named colours, used consistently for site states and levels
GREEN, YELLOW, ORANGE, RED, GREY, BLUE = "green", "yellow", "orange", "red", "#8e8e8e", "blue"


#: the Min step of every query that rates a counter. netmon's counters move once per
#: poll (60 s, VSAT 300 s), not per scrape: with the datasource's 30 s, $__rate_interval
#: would be 2m and a VSAT link's rate would read 0 or 2.5x by turns. Grafana takes
#: $__rate_interval >= 4 x Min step = 332 s: one VSAT poll plus a scrape, five 60 s polls.
RATE_STEP = "83s"


def target(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> JSON:
    """A Prometheus query; refIds are given by the panel (A, B, ... in order)."""
    query: JSON = {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "expr": expr,
        "format": "table" if table else "time_series",
        "instant": instant or table,
        "legendFormat": legend or "__auto",
        "range": not (instant or table),
    }
    if "$__rate_interval" in expr:
        query["interval"] = RATE_STEP
    return query


def thresholds(*steps: tuple[str, float | None]) -> JSON:
    """Absolute steps, the first one from -infinity (value None)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def value_mappings(values: dict[int, tuple[str, str]]) -> list[JSON]:
    """value -> (text, colour) as one Grafana value mapping."""
    options = {
        str(v): {"color": color, "index": i, "text": text}
        for i, (v, (text, color)) in enumerate(sorted(values.items()))
    }
    return [{"options": options, "type": "value"}]


def override(name: str, *, regex: bool = False, **props: Any) -> JSON:
    """Field config for the field called `name` (its display name after transformations),
    or for every field whose display name matches `name` with `regex`.
    Property names use `__` for a dot: custom__transform -> custom.transform."""
    return {
        "matcher": {"id": "byRegexp" if regex else "byName", "options": name},
        "properties": [{"id": k.replace("__", "."), "value": v} for k, v in props.items()],
    }


def link(title: str, url: str) -> JSON:
    return {"targetBlank": False, "title": title, "url": url}


def site_link(field_name: str = "site") -> JSON:
    """Data link from a row or point to the Site dashboard of that site, keeping the time."""
    return link(
        "Open site ${__data.fields." + field_name + "}",
        "/d/netmon-site/netmon-site?${__url_time_range}&${datasource:queryparam}"
        "&var-site=${__data.fields." + field_name + "}",
    )


LINKS_DASHBOARD = link(
    "Open the fibre and radio links dashboard",
    "/d/netmon-links/netmon-links?${__url_time_range}&${datasource:queryparam}"
    "&${network:queryparam}&${kabupaten:queryparam}&${site:queryparam}",
)


@dataclass
class Panel:
    """One panel: its type, what it shows, its queries and its field config."""

    kind: str
    title: str
    description: str
    targets: list[JSON]
    unit: str = ""
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    steps: JSON | None = None
    mappings: list[JSON] = field(default_factory=list)
    custom: JSON = field(default_factory=dict)
    color: JSON = field(default_factory=lambda: {"mode": "thresholds"})
    options: JSON = field(default_factory=dict)
    overrides: list[JSON] = field(default_factory=list)
    links: list[JSON] = field(default_factory=list)
    transformations: list[JSON] = field(default_factory=list)

    def model(self, pid: int, pos: JSON) -> JSON:
        defaults: JSON = {
            "color": self.color,
            "custom": self.custom,
            "links": self.links,
            "mappings": self.mappings,
            "thresholds": self.steps or thresholds((GREEN, None)),
        }
        if self.unit:
            defaults["unit"] = self.unit
        for key in ("decimals", "min", "max"):
            if getattr(self, key) is not None:
                defaults[key] = getattr(self, key)
        return {
            "datasource": DATASOURCE,
            "description": self.description,
            "fieldConfig": {"defaults": defaults, "overrides": self.overrides},
            "gridPos": pos,
            "id": pid,
            "options": self.options,
            "targets": [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(self.targets)],
            "title": self.title,
            "transformations": self.transformations,
            "type": self.kind,
        }


LEGEND_TABLE: JSON = {
    "calcs": ["lastNotNull", "min", "max"],
    "displayMode": "table",
    "placement": "right",
    "showLegend": True,
}
TOOLTIP: JSON = {"mode": "multi", "sort": "desc"}


def timeseries(
    title: str,
    description: str,
    targets: list[JSON],
    *,
    unit: str,
    steps: JSON | None = None,
    threshold_style: str = "off",
    stack: bool = False,
    fill: int = 10,
    legend: JSON | None = None,
    **kw: Any,
) -> Panel:
    custom: JSON = {
        "drawStyle": "line",
        "fillOpacity": fill,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": threshold_style},
    }
    options = {"legend": legend or LEGEND_TABLE, "tooltip": TOOLTIP}
    return Panel(
        "timeseries",
        title,
        description,
        targets,
        unit=unit,
        steps=steps,
        custom=custom,
        color={"mode": "palette-classic"},
        options=options,
        **kw,
    )


def stat(
    title: str,
    description: str,
    targets: list[JSON],
    *,
    unit: str = "short",
    text_mode: str = "auto",
    color_mode: str = "background",
    graph: bool = False,
    **kw: Any,
) -> Panel:
    options = {
        "colorMode": color_mode,
        "graphMode": "area" if graph else "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "textMode": text_mode,
    }
    return Panel("stat", title, description, targets, unit=unit, options=options, **kw)


def bargauge(title: str, description: str, targets: list[JSON], *, unit: str, **kw: Any) -> Panel:
    options = {
        "displayMode": "basic",
        "orientation": "horizontal",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showUnfilled": True,
        "valueMode": "color",
    }
    return Panel("bargauge", title, description, targets, unit=unit, options=options, **kw)


def table(
    title: str,
    description: str,
    targets: list[JSON],
    *,
    columns: dict[str, str],
    sort_by: str = "",
    descending: bool = False,
    reshape: JSON | None = None,
    **kw: Any,
) -> Panel:
    """Instant queries merged into one table on their common labels.

    `columns` maps the fields to show (labels, or "Value #A" for query A) to their
    titles, in order; everything else is hidden. Overrides use the titles. `reshape`
    replaces the merge (e.g. groupingToMatrix for a state x kabupaten grid).
    """
    keep = {"id": "filterFieldsByName", "options": {"include": {"names": list(columns)}}}
    organize = {
        "id": "organize",
        "options": {
            "excludeByName": {},
            "indexByName": {name: i for i, name in enumerate(columns)},
            "renameByName": {k: v for k, v in columns.items() if k != v},
        },
    }
    steps: list[JSON] = [reshape or {"id": "merge", "options": {}}, keep, organize]
    if sort_by:
        steps.append(
            {"id": "sortBy", "options": {"sort": [{"desc": descending, "field": sort_by}]}}
        )
    options = {
        "cellHeight": "sm",
        "footer": {"countRows": False, "fields": "", "reducer": ["sum"], "show": False},
        "showHeader": True,
    }
    custom = {"align": "auto", "cellOptions": {"type": "auto"}, "filterable": True}
    return Panel(
        "table",
        title,
        description,
        targets,
        options=options,
        custom=custom,
        transformations=steps,
        **kw,
    )


def state_timeline(
    title: str, description: str, targets: list[JSON], *, mappings: list[JSON], **kw: Any
) -> Panel:
    options = {
        "alignValue": "left",
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "mergeValues": True,
        "rowHeight": 0.9,
        "showValue": "never",
        "tooltip": {"mode": "single", "sort": "none"},
    }
    custom = {"fillOpacity": 80, "lineWidth": 0}
    return Panel(
        "state-timeline",
        title,
        description,
        targets,
        mappings=mappings,
        custom=custom,
        options=options,
        **kw,
    )


def geomap(
    title: str,
    description: str,
    targets: list[JSON],
    *,
    color_field: str,
    center: tuple[float, float],
    zoom: float,
    **kw: Any,
) -> Panel:
    """Markers at the numeric fields `lat`/`lon`, coloured by `color_field`'s mappings."""
    layer = {
        "config": {
            "showLegend": True,
            "style": {
                "color": {"field": color_field, "fixed": GREEN},
                "opacity": 0.9,
                "size": {"fixed": 7},
                "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
            },
        },
        "location": {"latitude": "lat", "longitude": "lon", "mode": "coords"},
        "name": "Sites",
        "tooltip": True,
        "type": "markers",
    }
    options = {
        "basemap": {"config": {}, "name": "Basemap", "type": "default"},
        "controls": {"mouseWheelZoom": True, "showAttribution": True, "showZoom": True},
        "layers": [layer],
        "tooltip": {"mode": "details"},
        "view": {
            "allLayers": True,
            "id": "coords",
            "lat": center[0],
            "lon": center[1],
            "zoom": zoom,
        },
    }
    convert = {
        "id": "convertFieldType",
        "options": {
            "conversions": [
                {"destinationType": "number", "targetField": "lat"},
                {"destinationType": "number", "targetField": "lon"},
            ],
            "fields": {},
        },
    }
    return Panel(
        "geomap", title, description, targets, options=options, transformations=[convert], **kw
    )


@dataclass
class Grid:
    """Places panels left to right in a 24-column grid, wrapping to a new line."""

    panels: list[JSON] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def _newline(self) -> None:
        self.y += self.line_height
        self.x = 0
        self.line_height = 0

    def row(self, title: str) -> None:
        if self.x:
            self._newline()
        self.panels.append(
            {
                "collapsed": False,
                "gridPos": {"h": 1, "w": COLUMNS, "x": 0, "y": self.y},
                "id": len(self.panels) + 1,
                "panels": [],
                "title": title,
                "type": "row",
            }
        )
        self.y += 1

    def stack(self, w: int, *panels: tuple[Panel, int]) -> None:
        """Panels one above the other in a column of width `w` (e.g. beside a map)."""
        if self.x + w > COLUMNS:
            self._newline()
        y = self.y
        for panel, h in panels:
            pos = {"h": h, "w": w, "x": self.x, "y": y}
            self.panels.append(panel.model(len(self.panels) + 1, pos))
            y += h
        self.x += w
        self.line_height = max(self.line_height, y - self.y)

    def add(self, panel: Panel, w: int, h: int) -> None:
        if not 0 < w <= COLUMNS:
            raise ValueError(f"{panel.title}: width {w} outside 1..{COLUMNS}")
        if self.x + w > COLUMNS:
            self._newline()
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel.model(len(self.panels) + 1, pos))
        self.x += w
        self.line_height = max(self.line_height, h)
