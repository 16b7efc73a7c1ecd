"""albicilla-view in a real headless Chromium: walk the pages, and prove hostile records stay text.

Uses Debian's chromium and chromedriver through Selenium, with the driver's path given so
Selenium Manager downloads nothing. Without them the tests skip, saying why; under CI=true they
fail, saying what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fixtures.hostile import HOSTILE_IDS, write_hostile_root

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REAL = Path(__file__).parent / "fixtures" / "real_agents"
CLAUDE = "6431f560-5c39-4fd1-a94a-1114c2ee92e8"
CODEX = "01a22f37-305c-7081-866e-1a2a5b711586"

pytestmark = pytest.mark.e2e


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        message = f"{' and '.join(missing)} missing (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_viewer(logs: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "albicilla.view", "--logs", str(logs), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("albicilla-view did not start listening")


@pytest.fixture
def browser() -> Iterator[object]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def viewer(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    logs = tmp_path / "logs"
    shutil.copytree(REAL, logs)
    write_hostile_root(logs)
    process, base = _start_viewer(logs)
    yield base, logs
    process.terminate()
    process.wait(timeout=20)


def _wait_for(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _problems(driver) -> list[str]:
    """Console errors: script errors, and CSP violations (which Chromium logs as errors)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


PROMPT = "say hi, then run echo"  # what the real agents were asked
ANSWER = "Done: the tool printed hello-from-tool."  # what they answered last


def _text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def test_walk_sessions_session_record_dataset(browser, viewer, tmp_path):
    from selenium.webdriver.common.by import By

    base, _ = viewer
    # The list may be drawn before the background index has named the clients (it says
    # "Indexing ..." and offers a reload): reload until it has.
    _wait_for(lambda: browser.get(base + "/") or "Claude Code" in _text(browser), timeout=40)
    body = _text(browser)
    assert CLAUDE in body and CODEX in body and "Codex" in body and "messages" in body
    browser.save_screenshot(str(tmp_path / "sessions.png"))

    browser.find_element(By.LINK_TEXT, CLAUDE).click()
    body = _text(browser)
    assert PROMPT in body and "Bash" in body and ANSWER in body and "claude-opus-4-8" in body
    assert _no_sideways_scroll(browser)
    browser.save_screenshot(str(tmp_path / "session.png"))

    browser.find_element(By.LINK_TEXT, "Conversations").click()
    body = _text(browser)
    assert "Main loop" in body and "Side call" in body and ANSWER in body
    browser.save_screenshot(str(tmp_path / "conversations.png"))

    browser.find_element(By.LINK_TEXT, "2").click()
    raw = browser.find_element(By.ID, "raw").text
    assert json.loads(raw)["session_id"] == CLAUDE
    browser.find_element(By.CSS_SELECTOR, "button.copy").click()
    browser.save_screenshot(str(tmp_path / "record.png"))

    browser.find_element(By.LINK_TEXT, "Dataset").click()
    body = _text(browser)
    assert "<tool_call>" in body and "Download json_tool_call .jsonl" in body
    assert PROMPT in body and ANSWER in body
    browser.find_element(By.LINK_TEXT, "hf").click()
    assert '"arguments": {' in _text(browser)
    browser.save_screenshot(str(tmp_path / "dataset.png"))

    browser.get(base + "/overview")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    browser.save_screenshot(str(tmp_path / "overview.png"))
    assert _problems(browser) == []


def test_walk_a_codex_session_from_the_list(browser, viewer, tmp_path):
    from selenium.webdriver.common.by import By

    base, _ = viewer
    _wait_for(lambda: browser.get(base + "/?q=305c") or "Codex" in _text(browser), timeout=40)
    browser.find_element(By.LINK_TEXT, CODEX).click()
    body = _text(browser)
    assert PROMPT in body and "exec_command" in body and ANSWER in body and "gpt-5.1-codex" in body
    assert _no_sideways_scroll(browser)
    browser.save_screenshot(str(tmp_path / "codex-session.png"))
    browser.find_element(By.LINK_TEXT, "1").click()
    assert json.loads(browser.find_element(By.ID, "raw").text)["endpoint"] == "/v1/responses"
    browser.save_screenshot(str(tmp_path / "codex-record.png"))
    browser.find_element(By.LINK_TEXT, "Dataset").click()
    browser.find_element(By.LINK_TEXT, "native").click()
    body = _text(browser)
    assert "exec_command" in body and ANSWER in body
    browser.save_screenshot(str(tmp_path / "codex-dataset.png"))
    assert _problems(browser) == []


def _no_sideways_scroll(driver) -> bool:
    """The page is no wider than the window: long lines wrap or scroll inside their own box."""
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_hostile_records_never_run_a_script(browser, viewer, tmp_path):
    from selenium.webdriver.common.by import By

    base, _ = viewer
    pages = [
        "/",
        "/overview",
        "/session/hostile-main",
        "/session/hostile-main?tab=conversations",
        "/session/hostile-main/dataset",
        *(f"/session/hostile-main/record/{n}" for n in (1, 2, 3, 4, 5, 9)),
        *("/session/" + quote(s, safe="") for s in HOSTILE_IDS),
    ]
    for number, page in enumerate(pages):
        browser.get(base + page)
        assert browser.execute_script("return window.__pwned === undefined"), page
        assert browser.title != "pwned", page
        if number < 4:
            assert _no_sideways_scroll(browser), page
            browser.save_screenshot(str(tmp_path / f"hostile-{number}.png"))
    browser.get(base + "/session/hostile-main")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "<script>window.__pwned=1;document.title='pwned'</script>" in body
    assert '<a href="javascript:window.__pwned=3">click me</a>' in body
    assert not browser.find_elements(By.CSS_SELECTOR, "main a[href^='javascript']")
    assert _problems(browser) == []


def test_a_record_appended_while_the_page_is_open_is_announced(browser, viewer):
    from selenium.webdriver.common.by import By

    base, logs = viewer
    browser.get(base + "/session/" + CODEX)
    live = browser.find_element(By.ID, "live")
    assert not live.is_displayed()
    path = next((logs / "2026-12-01").glob(CODEX + "-*.jsonl"))
    last = path.read_text().splitlines()[-1]
    time.sleep(2.5)  # let the page take its first look
    with path.open("a") as handle:
        handle.write(last + "\n")
    _wait_for(lambda: live.is_displayed(), timeout=20)
    live.find_element(By.TAG_NAME, "a").click()
    _wait_for(lambda: "Exchange 3" in browser.find_element(By.TAG_NAME, "body").text)
