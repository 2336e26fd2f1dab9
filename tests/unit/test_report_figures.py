"""The monthly figures from an outage script written by hand: every expected number below
is worked out from the script's wall-clock times (datetime with explicit offsets), not by
the code under test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from netmon.config.contracts import Contract, Targets
from netmon.report import figures as fig
from netmon.report.assemble import Row, SiteInfo
from netmon.report.prometheus import Quality
from netmon.status.journal import Outage

WITA = timezone(timedelta(hours=8))
WIB = timezone(timedelta(hours=7))
NOVEMBER = 30 * 86400  # 2,592,000 s, whatever the zone


def t(zone: timezone, *when: int) -> float:
    return datetime(*when, tzinfo=zone).timestamp()  # type: ignore[arg-type,misc]


def outage(site: str, start: float, end: float, cause: str = "link", **flags: bool) -> Outage:
    return Outage(site, site, cause, "fo-1" if cause == "link" else "", start, end, "down", **flags)


def contract(
    sites: tuple[str, ...],
    excludes: frozenset[str] = frozenset(fig.REASONS),
    start: date = date(2026, 1, 1),
    end: date = date(2026, 12, 31),
) -> Contract:
    return Contract(
        id="tlk-kutim-2026",
        isp="Telkom Indonesia",
        title="Internet desa",
        start=start,
        end=end,
        measured_at="router",
        bandwidth_mbps=20,
        sites=sites,
        targets=Targets(availability=0.995),
        excludes=excludes,
        penalties=((0.995, 5.0), (0.99, 10.0)),
        source="contracts/x.yaml",
    )


# desa-a is in WITA (UTC+8), desa-b in WIB (UTC+7)
SCRIPT = [
    # a cut of 2 h 30 min 15 s: counts, exactly 9,015 s
    outage("desa-a", t(WITA, 2026, 11, 10, 8, 0, 0), t(WITA, 2026, 11, 10, 10, 30, 15)),
    # a flat battery, 4 h: excluded as power
    outage("desa-a", t(WITA, 2026, 11, 12, 1), t(WITA, 2026, 11, 12, 5), cause="power"),
    # a link outage during announced maintenance, 1 h: excluded as maintenance
    outage("desa-a", t(WITA, 2026, 11, 15, 10), t(WITA, 2026, 11, 15, 11), maintenance=True),
    # across the month's end, 23:00 to 01:30 WITA: 3,600 s in November
    outage("desa-a", t(WITA, 2026, 11, 30, 23), t(WITA, 2026, 12, 1, 1, 30)),
    # across the month's start, 23:30 to 00:10 WITA: 600 s in November
    outage("desa-a", t(WITA, 2026, 10, 31, 23, 30), t(WITA, 2026, 11, 1, 0, 10)),
    # 23:00-01:00 WIB on the last night: 3,600 s in November for the WIB site (the same
    # instants are 00:00-02:00 WITA on 1 December: nothing of November in WITA)
    outage("desa-b", t(WIB, 2026, 11, 30, 23), t(WIB, 2026, 12, 1, 1)),
    # 23:30 WIB 31 Oct to 00:30 WIB 1 Nov: 1,800 s in November
    outage("desa-b", t(WIB, 2026, 10, 31, 23, 30), t(WIB, 2026, 11, 1, 0, 30)),
    # netmon was blind: excluded as monitoring_stale, 20 min
    outage("desa-b", t(WIB, 2026, 11, 20, 9), t(WIB, 2026, 11, 20, 9, 20), stale=True),
    # a declared PLN cut, 2 h: excluded as power_cut
    outage("desa-b", t(WIB, 2026, 11, 21, 13), t(WIB, 2026, 11, 21, 15), power_cut=True),
    # another site's outage never counts here
    outage("desa-c", t(WITA, 2026, 11, 5), t(WITA, 2026, 11, 6)),
]


def test_month_bounds_are_local_midnights_in_the_sites_zone() -> None:
    assert fig.month_bounds("2026-11", "Asia/Makassar") == (
        datetime(2026, 10, 31, 16, tzinfo=UTC).timestamp(),
        datetime(2026, 11, 30, 16, tzinfo=UTC).timestamp(),
    )
    assert fig.month_bounds("2026-11", "Asia/Jakarta") == (
        datetime(2026, 10, 31, 17, tzinfo=UTC).timestamp(),
        datetime(2026, 11, 30, 17, tzinfo=UTC).timestamp(),
    )
    lo, hi = fig.month_bounds("2026-12", "Asia/Makassar")  # December: into the next year
    assert hi - lo == 31 * 86400


def test_wita_site_counts_exact_durations_and_lists_the_excluded_with_reasons() -> None:
    f = fig.site_figures("desa-a", "Asia/Makassar", "2026-11", SCRIPT, contract(("desa-a",)))
    assert [round(c.seconds) for c in f.counted] == [600, 9015, 3600]
    assert f.counted_seconds == 13215
    assert [(round(c.seconds), c.reasons) for c in f.excluded] == [
        (14400, ("power",)),
        (3600, ("maintenance",)),
    ]
    # the part inside November ends at 00:00 WITA on 1 December
    assert f.counted[-1].end == t(WITA, 2026, 12, 1)
    assert f.availability == pytest.approx(1 - 13215 / NOVEMBER, abs=1e-12)
    assert f.availability == pytest.approx(0.99490162, abs=1e-8)
    assert f.met is False
    assert f.penalty == 5.0  # below 0.995, not below 0.99


def test_wib_site_month_ends_at_wib_midnight() -> None:
    f = fig.site_figures("desa-b", "Asia/Jakarta", "2026-11", SCRIPT, contract(("desa-b",)))
    assert sorted(round(c.seconds) for c in f.counted) == [1800, 3600]
    assert sorted(c.reasons for c in f.excluded) == [("monitoring_stale",), ("power_cut",)]
    assert f.excluded_seconds == 1200 + 7200
    assert f.availability == pytest.approx(1 - 5400 / NOVEMBER, abs=1e-12)
    assert f.met is True
    assert f.penalty == 0.0


def test_same_instants_in_wita_fall_in_another_month() -> None:
    """Had desa-b been in WITA, its last-night outage would be all December's, and the
    October-night one would reach 1 h 30 min into November (00:30-01:30 WITA)."""
    f = fig.site_figures("desa-b", "Asia/Makassar", "2026-11", SCRIPT, contract(("desa-b",)))
    assert [round(c.seconds) for c in f.counted] == [3600]
    assert f.counted[0].start == t(WITA, 2026, 11, 1, 0, 30)


def test_a_reason_the_contract_does_not_list_counts_against_the_isp() -> None:
    only_power = contract(("desa-b",), excludes=frozenset({"power"}))
    f = fig.site_figures("desa-b", "Asia/Jakarta", "2026-11", SCRIPT, only_power)
    assert f.excluded == ()
    assert f.counted_seconds == 1800 + 3600 + 1200 + 7200


def test_the_contract_period_clips_the_month() -> None:
    """A contract that ends on 10 November (inclusive, local) counts nothing after it."""
    short = contract(("desa-a",), end=date(2026, 11, 9))
    f = fig.site_figures("desa-a", "Asia/Makassar", "2026-11", SCRIPT, short)
    assert [round(c.seconds) for c in f.counted] == [600]
    assert f.month_seconds == NOVEMBER  # availability is still over the whole month


def test_a_record_written_twice_counts_once() -> None:
    cut = outage("desa-a", t(WITA, 2026, 11, 3, 10), t(WITA, 2026, 11, 3, 11))
    f = fig.site_figures("desa-a", "Asia/Makassar", "2026-11", [cut, cut], contract(("desa-a",)))
    assert f.counted_seconds == 3600


@pytest.mark.parametrize(
    ("availability", "percent"),
    [(1.0, 0.0), (0.995, 0.0), (0.9949, 5.0), (0.99, 5.0), (0.9899, 10.0), (0.5, 10.0)],
)
def test_penalty_from_the_table(availability: float, percent: float) -> None:
    assert fig.penalty_percent(availability, ((0.995, 5.0), (0.99, 10.0))) == percent


def test_no_penalty_without_a_table() -> None:
    assert fig.penalty_percent(0.1, ()) == 0.0


def test_a_site_without_contract_excludes_every_reason_and_has_no_target() -> None:
    f = fig.site_figures("desa-a", "Asia/Makassar", "2026-11", SCRIPT, None)
    assert f.counted_seconds == 13215
    assert f.target is None
    assert f.met is None
    assert f.penalty == 0.0


def test_a_bad_month_is_refused() -> None:
    for bad in ("2026-13", "2026/11", "11-2026", "2026-1x"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            fig.month_bounds(bad, "Asia/Makassar")


def test_sites_behind_a_flat_battery_are_excluded_behind_a_cut_they_count() -> None:
    """Two sites share the village office's connection: when its battery goes flat they
    are unreachable (root: the office), and that is the battery's doing, not the ISP's;
    when the ISP's link to the office is cut, their hour counts like the office's."""

    def behind(start: float, end: float) -> Outage:
        return Outage("desa-b", "desa-a", "uplink", "", start, end, "unreachable")

    flat = outage("desa-a", t(WITA, 2026, 11, 3, 1), t(WITA, 2026, 11, 3, 4), cause="power")
    cut = outage("desa-a", t(WITA, 2026, 11, 9, 10), t(WITA, 2026, 11, 9, 11))
    # the children's outages start and end a poll after the office's
    children = [
        behind(t(WITA, 2026, 11, 3, 1, 0, 30), t(WITA, 2026, 11, 3, 4, 0, 20)),
        behind(t(WITA, 2026, 11, 9, 10, 0, 30), t(WITA, 2026, 11, 9, 11, 0, 30)),
    ]
    f = fig.site_figures(
        "desa-b", "Asia/Makassar", "2026-11", [flat, cut, *children], contract(("desa-a", "desa-b"))
    )
    assert [c.reasons for c in f.excluded] == [("power",)]
    assert f.excluded_seconds == 3 * 3600 - 10
    assert f.counted_seconds == 3600
    # the same child alone in the journal (its root's record unknown) counts
    alone = fig.site_figures(
        "desa-b", "Asia/Makassar", "2026-11", children[:1], contract(("desa-b",))
    )
    assert alone.counted_seconds == 3 * 3600 - 10


def test_differs_compares_what_the_rules_leave_out() -> None:
    """The contract's rule leaves out every default reason; the site's rule (no contract)
    counts a flat battery; a contract that counts a reason is not compared at all.
    desa-a's journal: 13,215 s counted, 4 h of flat battery (SCRIPT above)."""
    info = SiteInfo("desa-a", "Desa A", "village_office", "Kutai Timur", "", "Asia/Makassar")
    counted, power = 13215 / NOVEMBER, 4 * 3600 / NOVEMBER

    def row(c: Contract | None, rules: float) -> Row:
        f = fig.site_figures("desa-a", "Asia/Makassar", "2026-11", SCRIPT, c)
        return Row(info, c, f, Quality(availability=rules))

    full = contract(("desa-a",))
    assert not row(full, 1 - counted).differs(60)
    assert row(full, 1 - counted - power).differs(60)
    # no contract: the site's rule counted the battery, and so does the comparison
    assert not row(None, 1 - counted - power).differs(60)
    assert row(None, 1 - counted).differs(60)
    # a contract that counts the battery against the ISP: the rules cannot say
    counts_power = contract(("desa-a",), excludes=frozenset(fig.REASONS) - {"power"})
    assert not row(counts_power, 0.5).differs(60)


def test_a_site_behind_its_root_takes_each_root_record_s_reasons_for_its_time_only() -> None:
    """pop-a's link is cut 08:00-18:00; maintenance is announced at 17:00, so the journal
    wrote the hub's outage as two records. A village behind it 08:00:30-10:00 counts
    whole; one behind it 16:00-18:00:30 counts 16:00-17:00 and is excluded (maintenance)
    from 17:00, the 30 s its recovery was noticed after the hub's going with the last."""
    at8, at17, at18 = (t(WITA, 2026, 11, 9, h) for h in (8, 17, 18))
    hub = [
        Outage("pop-a", "pop-a", "link", "fo-1", at8, at17, "down"),
        Outage("pop-a", "pop-a", "link", "fo-1", at17, at18, "down", maintenance=True),
    ]

    def behind(site: str, start: float, end: float) -> Outage:
        return Outage(site, "pop-a", "uplink", "", start, end, "unreachable")

    early = behind("desa-b", t(WITA, 2026, 11, 9, 8, 0, 30), t(WITA, 2026, 11, 9, 10))
    late = behind("desa-c", t(WITA, 2026, 11, 9, 16), t(WITA, 2026, 11, 9, 18, 0, 30))
    every = [*hub, early, late]
    both = contract(("pop-a", "desa-b", "desa-c"))
    b = fig.site_figures("desa-b", "Asia/Makassar", "2026-11", every, both)
    assert (b.counted_seconds, b.excluded_seconds) == (2 * 3600 - 30, 0)
    c = fig.site_figures("desa-c", "Asia/Makassar", "2026-11", every, both)
    assert c.counted_seconds == 3600
    assert [(p.reasons, p.seconds) for p in c.excluded] == [(("maintenance",), 3600 + 30)]
    assert c.excluded[0].start == t(WITA, 2026, 11, 9, 17)


def test_differs_is_not_judged_for_a_contract_that_begins_inside_the_month() -> None:
    """The rules know no contract dates: a contract from 15 November is the journal's
    alone (its figure covers half the month, the rules' all of it)."""
    info = SiteInfo("desa-a", "Desa A", "village_office", "Kutai Timur", "", "Asia/Makassar")
    late = contract(("desa-a",), start=date(2026, 11, 15))
    f = fig.site_figures("desa-a", "Asia/Makassar", "2026-11", SCRIPT, late)
    assert not Row(info, late, f, Quality(availability=0.5)).differs(60)
    whole = contract(("desa-a",))
    f = fig.site_figures("desa-a", "Asia/Makassar", "2026-11", SCRIPT, whole)
    assert Row(info, whole, f, Quality(availability=0.5)).differs(60)
