"""Prometheus text exposition, rendered once per snapshot and joined per scrape.

A family's samples must stand together under one HELP/TYPE, but they come
from many targets. So each target's text is kept per family; a scrape writes
each family's header once and joins the targets' pre-rendered lines.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from netmon.api import Labels, MetricMeta

_ESCAPES = str.maketrans({"\\": r"\\", '"': r"\"", "\n": r"\n"})


def escape_label(value: str) -> str:
    return value.translate(_ESCAPES)


def escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")


def format_value(value: float) -> str:
    value = float(value)  # ints are valid floats to the type checker, not to is_integer()
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def format_labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels)
    return "{" + inner + "}"


def render_samples(
    samples: Iterable[tuple[str, Labels, float]],
    dropped: Counter[str] | None = None,
    known: Mapping[Labels, str] | None = None,
    used: dict[Labels, str] | None = None,
) -> dict[str, str]:
    """family name -> lines (each ending in a newline) for these samples.

    A second series with a label set already seen would make the whole scrape
    invalid, so it is left out here and counted in ``dropped["duplicate"]``.
    That is a last guard: the SNMP engine makes every table's label sets unique
    (a clash appends the index), so a duplicate here means two profiles or
    collectors emit the same series for one target.
    Hot path: rows share one labels tuple across their metrics, so the label
    text is cached by the tuple's identity (tuples do not cache their hash;
    the samples keep every tuple alive for the duration of this call). ``known``: label
    texts of the target's last render (a poll builds new tuples of the same labels);
    ``used`` gets the ones of this render, for the next.
    """
    chunks: dict[str, list[str]] = {}
    seen: set[str] = set()
    formatted: dict[int, str] = {}
    for name, labels, value in samples:
        text = formatted.get(id(labels))
        if text is None:
            text = known.get(labels) if known is not None else None
            if text is None:
                text = format_labels(labels)
            formatted[id(labels)] = text
            if used is not None:
                used[labels] = text
        head = name + text
        if head in seen:
            if dropped is not None:
                dropped["duplicate"] += 1
            continue
        seen.add(head)
        lines = chunks.get(name)
        if lines is None:
            chunks[name] = lines = []
        lines.append(f"{head} {format_value(value)}\n")
    return {name: "".join(lines) for name, lines in chunks.items()}


def header(meta: MetricMeta) -> str:
    return f"# HELP {meta.name} {escape_help(meta.help)}\n# TYPE {meta.name} {meta.type.value}\n"


def untyped_header(name: str) -> str:
    return f"# TYPE {name} untyped\n"


def openmetrics_header(name: str, meta: MetricMeta | None) -> str:
    """HELP and TYPE of a family in OpenMetrics 1.0: a counter's family is named without
    its samples' ``_total``; a counter named otherwise, or a family without meta, is
    ``unknown`` (OpenMetrics has no untyped); HELP escapes the double quote too."""
    if meta is None:
        return f"# TYPE {name} unknown\n"
    kind = meta.type.value
    family = name
    if kind == "counter":
        if name.endswith("_total"):
            family = name.removesuffix("_total")
        else:
            kind = "unknown"
    help_text = escape_help(meta.help).replace('"', r"\"")
    return f"# HELP {family} {help_text}\n# TYPE {family} {kind}\n"


def family_header(name: str, meta: MetricMeta | None, openmetrics: bool = False) -> str:
    """HELP and TYPE of a family in the text format or OpenMetrics."""
    if openmetrics:
        return openmetrics_header(name, meta)
    return header(meta) if meta is not None else untyped_header(name)


def by_family(
    rendered: Iterable[Mapping[str, str]], pause: Callable[[], None] | None = None
) -> dict[str, list[str]]:
    """Many targets' pre-rendered families, grouped: family name -> their texts.
    ``pause``, when given, is called after every 256 targets (a worker thread giving way
    to the event loop: netmon.give_way)."""
    grouped: dict[str, list[str]] = {}
    for i, chunk in enumerate(rendered):
        for name, text in chunk.items():
            grouped.setdefault(name, []).append(text)
        if pause is not None and i % 256 == 255:
            pause()
    return grouped


def join_families(meta: Mapping[str, MetricMeta], rendered: Iterable[Mapping[str, str]]) -> str:
    """One exposition text from many targets' pre-rendered families."""
    grouped = by_family(rendered)
    out: list[str] = []
    for name in sorted(grouped):
        out.append(family_header(name, meta.get(name)))
        out.extend(grouped[name])
    return "".join(out)
