"""A report as CSV and as printable HTML (Jinja2, autoescaped; inline SVG charts, no JS).
The words are data in texts/{id,en}.yaml (both files must have the same keys); numbers are
formatted here, once, so the CSV and the HTML say the same thing. A figure that is not
known prints the language's "no data", never a number."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from importlib.resources import files
from typing import Any

import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from netmon.report import figures as fig
from netmon.report.assemble import Report, Row

LANGS = ("id", "en")
CSV_COLUMNS = (
    "month",
    "report",
    "contract",
    "isp",
    "site",
    "site_name",
    "kabupaten",
    "kind",
    "timezone",
    "month_start",
    "month_end",
    "month_seconds",
    "counted_seconds",
    "excluded_seconds",
    "outages_counted",
    "outages_excluded",
    "availability",
    "availability_target",
    "availability_met",
    "availability_prometheus",
    "rtt_p95_ms",
    "rtt_p95_target_ms",
    "loss_ratio",
    "loss_target",
    "utilisation_p95",
    "hours_above_80",
    "throughput_mbps",
    "throughput_ratio",
    "throughput_target",
    "penalty_percent",
)


def _flatten(node: Any, prefix: str, out: dict[str, str]) -> None:
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, f"{name}.", out)
        else:
            out[name] = str(value)


def texts(lang: str) -> dict[str, str]:
    """key -> text of one language; both files must hold the same keys."""
    folder = files("netmon.report") / "texts"
    read: dict[str, dict[str, str]] = {}
    for code in LANGS:
        out: dict[str, str] = {}
        _flatten(yaml.safe_load((folder / f"{code}.yaml").read_text(encoding="utf-8")), "", out)
        read[code] = out
    if set(read["id"]) != set(read["en"]):
        diff = sorted(set(read["id"]) ^ set(read["en"]))
        raise ValueError(f"report texts: id.yaml and en.yaml differ in {', '.join(diff)}")
    return read[lang]


class Words:
    """Formatting in one language: numbers, times in a site's zone, durations."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.t = texts(lang)
        self.comma = lang == "id"  # Indonesian writes 99,95 %

    def __call__(self, key: str, **fill: object) -> str:
        return self.t[key].format(**fill)

    def named(self, group: str, value: str) -> str:
        return self.t.get(f"{group}.{value}", value)

    def num(self, value: float | None, digits: int, suffix: str = "") -> str:
        if value is None:
            return self.t["no_data"]
        text = f"{value:,.{digits}f}"
        if self.comma:
            text = text.replace(",", "_").replace(".", ",").replace("_", ".")
        return text + suffix

    def pct(self, ratio: float | None, digits: int = 3) -> str:
        return self.num(None if ratio is None else ratio * 100, digits, " %")

    def month(self, month: str) -> str:
        year, mon = fig.parse_month(month)
        return f"{self.t['months'].split()[mon - 1]} {year}"

    def when(self, ts: float, zone: str) -> str:
        local = datetime.fromtimestamp(ts, fig.zone_of(zone))
        return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or "")

    @staticmethod
    def duration(seconds: float) -> str:
        """h:mm:ss, hours not wrapped into days: exact to the second, easy to add."""
        s = round(seconds)
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _csv_number(value: float | None, digits: int, none: str) -> str:
    return none if value is None else f"{value:.{digits}f}"


def _mbps(bytes_per_second: float | None) -> float | None:
    """Bytes per second as Mbit/s, the unit contracts are written in."""
    return None if bytes_per_second is None else bytes_per_second * 8 / 1_000_000


def csv_text(report: Report, w: Words) -> str:
    """One row per site and contract; dot decimals for spreadsheets and scripts, times in
    ISO 8601 with the site's offset; an unknown figure is the language's "no data"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    nd = w.t["no_data"]
    for r in report.rows:
        f, c, q = r.figures, r.contract, r.quality
        zone = fig.zone_of(r.site.timezone)
        targets = c.targets if c is not None else None
        met = f.met
        writer.writerow(
            [
                report.month,
                report.slug,
                f.contract,
                c.isp if c is not None else "",
                r.site.id,
                r.site.name,
                r.site.kabupaten,
                r.site.kind,
                zone.tzname(None),
                datetime.fromtimestamp(f.month_start, zone).isoformat(),
                datetime.fromtimestamp(f.month_end, zone).isoformat(),
                f"{f.month_seconds:.0f}",
                f"{f.counted_seconds:.0f}",
                f"{f.excluded_seconds:.0f}",
                len(f.counted),
                len(f.excluded),
                f"{f.availability:.6f}",
                _csv_number(f.target, 4, ""),
                "" if met is None else ("yes" if met else "no"),
                _csv_number(q.availability if q else None, 6, nd),
                _csv_number(q.rtt_p95_ms if q else None, 1, nd),
                _csv_number(targets.rtt_p95_ms if targets else None, 1, ""),
                _csv_number(q.loss if q else None, 4, nd),
                _csv_number(targets.loss_ratio if targets else None, 4, ""),
                _csv_number(q.utilisation_p95 if q else None, 3, nd),
                _csv_number(q.hours_above_80 if q else None, 2, nd),
                _csv_number(_mbps(q.throughput) if q else None, 2, nd),
                _csv_number(r.throughput_ratio, 3, nd),
                _csv_number(targets.throughput_ratio if targets else None, 4, ""),
                f"{f.penalty:g}",
            ]
        )
    return out.getvalue()


# --- HTML ------------------------------------------------------------------------------

BAR_H, BAR_GAP, LABEL_W, CHART_W = 16, 6, 190, 420


def _chart(rows: list[Row], w: Words) -> dict[str, Any]:
    """An SVG bar per site: availability on a scale from a floor (90 %, lower when a site
    fell below it) to 100 %, the target as a line."""
    low = min((r.figures.availability for r in rows), default=1.0)
    floor = 0.9 if low >= 0.9 else max(0.0, int(low * 20) / 20)
    span = 1.0 - floor
    target = next((r.figures.target for r in rows if r.figures.target is not None), None)

    def x(v: float) -> float:
        return LABEL_W + max(0.0, v - floor) / span * CHART_W

    bars = []
    for i, r in enumerate(rows):
        met = r.figures.met
        bars.append(
            {
                "y": i * (BAR_H + BAR_GAP),
                "width": round(x(r.figures.availability) - LABEL_W, 1),
                "label": r.site.name,
                "value": w.pct(r.figures.availability, 2),
                "cls": "none" if met is None else ("met" if met else "missed"),
            }
        )
    height = len(rows) * (BAR_H + BAR_GAP) + 18
    ticks = [floor + span * k / 4 for k in range(5)]
    return {
        "bars": bars,
        "height": height,
        "width": LABEL_W + CHART_W + 80,
        "label_w": LABEL_W,
        "bar_h": BAR_H,
        "target_x": None if target is None else round(x(target), 1),
        "axis_y": height - 16,
        "ticks": [{"x": round(x(t), 1), "label": w.pct(t, 1)} for t in ticks],
    }


def _view(report: Report, w: Words, generated: float, example: bool) -> dict[str, Any]:
    rows = list(report.rows)
    nd = w.t["no_data"]
    site_rows: list[dict[str, Any]] = []
    counted: list[dict[str, str]] = []
    excluded: list[dict[str, str]] = []
    for r in rows:
        f, q = r.figures, r.quality
        t = r.contract.targets if r.contract is not None else None
        site_rows.append(
            {
                "contract": f.contract or w.t["contract.no_contract"],
                "site": r.site.name,
                "site_id": r.site.id,
                "kind": w.named("kind", r.site.kind),
                "zone": fig.zone_of(r.site.timezone).tzname(None),
                "availability": w.pct(f.availability),
                "availability_prom": w.pct(q.availability) if q else nd,
                "differs": r.differs(report.scrape_interval),
                "target": w.pct(f.target, 2) if f.target is not None else "",
                "met": "" if f.met is None else w.t["met_yes" if f.met else "met_no"],
                "met_cls": "" if f.met is None else ("met" if f.met else "missed"),
                "counted": w.duration(f.counted_seconds),
                "excluded": w.duration(f.excluded_seconds),
                "outages": len(f.counted),
                "rtt": w.num(q.rtt_p95_ms if q else None, 1, " ms"),
                "rtt_target": w.num(t.rtt_p95_ms, 0, " ms") if t and t.rtt_p95_ms else "",
                "loss": w.pct(q.loss if q else None, 2),
                "loss_target": w.pct(t.loss_ratio, 2) if t and t.loss_ratio is not None else "",
                "util": w.pct(q.utilisation_p95 if q else None, 1),
                "hours80": w.num(q.hours_above_80 if q else None, 1),
                "throughput": w.num(_mbps(q.throughput) if q else None, 1, " Mbps"),
                "throughput_ratio": w.pct(r.throughput_ratio, 1) if r.throughput_ratio else "",
                "throughput_target": (
                    w.pct(t.throughput_ratio, 0) if t and t.throughput_ratio is not None else ""
                ),
                "throughput_cls": (
                    "" if r.throughput_met is None else ("met" if r.throughput_met else "missed")
                ),
                "penalty": f"{f.penalty:g} %" if f.penalty else "0 %",
            }
        )
        for part in f.counted + f.excluded:
            o = part.outage
            item = {
                "site": r.site.name,
                "contract": f.contract,
                "start": w.when(part.start, r.site.timezone),
                "end": w.t["open"] if part.open else w.when(part.end, r.site.timezone),
                "duration": w.duration(part.seconds),
                "cause": w.named("cause", o.cause) + (f" ({o.link})" if o.link else ""),
                "root": o.root if o.root != o.site else "",
                "state": w.named("state", o.state),
                "reason": "; ".join(w.named("reason", x) for x in part.reasons),
            }
            (counted if part.counts else excluded).append(item)
    families: dict[str, list[Row]] = {}
    for r in rows:
        families.setdefault(r.site.kind, []).append(r)
    charts = [
        {"kind": w.named("kind", k), "chart": _chart(v, w)} for k, v in sorted(families.items())
    ]
    contracts = []
    for c in report.contracts:
        zone = rows[0].site.timezone if rows else fig.DEFAULT_ZONE
        t = c.targets
        targets = [
            f"{w.t['col.availability']}: {w.pct(t.availability, 2)}" if t.availability else "",
            f"RTT p95 ≤ {w.num(t.rtt_p95_ms, 0, ' ms')}" if t.rtt_p95_ms else "",
            f"{w.t['col.loss']} ≤ {w.pct(t.loss_ratio, 2)}" if t.loss_ratio is not None else "",
            w("throughput_target", pct=w.pct(t.throughput_ratio, 0))
            if t.throughput_ratio is not None
            else "",
        ]
        contracts.append(
            {
                "id": c.id,
                "isp": c.isp,
                "title": c.title,
                "period": f"{c.start.isoformat()} \u2013 {c.end.isoformat()}",
                "measured_at": w.named("measured_at", c.measured_at),
                "bandwidth": w.num(c.bandwidth_mbps, 0, " Mbps"),
                "targets": "; ".join(x for x in targets if x),
                "penalties": "; ".join(
                    f"< {w.pct(below, 2)}: {percent:g} %" for below, percent in c.penalties
                ),
                "excludes": ", ".join(w.named("reason", x) for x in fig.REASONS if x in c.excludes),
                "zone": fig.zone_of(zone).tzname(None),
            }
        )
    mean = fig.mean_availability([r.figures for r in rows])
    title = (
        w("title_contract", id=report.name)
        if report.scope == "contract"
        else w("title_kabupaten", name=report.name)
    )
    return {
        "lang": w.lang,
        "t": w.t,
        "title": title,
        "subtitle": w("subtitle", month=w.month(report.month)),
        "example": example,
        "generated": w("generated", t=w.when(generated, fig.DEFAULT_ZONE)),
        "contracts": contracts,
        "summary": {
            "sites": len({r.site.id for r in rows}),
            "mean": w.pct(mean),
            "below": sum(1 for r in rows if r.figures.met is False),
            "counted": len(counted),
            "excluded": len(excluded),
        },
        "rows": site_rows,
        "counted": counted,
        "excluded": excluded,
        "charts": charts,
        "prometheus": report.prometheus,
        "any_differs": any(r["differs"] for r in site_rows),
        # a contract's report names its contract once, above: no column repeating it
        "contract_column": report.scope != "contract",
    }


_ENV: list[Environment] = []


def _env() -> Environment:
    if not _ENV:
        _ENV.append(
            Environment(
                loader=PackageLoader("netmon.report", "templates"),
                autoescape=select_autoescape(["html"]),
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
        )
    return _ENV[0]


def html_text(report: Report, w: Words, generated: float, example: bool = False) -> str:
    env = _env()
    # our own stylesheet, not data: inlined as is so the HTML is one self-contained file
    css = Markup((files("netmon.report") / "templates" / "report.css").read_text("utf-8"))  # noqa: S704
    view = _view(report, w, generated, example)
    render: Callable[..., str] = env.get_template("report.html").render
    return render(css=css, **view)
