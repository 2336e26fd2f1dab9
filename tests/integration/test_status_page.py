"""The status page of a real daemon, in Debian's headless Chromium with JavaScript off:
the down sites with their cause, the kabupaten filter, English, a phone-sized window.
Screenshots go to the test artefacts directory."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmon.tools.simulate import SnmpSim, free_udp_port
from tests.harness import Running, start
from tests.helpers import ROOT, async_wait_for

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
)
WAIT = 10.0  # every browser wait, page load and script
EXPECTED = {
    "pop-mati": "down",
    "desa-belakang": "unreachable",
    "desa-hidup": "up",
    "desa-mati": "down",
    "paser-hidup": "up",
    "paser-mati": "down",
}


def artifacts() -> Path:
    out = Path(os.environ.get("NETMON_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def write(root: Path, agent: int, silent: int) -> Path:
    """Two kabupaten on two clocks, each with a site on snmpsim and one nobody answers for;
    Berau also has a POP nobody answers for, with a village behind it."""
    (root / "sites").mkdir(parents=True, exist_ok=True)
    (root / "secret").write_text("routeros\n")

    def village(sid: str, name: str, port: int, *uplinks: str) -> dict[str, Any]:
        return {
            "id": sid,
            "name": name,
            "kind": "pop" if sid.startswith("pop") else "village_office",
            "kecamatan": "Kecamatan Uji",
            "uplinks": list(uplinks),
            "devices": [
                {
                    "id": f"rtr-{sid}",
                    "address": "127.0.0.1",
                    "port": port,
                    "profiles": ["system"],
                    "snmp": {"community": {"file": "secret"}},
                }
            ],
        }

    berau = {
        "kabupaten": "Berau",
        "timezone": "Asia/Makassar",
        "sites": [
            village("desa-hidup", "Kantor Desa Hidup", agent),
            village("desa-mati", "Kantor Desa Tanjung & <Batu>", silent),
            village("pop-mati", "POP Gunung Tabur", silent),  # an outage of two sites
            village("desa-belakang", "Kantor Desa Di Belakang", silent, "pop-mati"),
        ],
    }
    paser = {
        "kabupaten": "Paser",
        "timezone": "Asia/Jakarta",  # WIB here, to see both clocks on one page
        "sites": [
            village("paser-hidup", "Kantor Desa Paser Hidup", agent),
            village("paser-mati", "Kantor Desa Paser Mati", silent),
        ],
    }
    main = {
        "defaults": {
            "interval": "1s",
            "deadline": "1s",
            "snmp": {"timeout": "300ms", "retries": 0},
        },
        "status": {"hold": 0, "interval": "200ms"},
    }
    (root / "netmon.yaml").write_text(yaml.safe_dump(main))
    (root / "sites/berau.yaml").write_text(yaml.safe_dump(berau))
    (root / "sites/paser.yaml").write_text(yaml.safe_dump(paser))
    return root / "netmon.yaml"


def browse(base: str, out: Path) -> dict[str, Any]:
    """One Chromium session (blocking; run it off the daemon's event loop). Returns what
    it saw; the assertions on it run in the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    # the page must work without JavaScript: the browser runs none
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    seen: dict[str, Any] = {}
    try:
        driver.set_page_load_timeout(WAIT)
        driver.set_script_timeout(WAIT)
        driver.set_window_size(1280, 900)
        wait = WebDriverWait(driver, WAIT)

        def rows() -> dict[str, str]:
            """Problem rows by site id, with their text."""
            found = driver.find_elements(By.CSS_SELECTOR, "li[id^='s-']")
            return {str(li.get_attribute("id"))[2:]: li.text for li in found}

        def everything() -> str:
            """All text, the folded up list included."""
            return str(driver.find_element(By.TAG_NAME, "body").get_attribute("textContent"))

        driver.get(base + "/")
        wait.until(lambda d: d.find_elements(By.ID, "s-desa-mati"))
        seen["title"] = driver.title
        seen["rows"] = rows()
        seen["behind"] = driver.find_element(By.TAG_NAME, "h3").text
        seen["outage"] = driver.find_element(By.CSS_SELECTOR, "li.down").text
        seen["all"] = everything()
        seen["up_folded"] = not driver.find_element(By.TAG_NAME, "details").get_attribute("open")
        (out / "status-page.png").write_bytes(driver.get_screenshot_as_png())
        (out / "status-page.html").write_text(driver.page_source)

        # the kabupaten filter, as a technician does it: pick, press the button
        Select(driver.find_element(By.NAME, "kabupaten")).select_by_visible_text("Paser")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(lambda d: "kabupaten=Paser" in d.current_url)
        wait.until(lambda d: d.find_elements(By.ID, "s-paser-mati"))
        seen["filtered_url"] = driver.current_url
        seen["filtered_rows"] = rows()
        seen["filtered_all"] = everything()
        seen["selected"] = Select(
            driver.find_element(By.NAME, "kabupaten")
        ).first_selected_option.text
        (out / "status-page-paser.png").write_bytes(driver.get_screenshot_as_png())

        # English, the filter kept
        driver.find_element(By.LINK_TEXT, "English").click()
        wait.until(lambda d: "lang=en" in d.current_url)
        seen["english_url"] = driver.current_url
        seen["english_h2"] = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]

        # a phone: the same page, readable at 360 px without sideways scrolling
        driver.set_window_size(360, 740)
        driver.get(base + "/")
        wait.until(lambda d: d.find_elements(By.ID, "s-desa-mati"))
        seen["phone_viewport"] = driver.execute_script("return window.innerWidth")
        seen["phone_scroll_width"] = driver.execute_script(
            "return document.documentElement.scrollWidth"
        )
        seen["phone_row_width"] = driver.find_element(By.ID, "s-desa-mati").size["width"]
        (out / "status-page-phone.png").write_bytes(driver.get_screenshot_as_png())
    finally:
        driver.quit()
    return seen


async def statuses(running: Running) -> dict[str, str]:
    _, body = await running.get("/api/v1/sites")
    return {s["site"]: s["status"] for s in json.loads(body)["data"]}


async def test_the_status_page_in_headless_chromium(tmp_path: Path, snmpsim: SnmpSim) -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run scripts/bootstrap.sh")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("selenium is not installed: run scripts/bootstrap.sh")
    out = artifacts()
    for old in out.glob("status-page*"):
        old.unlink()
    config = write(tmp_path, snmpsim.port, free_udp_port())
    async with start(config) as running:

        async def settled() -> bool:
            return await statuses(running) == EXPECTED

        await async_wait_for(settled, 15, f"sites settled as {EXPECTED}")

        # served small, compressed when asked, never cached; HEAD answers too
        async with running.http.get(
            running.base + "/", headers={"Accept-Encoding": "gzip"}
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Encoding"] == "gzip"
            assert resp.headers["Cache-Control"] == "no-store"
            html = await resp.text()
        assert "<script" not in html.lower()
        assert "Kantor Desa Tanjung &amp; &lt;Batu&gt;" in html
        async with running.http.head(running.base + "/") as resp:
            assert resp.status == 200
        status, body = await running.get("/?kabupaten=Atlantis&status=%3Cx%3E")
        assert status == 200
        assert "tidak ada di inventaris" in body

        seen = await asyncio.wait_for(asyncio.to_thread(browse, running.base, out), 90)

    assert "netmon" in seen["title"]
    assert set(seen["rows"]) == {"pop-mati", "desa-mati", "paser-mati", "desa-belakang"}
    assert "POP Gunung Tabur (pop-mati)" in seen["behind"]
    assert "2 situs terdampak" in seen["outage"]
    assert "Kantor Desa Tanjung & <Batu>" in seen["rows"]["desa-mati"]  # shown as written
    assert "perangkat" in seen["rows"]["desa-mati"]  # the cause: the device does not answer
    assert "WITA" in seen["rows"]["desa-mati"]
    assert "WIB" in seen["rows"]["paser-mati"]
    assert seen["up_folded"]
    assert "desa-hidup" in seen["all"]
    assert "paser-hidup" in seen["all"]

    assert "kabupaten=Paser" in seen["filtered_url"]
    assert seen["selected"] == "Paser"
    assert set(seen["filtered_rows"]) == {"paser-mati"}
    assert "paser-hidup" in seen["filtered_all"]
    assert "desa-mati" not in seen["filtered_all"]
    assert "desa-hidup" not in seen["filtered_all"]

    assert "kabupaten=Paser" in seen["english_url"]
    assert seen["english_h2"] == ["Down (1)"]

    assert seen["phone_viewport"] <= 360
    assert seen["phone_scroll_width"] <= seen["phone_viewport"]
    assert 200 < seen["phone_row_width"] <= seen["phone_viewport"]
    for name in ("status-page.png", "status-page-paser.png", "status-page-phone.png"):
        png = (out / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
        assert len(png) > 5_000, name  # a rendered page, not a blank
