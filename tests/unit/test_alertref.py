"""docs/alerts.md: every alert with its texts in Bahasa Indonesia and English."""

from __future__ import annotations

import yaml

from netmon.tools.reference.alerts import ALERTS, alert_reference, readable
from tests.helpers import ROOT


def test_the_alert_reference_is_up_to_date() -> None:
    assert (ROOT / "docs/alerts.md").read_text() == alert_reference(), (
        "docs/alerts.md is stale: run `netmon reference alerts > docs/alerts.md`"
    )


def test_every_alert_is_listed_with_both_languages_and_an_example() -> None:
    text = alert_reference()
    rules = yaml.safe_load(ALERTS.read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    for name in names:
        assert f"### {name}" in text
    for section in text.split("\n### ")[1:]:
        name = section.split("\n", 1)[0]
        assert "| summary (template) |" in section, name
        assert "| summary (example) |" in section, f"{name}: no promtool test shows its text"
        # every summary has both languages filled in
        for row in (r for r in section.splitlines() if r.startswith("| summary")):
            cells = [c.strip() for c in row.split("|")[2:4]]
            assert all(cells), f"{name}: {row}"


def test_templates_read_as_text() -> None:
    assert readable('MATI: {{ $labels.name }} ({{ $value | printf "%.0f" }})') == (
        "MATI: <name> (<value>)"
    )
    assert readable('{{ with query "x" }}{{ . }}{{ end }} dBm') == "… dBm"
