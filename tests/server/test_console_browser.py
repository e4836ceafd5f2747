"""The console in a real browser, served the way operators run it: the `zte-uxip-server console`
process (gunicorn) on a free port, its own config and database, headless Chromium driven by
selenium. Log in through the form, open a device with a month of data, no console errors, no
script from device data runs. Screenshots are saved as artefacts (path printed)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from broker import free_port
from server import histories
from server.consolehelp import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTEFACTS = ROOT / ".cache" / "screenshots"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _skip_reason() -> str | None:
    if not os.path.exists(CHROMEDRIVER) or not shutil.which("chromium"):
        return "needs chromium and chromium-driver (apt; make test installs them)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")


@pytest.fixture
def console(tmp_path, store_url):
    port = free_port()
    cfg = tmp_path / "server.toml"
    cfg.write_text(f'region = "eu"\n[store]\nurl = "{store_url}"\n[console]\nlisten = "127.0.0.1:{port}"\n'
                   f'secret_key_file = "{tmp_path / "console.secret"}"\nworkers = 2\n')
    seed = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "server" / "seed_console.py"), "--config", str(cfg),
         "--user", "sam:support", "--user", "pat:privacy", "poor_radio_drops:30:300", "hostile_mix:1:300",
         "healthy:7:600"],
        capture_output=True, text=True, timeout=300)
    assert seed.returncode == 0, seed.stderr
    log = open(tmp_path / "console.log", "wb")
    proc = subprocess.Popen([str(BIN / "zte-uxip-server"), "console", "--config", str(cfg)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        assert proc.poll() is None, (tmp_path / "console.log").read_text()
        assert time.monotonic() < deadline, "console did not answer within 30 s"
        time.sleep(0.3)
    yield base, tmp_path / "console.log"
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


@pytest.fixture
def browser():
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--no-first-run", "--window-size=1600,1200", "--disable-dev-shm-usage"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def _shot(drv, tmp_path: Path, name: str) -> Path:
    """A full-page PNG in the test's tmp dir and in .cache/screenshots/."""
    height = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(1600, min(int(height) + 40, 12000))
    path = tmp_path / f"{name}.png"
    drv.save_screenshot(str(path))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, ARTEFACTS / path.name)
    print(f"screenshot: {ARTEFACTS / path.name}")
    drv.set_window_size(1600, 1200)
    return path


def _errors(drv) -> list[dict]:
    return [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def test_support_engineer_finds_the_failure(console, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, log = console
    drv = browser
    drv.get(f"{base}/devices/flaky-radio-01/")  # not signed in: the login form, then back here
    assert "/login/" in drv.current_url
    _shot(drv, tmp_path, "01-login")
    drv.find_element(By.NAME, "username").send_keys("sam")
    drv.find_element(By.NAME, "password").send_keys(PASSWORD)
    drv.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(drv, 30).until(ec.presence_of_element_located((By.ID, "health")))
    assert drv.current_url.endswith("/devices/flaky-radio-01/")
    health = drv.find_element(By.ID, "health").text
    assert "PROBLEM" in health and "The WAN dropped" in health and "Next step" in health
    assert len(drv.find_elements(By.CSS_SELECTOR, "svg.chart")) == 6
    assert len(drv.find_elements(By.CSS_SELECTOR, "#disconnects tr.poor")) > 10
    _shot(drv, tmp_path, "02-device-7d")
    drv.find_element(By.LINK_TEXT, "30d").click()
    WebDriverWait(drv, 30).until(ec.url_contains("range=30d"))
    svg = drv.find_element(By.CSS_SELECTOR, "svg.chart")
    assert svg.size["width"] > 600 and svg.size["height"] > 120  # drawn, not collapsed
    assert re.search(r"WAN drop \(1[78]\d\)", drv.find_element(By.ID, "charts").text)
    _shot(drv, tmp_path, "03-device-30d")
    for name, css in (("05-health-banner", "#health"), ("06-rsrp-30d", "#charts figure")):
        drv.find_element(By.CSS_SELECTOR, css).screenshot(str(tmp_path / f"{name}.png"))
        shutil.copy(tmp_path / f"{name}.png", ARTEFACTS / f"{name}.png")
    assert _errors(drv) == []  # no CSP violation, no failed fetch, nothing from outside
    drv.get(f"{base}/devices/")
    assert "flaky-radio-01" in drv.find_element(By.TAG_NAME, "table").text
    assert _errors(drv) == []
    assert b"GET /devices/flaky-radio-01/?range=30d" in log.read_bytes()  # served by gunicorn's workers


def test_device_text_never_runs_in_the_browser(console, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, _ = console
    drv = browser
    drv.get(f"{base}/login/")
    drv.find_element(By.NAME, "username").send_keys("pat")
    drv.find_element(By.NAME, "password").send_keys(PASSWORD)
    drv.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(drv, 30).until(ec.url_contains("/devices/"))
    drv.get(f"{base}/devices/hostile-mix-01/?range=24h")
    WebDriverWait(drv, 30).until(ec.presence_of_element_located((By.ID, "health")))
    text = drv.find_element(By.TAG_NAME, "body").text
    for s in histories.HOSTILE:
        assert s[:32] in text, s  # shown as the text it is
    assert drv.execute_script("return window.__pwned === undefined")
    assert drv.find_elements(By.CSS_SELECTOR, "main script, main img, main iframe") == []
    assert not [a for a in drv.find_elements(By.TAG_NAME, "a")
                if (a.get_attribute("href") or "").lower().startswith("javascript:")]
    _shot(drv, tmp_path, "04-hostile-device")
    assert _errors(drv) == []
    drv.get(f"{base}/devices/")  # the list shows the hostile model and firmware too
    assert drv.execute_script("return window.__pwned === undefined")
    assert _errors(drv) == []
