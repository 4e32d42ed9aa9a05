"""The province's page in a real browser (issue 15, "What it must show"): Debian's headless
Chromium, driven by Selenium through Debian's chromedriver, loads the page from the app served
over HTTP at a phone's width (390×844), and the page must: show the expected agencies and
closings in Thai and nothing of another province, render its Thai text with a Thai font (asked
of Chromium itself: the platform fonts it used for a node's glyphs), and fit the width with no
sideways scrolling. Screenshots are kept in tests/artefacts/ (git-ignored): the first phone screen (a copy is
docs/dashboard.png, shown in the README) and the whole page. `.ci/run` installs chromium and chromium-driver."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server

from tests import test_web
from tests.test_web import (
    ADMIN,
    GROUP,
    OTHER_GROUP,
    SARABURI,
    STAFF,
    SURIN,
    link_path,
    say,
    seed,
)

pytest_plugins = ["tests.fakeline"]
line_settings = test_web.line_settings  # the same app as test_web's: fake LINE, public URL
app = test_web.app

ARTEFACTS = Path(__file__).parent / "artefacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PHONE = (390, 844)
THAI_FONTS = ("Sarabun", "Noto Sans Thai", "Noto Sans Thai UI", "Garuda", "Loma", "Laksaman")


@pytest.fixture
def served(app) -> Iterator[str]:
    """The app on a loopback port, served by werkzeug in a thread: real HTTP for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        "--hide-scrollbars",
        "--lang=th-TH",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        # the viewport itself at phone size, whatever the window decorations take
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True},
        )
        yield driver
    finally:
        driver.quit()


def rendering_fonts(driver: webdriver.Chrome, selector: str) -> dict[str, int]:
    """The platform fonts Chromium drew a node's text with, and how many glyphs each."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
    return {f["familyName"]: f["glyphCount"] for f in fonts["fonts"]}


def test_the_page_at_phone_width_in_headless_chromium(app, served, browser):
    seed(app)
    say(app, "/done OIT", user=STAFF, group=GROUP)
    say(app, "/done OIT", user=STAFF, group=OTHER_GROUP)
    browser.get(served + link_path(say(app, "/dashboard สุรินทร์", user=ADMIN)))
    assert browser.execute_script("return window.innerWidth") == PHONE[0]
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "ITA จังหวัดสุรินทร์ · ปีงบประมาณ 2569" in text
    for name in SURIN:
        assert name in text
    assert "ตอบและอนุมัติข้อมูลตามแบบวัด OIT" in text
    assert "วันอังคารที่ 30 มิถุนายน 2569 เวลา 17.00 น." in text
    assert "ยืนยันแล้ว 1/2 แห่ง" in text
    for other in (SARABURI, "สระบุรี"):
        assert other not in browser.page_source
    # Thai glyphs drawn with a Thai font (not tofu, not a fallback box font)
    fonts = rendering_fonts(browser, "header h1")
    assert any(f in fonts for f in THAI_FONTS), fonts
    assert sum(fonts.values()) >= len("ITA จังหวัดสุรินทร์") - 3
    # phone first: nothing wider than the screen
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0]
    ARTEFACTS.mkdir(exist_ok=True)
    screen = ARTEFACTS / "dashboard-phone.png"  # what the phone shows first (docs/dashboard.png)
    assert browser.save_screenshot(str(screen))
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": min(height, 4000), "deviceScaleFactor": 2, "mobile": True},
    )
    shot = ARTEFACTS / "dashboard.png"  # the whole page
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True},
    )


def test_a_revoked_link_is_404_in_the_browser_too(app, served, browser):
    path = link_path(say(app, "/dashboard สุรินทร์", user=ADMIN))
    say(app, "/dashboard revoke สุรินทร์", user=ADMIN)
    browser.get(served + path)
    assert "สุรินทร์" not in browser.page_source
    assert "ไม่พบหน้านี้ (404)" in browser.find_element(By.TAG_NAME, "body").text
