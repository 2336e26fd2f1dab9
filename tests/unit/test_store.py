"""Snapshots replace each other whole; failed parts linger 3 intervals; removal is immediate."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from netmon.api import MetricMeta, MetricType, Part, Sample, Snapshot, TargetRef
from netmon.exposition import format_labels, render_samples
from netmon.store import Store
from tests.helpers import promtool_check, values

T = TargetRef("site-a", "dev-a", "snmp")
META = [
    MetricMeta("netmon_x", MetricType.GAUGE, "x"),
    MetricMeta("netmon_y", MetricType.GAUGE, "y"),
]


def snap(parts: list[Part], error: str | None = None, started: float = 1000.0) -> Snapshot:
    return Snapshot(T, started, 0.1, parts, error=error)


def part(name: str, metric: str, value: float, ok: bool = True) -> Part:
    samples = [Sample(metric, T.labels, value)] if ok else []
    return Part(name, samples, ok=ok, error=None if ok else "timeout")


def test_new_snapshot_replaces_the_old_one() -> None:
    store = Store(META)
    store.apply(snap([part("a", "netmon_x", 1)]), 60, now=1000)
    store.apply(snap([part("a", "netmon_x", 2)]), 60, now=1060)
    assert values(store.render(now=1060), "netmon_x") == [2.0]


def test_failed_table_keeps_last_good_rows_for_three_intervals() -> None:
    store = Store(META)
    store.apply(snap([part("a", "netmon_x", 1), part("b", "netmon_y", 5)]), 60, now=1000)
    store.apply(snap([part("a", "netmon_x", 2), part("b", "netmon_y", 0, ok=False)]), 60, now=1060)
    text = store.render(now=1060)
    assert values(text, "netmon_y") == [5.0]
    assert values(text, "netmon_poll_errors_total", reason="partial") == [1.0]
    store.expire(now=1000 + 3 * 60 + 1)
    assert values(store.render(now=1181), "netmon_y") == []
    assert values(store.render(now=1181), "netmon_x") == [2.0]


def test_expiry_in_slices_looks_only_at_the_keys_given() -> None:
    """The daemon checks its targets a slice at a time: a slice without this target
    leaves its old parts; the slice with it (and a target gone meanwhile) drops them."""
    store = Store(META)
    store.apply(snap([part("a", "netmon_x", 1)]), 60, now=1000)
    store.apply(snap([], error="timeout"), 60, now=1060)
    assert values(store.render(now=1060), "netmon_x") == [1.0]  # rendered: not dirty
    store.expire(now=1181, keys=[])
    assert values(store.render(now=1181), "netmon_x") == [1.0]
    store.expire(now=1181, keys=["gone", *store.keys()])
    assert values(store.render(now=1181), "netmon_x") == []


def test_failed_device_is_down_and_its_series_vanish_after_three_intervals() -> None:
    store = Store(META)
    store.apply(snap([part("a", "netmon_x", 1)]), 60, now=1000)
    store.apply(snap([], error="timeout"), 60, now=1060)
    text = store.render(now=1060)
    assert values(text, "netmon_target_up") == [0.0]
    assert values(text, "netmon_poll_errors_total", reason="timeout") == [1.0]
    assert values(text, "netmon_x") == [1.0]
    store.expire(now=1181)
    assert values(store.render(now=1181), "netmon_x") == []
    assert values(store.render(now=1181), "netmon_target_up") == [0.0]


def test_a_target_not_polled_yet_is_unknown_not_down() -> None:
    """Item 11: after a start (or a reload adding it) a target waits up to one interval
    for its first poll; until then it has no netmon_target_up, never a false 0."""
    store = Store(META)
    store.ensure(T, 300)
    text = store.render(now=1000)
    assert 'device="dev-a"' not in text
    assert store.entries()[T.key].state == "unknown"
    store.apply(snap([], error="timeout"), 300, now=1060)
    assert values(store.render(now=1060), "netmon_target_up") == [0.0]  # polled: it is down


def test_removed_target_leaves_nothing() -> None:
    store = Store(META)
    store.apply(snap([part("a", "netmon_x", 1)]), 60, now=1000)
    store.remove(T.key)
    assert 'device="dev-a"' not in store.render(now=1000)


def test_replace_drops_parts_the_snapshot_lacks() -> None:
    store = Store(META)
    store.apply(snap([part("a", "netmon_x", 1), part("b", "netmon_y", 2)]), 60, now=1000)
    store.apply(snap([part("a", "netmon_x", 3)]), 60, now=1001, replace=True)
    text = store.render(now=1001)
    assert values(text, "netmon_x") == [3.0]
    assert values(text, "netmon_y") == []


def test_label_values_are_escaped_and_duplicates_dropped() -> None:
    labels = (("site", 'a"b\\c\nd'),)
    assert format_labels(labels) == '{site="a\\"b\\\\c\\nd"}'
    dropped: Counter[str] = Counter()
    chunks = render_samples([Sample("netmon_x", labels, 1), Sample("netmon_x", labels, 2)], dropped)
    assert chunks["netmon_x"].count("\n") == 1
    assert chunks["netmon_x"].endswith(" 1\n")  # the first; the second is counted, not shown
    assert dropped == Counter(duplicate=1)


def test_output_passes_promtool() -> None:
    store = Store(META)
    store.apply(snap([part("a", "netmon_x", 1.5), part("b", "netmon_y", -3)]), 60, now=1000)
    result = promtool_check(store.render(now=1000))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_metric_reference_is_up_to_date() -> None:
    from collectors import REGISTRY
    from netmon.tools.reference.metrics import metric_reference
    from tests.helpers import ROOT

    assert (ROOT / "docs/metrics.md").read_text() == metric_reference(REGISTRY), (
        "docs/metrics.md is stale: run `netmon reference > docs/metrics.md`"
    )


@given(st.text(min_size=1, max_size=300))
def test_any_device_string_survives_cleaning_escaping_and_parsing(raw: str) -> None:
    """Whatever a device sends as a name, the exposition stays valid and says what we meant."""
    from netmon.api import clean_label_value
    from tests.helpers import parse_exposition

    value = clean_label_value(raw)
    assert len(value) <= 128
    assert not any(ord(c) < 32 or ord(c) == 127 for c in value)
    text = "".join(render_samples([Sample("netmon_x", (("ifname", value),), 1.0)]).values())
    parsed = parse_exposition(text)
    assert parsed == {("netmon_x", frozenset({("ifname", value)})): 1.0}


def test_each_applied_snapshot_says_how_many_samples_it_kept() -> None:
    """The daemon's collector tuning freezes by work done, polled or streamed."""
    store = Store(META)
    told: list[int] = []
    store.on_applied = told.append
    store.apply(snap([part("a", "netmon_x", 1), part("b", "netmon_y", 2)]), 60, now=1000)
    store.apply(snap([part("a", "netmon_x", 1), part("b", "netmon_y", 0, ok=False)]), 60)
    store.apply(snap([], error="timeout"), 60, now=1120)
    assert told == [2, 1, 0]


def test_the_daemon_freezes_by_what_its_store_applied() -> None:
    from collectors import REGISTRY
    from netmon.daemon import Daemon

    daemon = Daemon("unused.yaml", REGISTRY)
    assert daemon.store.on_applied == daemon.gc.delivered
