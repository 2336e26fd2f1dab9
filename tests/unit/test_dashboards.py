"""The Grafana dashboards as JSON models: current, well-formed, and on the metric contract.

Grafana is not installable here, so these are the checks Grafana's loader and an
operator would otherwise do by eye. Whether every query parses and returns data against
a real Prometheus fed by the demo is tests/integration/test_demo_dashboards.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from grafana import generate, levels
from grafana.dashboard import DASHBOARDS
from tests.helpers import ROOT

RULES = ROOT / "deploy" / "prometheus" / "rules"
PROVISIONING = ROOT / "grafana" / "provisioning"
PANEL_TYPES = {"geomap", "stat", "table", "timeseries", "state-timeline", "bargauge", "row"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
VARIABLES = ["datasource", "network", "kabupaten", "site"]
#: pickers a dashboard has after the common ones: the Kontrak ISP dashboard's contract
EXTRA_VARIABLES = {"netmon-contracts": ["contract"]}
GRAFANA_BUILTINS = {
    "__rate_interval",
    "__interval",
    "__interval_ms",
    "__range",
    "__range_s",
    "__range_ms",
    "__auto",
}
#: series Prometheus and prometheus_client make, not in netmon's reference
PROMETHEUS_SERIES = {
    "up",
    "scrape_samples_scraped",
    "scrape_duration_seconds",
    "ALERTS",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
}
PROMQL_WORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "atan2",
}


def models() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(generate.OUT.glob("*.json")):
        model = json.loads(path.read_text())
        out[model["uid"]] = model
    return out


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The panels that query (rows hold none)."""
    yield from (p for p in model["panels"] if p["type"] != "row")


def exprs() -> Iterator[tuple[str, str, str]]:
    """(dashboard uid, where, PromQL) for every target and query variable."""
    for uid, model in models().items():
        for panel in panels(model):
            for target in panel["targets"]:
                yield uid, f"{panel['title']} / {target['refId']}", target["expr"]
        for var in model["templating"]["list"]:
            if var["type"] == "query":
                yield uid, f"${var['name']}", var["query"]["query"]


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names or durations (strings, matchers, ranges and label lists removed first)."""
    expr = re.sub(r"^label_values\((.*), *\w+\)$", r"\1", expr)  # a variable's label
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(\s*\()?", text):
        word, call = match.groups()
        if not call and word not in PROMQL_WORDS:
            names.add(word)
    return names


def known_metrics() -> set[str]:
    reference = (ROOT / "docs" / "metrics.md").read_text()
    names = set(re.findall(r"^\| `([a-z_:]+)` \|", reference, flags=re.MULTILINE))
    names |= {f"{n}{s}" for n in set(names) for s in ("_bucket", "_sum", "_count")}
    for path in RULES.glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    config = yaml.safe_load((ROOT / "config" / "netmon.yaml").read_text())
    for subscription in config.get("mqtt", {}).get("subscriptions", []):
        names |= {m["name"] for m in subscription.get("metrics", [])}
    return names | PROMETHEUS_SERIES


# ------------------------------------------------------------------------ generated


def test_committed_dashboards_are_what_the_generator_builds() -> None:
    assert generate.stale() == [], "run: python grafana/generate.py"
    assert sorted(p.name for p in generate.OUT.glob("*.json")) == sorted(generate.BUILDERS)


def test_check_flag_fails_on_a_stale_file_and_passes_on_a_fresh_one(tmp_path: Path) -> None:
    assert generate.main([], out=tmp_path) == 0
    assert generate.main(["--check"], out=tmp_path) == 0
    model = json.loads((tmp_path / "noc.json").read_text())
    model["title"] = "edited in the UI"
    (tmp_path / "noc.json").write_text(generate.render(model))
    assert generate.main(["--check"], out=tmp_path) == 1
    (tmp_path / "sla.json").unlink()
    assert generate.stale(tmp_path) == ["noc.json", "sla.json"]


def test_output_is_deterministic_sorted_and_newline_terminated() -> None:
    first, second = generate.build_all(), generate.build_all()
    assert first == second
    for text in first.values():
        assert text.endswith("}\n")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


# ------------------------------------------------------------------------ structure


def test_five_dashboards_with_stable_unique_uids_and_titles() -> None:
    found = models()
    assert (
        set(found)
        == set(DASHBOARDS)
        == {
            "netmon-noc",
            "netmon-site",
            "netmon-links",
            "netmon-sla",
            "netmon-health",
            "netmon-contracts",
        }
    )
    titles = [m["title"] for m in found.values()]
    assert len(set(titles)) == len(titles)
    for model in found.values():
        assert model["schemaVersion"] == 39
        assert "netmon" in model["tags"]
        assert model["description"]


def test_panel_ids_and_titles_are_unique_per_dashboard() -> None:
    for uid, model in models().items():
        ids = [p["id"] for p in model["panels"]]
        assert len(set(ids)) == len(ids), uid
        titles = [p["title"] for p in panels(model)]
        assert len(set(titles)) == len(titles), (uid, titles)


def test_panels_fit_in_24_columns_and_do_not_overlap() -> None:
    for uid, model in models().items():
        cells: dict[tuple[int, int], str] = {}
        for panel in model["panels"]:
            pos = panel["gridPos"]
            where = (uid, panel["title"], pos)
            assert min(pos["w"], pos["h"], pos["x"] + 1, pos["y"] + 1) > 0, where
            assert pos["x"] + pos["w"] <= 24, where
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    other = cells.setdefault((x, y), panel["title"])
                    assert other == panel["title"], f"{uid}: {panel['title']} overlaps {other}"


def test_every_panel_reads_the_datasource_variable_and_has_queries() -> None:
    for uid, model in models().items():
        for panel in panels(model):
            where = f"{uid} / {panel['title']}"
            assert panel["type"] in PANEL_TYPES, where
            assert panel["datasource"] == DATASOURCE, where
            assert panel["description"].strip(), f"{where}: no description"
            assert panel["targets"], f"{where}: no queries"
            refs = [t["refId"] for t in panel["targets"]]
            assert refs == [chr(ord("A") + i) for i in range(len(refs))], where
            for target in panel["targets"]:
                assert target["expr"].strip(), where
                assert target["datasource"] == DATASOURCE, where


def test_every_dashboard_has_the_template_variables() -> None:
    for uid, model in models().items():
        variables = {v["name"]: v for v in model["templating"]["list"]}
        assert list(variables) == VARIABLES + EXTRA_VARIABLES.get(uid, []), uid
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for name in VARIABLES[1:]:
            var = variables[name]
            assert var["type"] == "query", (uid, name)
            assert var["datasource"] == DATASOURCE, (uid, name)
            assert "netmon_site_info" in var["query"]["query"], (uid, name)
        # the pickers narrow each other: kabupaten by network, site by both
        assert '"$network"' in variables["kabupaten"]["query"]["query"]
        assert {'"$network"', '"$kabupaten"'} <= set(
            re.findall(r'"\$\w+"', variables["site"]["query"]["query"])
        )
        one_site = uid == "netmon-site"
        assert variables["site"]["multi"] is not one_site, uid
        assert variables["site"]["includeAll"] is not one_site, uid


def test_queries_use_only_defined_variables() -> None:
    for uid, where, expr in exprs():
        defined = {*VARIABLES, *EXTRA_VARIABLES.get(uid, []), *GRAFANA_BUILTINS}
        used = set(re.findall(r"\$\{?([A-Za-z_]\w*)", expr))
        assert used <= defined, f"{uid} / {where}: unknown variables {used - defined}"


def test_the_contract_picker_lists_contract_ids_and_every_contract_query_uses_it() -> None:
    """Kontrak ISP: the picker takes the `contract` label the recorded contract series get
    from netmon_contract_info (which has it whether or not a figure exists yet), at the
    selected sites (multi, with All); every query that reads a series with a contract
    label filters it by the picked contracts, so no panel shows another contract."""
    model = models()["netmon-contracts"]
    picker = model["templating"]["list"][-1]
    assert (picker["name"], picker["type"], picker["multi"], picker["includeAll"]) == (
        "contract",
        "query",
        True,
        True,
    )
    assert picker["allValue"] == ".*"
    assert picker["query"]["query"] == 'label_values(netmon_contract_info{site=~"$site"}, contract)'
    # the recorded contract series carry that label: they join netmon_contract_info by it
    rules = [
        rule
        for path in RULES.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if rule.get("record", "").startswith("site:netmon_contract_")
    ]
    assert rules
    for rule in rules:
        assert re.search(r"by \(site, contract\)|site:netmon_contract_", rule["expr"]), rule
    with_contract = re.compile(r"(netmon_contract_\w+|site:netmon_contract_\w+:\w+)\{([^}]*)\}")
    for panel in panels(model):
        for t in panel["targets"]:
            found = with_contract.findall(t["expr"])
            assert found, (panel["title"], t["expr"])  # every panel reads contract series
            for name, matchers in found:
                assert 'contract=~"$contract"' in matchers, (panel["title"], name)


def test_every_metric_in_a_query_is_in_the_metric_contract() -> None:
    known = known_metrics()
    unknown = {
        f"{uid} / {where}: {name}"
        for uid, where, expr in exprs()
        for name in metric_names(expr)
        if name not in known
    }
    assert not unknown, "metrics not in docs/metrics.md or a record: rule:\n" + "\n".join(
        sorted(unknown)
    )


def test_metric_name_extraction_sees_metrics_and_ignores_the_rest() -> None:
    expr = (
        'sum by (site, status) (rate(netmon_x_total{site=~"$site", a="b c"}[$__rate_interval]))'
        ' * on (site) group_left (name) label_replace(site:netmon_y:ratio5m, "n", "$1", "o",'
        ' "(.*)") and bool 1e3 offset 5m or vector(0) / netmon_z'
    )
    assert metric_names(expr) == {"netmon_x_total", "site:netmon_y:ratio5m", "netmon_z"}


def test_data_links_point_at_existing_dashboards() -> None:
    found = models()
    for uid, model in found.items():
        text = json.dumps(model["panels"])
        for target in re.findall(r"/d/([\w-]+)/", text):
            assert target in found, f"{uid} links to unknown dashboard {target}"
    # the overview leads to the Site dashboard with the site variable set
    assert "/d/netmon-site/netmon-site?" in json.dumps(found["netmon-noc"]["panels"])
    assert "var-site=${__data.fields.site}" in json.dumps(found["netmon-noc"]["panels"])


def test_table_columns_and_overrides_refer_to_real_fields() -> None:
    for uid, model in models().items():
        for panel in panels(model):
            steps = {t["id"]: t["options"] for t in panel["transformations"]}
            refs = {t["refId"] for t in panel["targets"]}
            if panel["type"] == "table":
                names = steps["filterFieldsByName"]["include"]["names"]
                for name in names:
                    ref = re.fullmatch(r"Value #(\w)", name)
                    assert ref is None or ref.group(1) in refs, (uid, panel["title"], name)
                titles = {steps["organize"]["renameByName"].get(n, n) for n in names}
                for sort in steps.get("sortBy", {}).get("sort", []):
                    assert sort["field"] in titles, (uid, panel["title"], sort)
                for override in panel["fieldConfig"]["overrides"]:
                    if override["matcher"]["id"] == "byName":
                        name = override["matcher"]["options"]
                        assert name in titles, (uid, panel["title"], name)


def test_no_data_exceptions_name_existing_panels_and_say_why() -> None:
    found = models()
    exceptions = {**generate.NO_DATA_IN_DEMO, **generate.MAY_BE_EMPTY_IN_DEMO}
    assert len(exceptions) == len(generate.NO_DATA_IN_DEMO) + len(generate.MAY_BE_EMPTY_IN_DEMO), (
        "a panel is both without data and optionally without data"
    )
    for (uid, title), reason in exceptions.items():
        assert uid in found, uid
        assert title in {p["title"] for p in panels(found[uid])}, (uid, title)
        assert len(reason) > 30, f"{uid} / {title}: say why it has no data in the demo"


# ------------------------------------------------------------------- thresholds


def alert_expr(name: str, contains: str = "") -> str:
    for group in yaml.safe_load((RULES / "netmon-alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == name and contains in rule["expr"]:
                expr: str = rule["expr"]
                return expr
    raise AssertionError(f"no alert {name} with {contains!r}")


@pytest.mark.parametrize(
    ("alert", "contains", "pattern", "level"),
    [
        ("OpticalPowerLow", "", r"\)\s*<\s*(-?[\d.]+)\s*\n\s*or", levels.OPTICAL_LOW_DBM),
        ("OpticalPowerMarginal", "", r"<\s*(-?[\d.]+)", levels.OPTICAL_MARGINAL_DBM),
        ("LinkErrorsHigh", "", r"\)\s*>\s*([\d.]+)", levels.LINK_ERRORS_PER_SECOND),
        ("OnBatteryLong", "battery_ratio", r"<\s*([\d.]+)", levels.BATTERY_LOW_RATIO),
        # CertificateExpiring: one rule per band, each found by its lower bound
        ("CertificateExpiring", "last1d >= 14", r"<\s*([\d.]+)", levels.CERT_NOTICE_DAYS),
        ("CertificateExpiring", "last1d >= 7", r"<\s*([\d.]+)", levels.CERT_WARNING_DAYS),
        ("CertificateExpiring", "last1d < 7", r"<\s*([\d.]+)", levels.CERT_CRITICAL_DAYS),
    ],
)
def test_dashboard_thresholds_match_the_alert_rules(
    alert: str, contains: str, pattern: str, level: float
) -> None:
    match = re.search(pattern, alert_expr(alert, contains))
    assert match, f"{alert}: threshold not found; update this test with the rule"
    assert float(match.group(1)) == level, f"{alert} fires at {match.group(1)}, not {level}"


def test_optical_panels_colour_at_the_alert_levels() -> None:
    links = models()["netmon-links"]
    rx = next(p for p in panels(links) if p["title"] == "Optical receive power, both ends")
    steps = [s["value"] for s in rx["fieldConfig"]["defaults"]["thresholds"]["steps"]]
    assert steps == [None, levels.OPTICAL_LOW_DBM, levels.OPTICAL_MARGINAL_DBM]


def test_certificate_days_colour_at_the_alert_levels() -> None:
    site = models()["netmon-site"]
    days = next(p for p in panels(site) if p["title"] == "Certificate days left")
    steps = days["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [(s["color"], s["value"]) for s in steps] == [
        ("red", None),
        ("orange", levels.CERT_CRITICAL_DAYS),
        ("yellow", levels.CERT_WARNING_DAYS),
        ("green", levels.CERT_NOTICE_DAYS),
    ]
    (query,) = days["targets"]
    assert "netmon_tls_certificate_expiry_timestamp_seconds" in query["expr"]
    assert query["expr"].endswith("- time()) / 86400")  # seconds left, in days


# ------------------------------------------------------------------ provisioning


def test_provisioning_files_parse_and_point_at_the_dashboards() -> None:
    datasources = yaml.safe_load((PROVISIONING / "datasources" / "netmon.yaml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["uid"] == "prometheus"
    assert source["url"] == "${PROMETHEUS_URL}"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "netmon.yaml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "netmon"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards/netmon"
    for doc in (datasources, providers):
        assert doc["apiVersion"] == 1
