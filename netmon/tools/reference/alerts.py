"""The alert reference (docs/alerts.md), generated from the Prometheus alert rules.

Technicians read alerts in Bahasa Indonesia, operators may prefer English: the reference
shows both texts of every alert as the rules hold them, with the template fields named
(`<name>`, `<value>`) instead of Go template code. `netmon reference alerts`; a test fails
when the committed file is stale.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from netmon.tools.stack import RULES

ALERTS = RULES / "netmon-alerts.yml"
#: the promtool tests: their expected annotations are real, checked renderings
EXAMPLES = RULES.parent / "tests"
_LABEL = re.compile(r"\{\{-?\s*\$labels\.(\w+)\s*-?\}\}")
_VALUE = re.compile(r"\{\{-?\s*\$value[^}]*\}\}")
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
#: an annotation that looks data up (model, contact, battery...) shows as this
_LOOKED_UP = "…"

HEAD = """# Alert reference

Generated from `deploy/prometheus/rules/netmon-alerts.yml` by `netmon reference alerts`;
do not edit by hand. `<name>` marks a label of the alert, `<value>` the value that fired
it; `…` marks text the template looks up or chooses at the time (a device model, a battery
reading, the cause in words). The examples are the texts the promtool tests
(`deploy/prometheus/tests/*.yml`) expect for a sample site: what a technician's phone
shows. Durations are the production ones, checked there in simulated time.

Every site alert carries the site's labels (site, root, name, kind, kabupaten, kecamatan,
network, timezone, tz) and annotations a technician needs on the road: contact person,
map link, dashboard link, device model, ISP circuit, last battery reading, and since when
in the site's local time (WIB/WITA/WIT). Routing (deploy/alertmanager/alertmanager.yml):
`page` and `warning` go to the kabupaten's technicians, grouped by outage root so one cut
is one message; `escalate` goes to the kabupaten coordinator; `noc` and `info` to the NOC.
"""


def readable(text: str) -> str:
    """A template as a reader sees it: fields named, look-ups elided, one line."""
    text = _LABEL.sub(lambda m: f"<{m.group(1)}>", text)
    text = _VALUE.sub("<value>", text)
    text = _TEMPLATE.sub(_LOOKED_UP, text)
    text = re.sub(r"(…\s*)+", "… ", text)
    return _cell(text)


def examples(folder: Path = EXAMPLES) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(labels, annotations) of every alert the promtool tests expect, in file order."""
    out = []
    for path in sorted(folder.glob("*.yml")):
        for test in (yaml.safe_load(path.read_text()) or {}).get("tests", []):
            for case in test.get("alert_rule_test", []):
                for alert in case.get("exp_alerts") or []:
                    labels = {"alertname": case["alertname"], **alert.get("exp_labels", {})}
                    if alert.get("exp_annotations"):
                        out.append((labels, alert["exp_annotations"]))
    return out


def _example(
    rule: dict[str, Any], found: list[tuple[dict[str, str], dict[str, str]]]
) -> dict[str, str]:
    """The fullest matching example (some tests check alerts on a site without its info)."""
    wanted = {"alertname": rule["alert"], **rule.get("labels", {})}
    matching = [
        notes for labels, notes in found if all(labels.get(k) == v for k, v in wanted.items())
    ]
    return max(
        matching, key=lambda n: len(n.get("summary", "") + n.get("description", "")), default={}
    )


def _variant(rule: dict[str, Any]) -> str:
    labels = {k: v for k, v in rule.get("labels", {}).items() if k != "severity"}
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _section(group: str, rule: dict[str, Any], example: dict[str, str]) -> list[str]:
    notes: dict[str, str] = rule.get("annotations", {})
    labels: dict[str, str] = rule.get("labels", {})
    title = rule["alert"] + (f" ({_variant(rule)})" if _variant(rule) else "")
    timing = f"for {rule['for']}" if "for" in rule else "at once"
    if "keep_firing_for" in rule:
        timing += f", keeps firing {rule['keep_firing_for']} after it clears"
    lines = [
        f"### {title}",
        "",
        f"Severity `{labels.get('severity', '?')}`, fires {timing} (group `{group}`).",
        "",
        "| | Bahasa Indonesia | English |",
        "|---|---|---|",
    ]
    for key in ("summary", "description"):
        if key in notes or f"{key}_en" in notes:
            id_text, en_text = readable(notes.get(key, "")), readable(notes.get(f"{key}_en", ""))
            lines.append(f"| {key} (template) | {id_text} | {en_text} |")
        if key in example or f"{key}_en" in example:
            id_text, en_text = (_cell(example.get(k, "")) for k in (key, f"{key}_en"))
            lines.append(f"| {key} (example) | {id_text} | {en_text} |")
    extra = sorted(k for k in notes if k.split("_en")[0] not in ("summary", "description"))
    if extra:
        lines += ["", "Also carries: " + ", ".join(f"`{k}`" for k in extra) + "."]
    return [*lines, ""]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")


def alert_reference(path: Path = ALERTS) -> str:
    rules = yaml.safe_load(path.read_text())
    found = examples()
    out = [HEAD]
    for group in rules["groups"]:
        alerts = [r for r in group["rules"] if "alert" in r]
        if not alerts:
            continue
        out.append(f"## {group['name']}\n")
        for rule in alerts:
            out.extend(_section(group["name"], rule, _example(rule, found)))
    return "\n".join(out).rstrip() + "\n"
