"""Which Alertmanager silences are site maintenance: whole sites only, active only."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from netmon.config.models import SilencesConfig
from netmon.status.silences import maintenance_sites

SITES = {"desa-a": "Berau", "desa-b": "Berau", "pop-paser": "Paser"}


def silence(*matchers: tuple[str, str, bool, bool], state: str = "active") -> dict[str, Any]:
    """matchers: (name, value, isRegex, isEqual)."""
    return {
        "id": "x",
        "status": {"state": state},
        "matchers": [
            {"name": n, "value": v, "isRegex": r, "isEqual": e} for n, v, r, e in matchers
        ],
    }


def test_a_silence_of_a_site_or_a_kabupaten_is_maintenance() -> None:
    assert maintenance_sites([silence(("site", "desa-a", False, True))], SITES) == {"desa-a"}
    assert maintenance_sites([silence(("kabupaten", "Berau", False, True))], SITES) == {
        "desa-a",
        "desa-b",
    }
    # Alertmanager anchors regexes: "desa-.*" is the whole value, "desa" matches nothing
    assert maintenance_sites([silence(("site", "desa-.*", True, True))], SITES) == {
        "desa-a",
        "desa-b",
    }
    assert maintenance_sites([silence(("site", "desa", True, True))], SITES) == set()
    both = silence(("kabupaten", "Berau", False, True), ("site", "desa-b|pop-paser", True, True))
    assert maintenance_sites([both], SITES) == {"desa-b"}


def test_silences_of_some_alerts_or_not_active_are_not_maintenance() -> None:
    some_alerts = silence(("site", "desa-a", False, True), ("alertname", "SiteDown", False, True))
    negative = silence(("site", "desa-a", False, False))
    broken_regex = silence(("site", "desa-(", True, True))
    expired = silence(("site", "desa-a", False, True), state="expired")
    pending = silence(("site", "desa-a", False, True), state="pending")
    unnamed: dict[str, Any] = {"status": {"state": "active"}, "matchers": []}
    for s in (some_alerts, negative, broken_regex, expired, pending, unnamed):
        assert maintenance_sites([s], SITES) == set(), s


def test_the_alertmanager_url_takes_no_credentials() -> None:
    assert SilencesConfig(alertmanager="http://127.0.0.1:9093/").alertmanager == (
        "http://127.0.0.1:9093"
    )
    with pytest.raises(ValidationError, match="without user or password") as refused:
        SilencesConfig(alertmanager="http://admin:s3cret@am:9093")
    assert "s3cret" not in refused.value.errors()[0]["msg"]  # what netmon check prints
    with pytest.raises(ValidationError):
        SilencesConfig(alertmanager="am:9093")
