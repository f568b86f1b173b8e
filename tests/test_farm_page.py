"""The phone wall in a real browser: a headless Chromium opens the page, gives it the token, sees the
phones and a running task, stops it with a click; a screenshot of the page is kept (test-output/)."""

from __future__ import annotations

import json

import pytest

from tests.chromium import Browser
from tests.harness import until
from tests.inprocess import serve_app
from tests.service import REPO

TOKEN = "page-token-0123456789abcdef"
SCREENSHOT = REPO / "test-output" / "farm-page.png"


@pytest.fixture
def browser(tmp_path):
    chromium = Browser(tmp_path / "profile")
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def wall(service, adb, tmp_path_factory):
    """The real app behind waitress, with a token, on the session's Prefect server, worker and phones."""
    with serve_app(service, adb, tmp_path_factory.mktemp("page"), api_token=TOKEN) as (app, base):
        yield base


def card(serial: str) -> str:
    return f"document.querySelector('article.phone[data-serial={json.dumps(serial)}]')"


def test_the_wall_shows_each_phone_and_a_running_task_and_stops_it(wall, browser, phones):
    working, idle = phones.take(2)
    api = wall
    browser.open(api.removesuffix("/api/v1") + "/")
    # Without the token the page asks for it, and keeps it in this tab only.
    browser.wait_for("!document.getElementById('token-form').hidden", "the token form shows")
    browser.evaluate(f"document.getElementById('token').value = {json.dumps(TOKEN)}; "
                     "document.getElementById('token-form').requestSubmit(); true")
    browser.wait_for(f"{card(idle)} !== null && {card(working)} !== null", "both phones are on the wall")
    assert browser.evaluate("sessionStorage.getItem('phonefarm-token')") == TOKEN
    # A two-minute warm-up on one phone (the page's forms make follows and posts: one below).
    task_id = browser.evaluate(f"""fetch('/api/v1/task', {{method: 'POST', headers: {{'Content-Type': 'application/json',
        Authorization: 'Bearer {TOKEN}'}}, body: JSON.stringify({{serials: [{json.dumps(working)}], script_name: 'account_warmup',
        script_config: {{task_duration: 120, min_duration: 1, max_duration: 2}}}})}}).then(r => r.json()).then(b => b.data.task_ids[0])""")
    browser.wait_for(f"{card(working)}.dataset.state === 'running'", "the warm-up shows running", timeout=60)
    text = browser.evaluate(f"{card(working)}.querySelector('.task').textContent")
    assert f"running account_warmup (task {task_id})" in text and "Stop" in text
    assert browser.evaluate(f"{card(working)}.querySelector('.task a').href").startswith("http://127.0.0.1:")
    browser.wait_for(f"{card(idle)}.querySelector('img').naturalWidth > 0", "the idle phone's screen shows")
    assert browser.evaluate(f"{card(idle)}.dataset.state") == "idle"
    assert browser.evaluate("document.getElementById('stats').textContent").startswith("total")
    assert browser.evaluate("getComputedStyle(document.getElementById('token-form')).display") == "none"
    browser.evaluate(f"{card(working)}.scrollIntoView({{block: 'center'}}); true")  # the session's other phones come first
    browser.screenshot(SCREENSHOT)
    # Select the idle phone and create a follow task for it from the form.
    browser.evaluate(f"{card(idle)}.querySelector('.pick').click(); "
                     "document.getElementById('follow-targets').value = 'wall_friend'; "
                     "document.getElementById('follow-form').requestSubmit(); true")
    browser.wait_for("document.getElementById('message').textContent.startsWith('Created 1 follow task')",
                     "the follow task is created")
    browser.evaluate(f"[...{card(working)}.querySelectorAll('.task button')].find(b => b.textContent === 'Stop').click(); true")
    browser.wait_for(f"document.getElementById('message').textContent === 'Task {task_id} stopped.'", "the stop is confirmed")
    browser.wait_for(f"{card(working)}.dataset.state === 'idle'", "the phone is idle again", timeout=60)
    stopped = json.loads(browser.evaluate(f"""fetch('/api/v1/task/{task_id}', {{headers: {{Authorization: 'Bearer {TOKEN}'}}}})
        .then(r => r.text())"""))["data"]
    assert stopped["status"] == 3 and stopped["remark"].startswith("stopped"), stopped
    assert SCREENSHOT.stat().st_size > 10_000
    until(lambda: "wall_friend" in phones[idle].following("tiktok"), 60, "the follow of the task made from the page",
          interval=0.5)
