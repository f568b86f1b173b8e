"""The phone wall's data: the page and its assets, GET /farm, each phone's screen, and GET /metrics."""

from __future__ import annotations

import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devices.phone_lock import LOCKS_FOLDER, holding_phone
from tests.inprocess import serve_app

TOKEN = "wall-token-0123456789abcdef"


@pytest.fixture(scope="module")
def guarded(service, adb, tmp_path_factory):
    with serve_app(service, adb, tmp_path_factory.mktemp("wall"), api_token=TOKEN) as (app, base):
        yield base.removesuffix("/api/v1")


def samples(text: str) -> dict[tuple, float]:
    """{(name, sorted labels): value} of a Prometheus text answer, parsed by the client library."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_page_and_its_assets_need_no_token_but_its_data_and_the_metrics_do(guarded):
    for path in ("/", "/farm", "/farm/"):
        page = requests.get(guarded + path, timeout=10)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert '<script src="/page/farm.js"' in page.text
    for asset, kind in (("/page/farm.js", "javascript"), ("/page/farm.css", "text/css")):
        answer = requests.get(guarded + asset, timeout=10)
        assert answer.status_code == 200 and kind in answer.headers["Content-Type"], asset
    assert requests.get(guarded + "/page/%2e%2e/index.db", timeout=10).status_code == 404
    for path in ("/api/v1/farm", "/api/v1/device/x/screen", "/metrics"):
        refused = requests.get(guarded + path, timeout=10)
        assert (refused.status_code, refused.json()["code"]) == (401, 40101), path
        assert requests.get(guarded + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code in (200, 404)


def test_each_phone_shows_its_accounts_its_task_now_and_its_last_failure(api, phones):
    failing, busy = phones.take(2)
    phones[failing].missing_users.add("ghost")
    [failed] = api.create([failing], ["ghost"])
    api.wait_for(failed)
    api.ok("POST", "/account", json={"username": "wall_owner", "platform": "tiktok", "serial": busy})
    [running] = api.ok("POST", "/task", json={"serials": [busy], "script_name": "account_warmup",
                                             "script_config": {"task_duration": 60}})["task_ids"]
    api.wait_for(running, statuses=(1,))
    farm = api.ok("GET", "/farm")
    by_serial = {phone["serial"]: phone for phone in farm["phones"]}
    assert farm["stats"]["total"] >= 2 and farm["prefect_ui_url"].startswith("http://127.0.0.1:")
    shown = by_serial[failing]
    assert shown["task"] is None and shown["screen"] is True and shown["pc"] == farm["pc"]
    assert shown["last_failure"]["id"] == failed and "does not exist" in shown["last_failure"]["remark"]
    assert shown["last_failure"]["artifacts"] == f"/api/v1/task/{failed}/artifacts"
    assert shown["last_failure"]["flow_run_url"].startswith(farm["prefect_ui_url"] + "/runs/flow-run/")
    shown = by_serial[busy]
    assert shown["accounts"] == ["wall_owner"] and shown["last_failure"] is None
    assert shown["task"]["id"] == running and shown["task"]["status_text"] == "running"
    assert shown["task"]["script_name"] == "account_warmup" and 0 <= shown["task"]["elapsed_seconds"] < 60
    api.ok("POST", f"/task/{running}/stop")


def wait_for_screen(api, serial: str, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api.client.simulate_get(f"/api/v1/device/{serial}/screen", host="127.0.0.1")
        if answer.status_code == 200:
            return answer
        assert answer.json["code"] == 40401
        time.sleep(0.5)
    return None


def test_a_screen_is_taken_when_asked_and_never_while_a_run_holds_the_phone(api, phones, service):
    [serial] = phones.take()
    with holding_phone(service.data_dir / LOCKS_FOLDER, serial):  # as a run driving it does
        assert wait_for_screen(api, serial, timeout=6) is None
        assert not [argv for _, argv in phones[serial].commands if argv[0] == "screencap"]
    shot = wait_for_screen(api, serial)
    assert shot is not None and shot.headers["Content-Type"] == "image/png"
    assert shot.content.startswith(b"\x89PNG") and shot.headers["Last-Modified"].endswith("GMT")
    assert api.client.simulate_get("/api/v1/device/nosuchphone/screen", host="127.0.0.1").json["code"] == 40401


def test_metrics_count_tasks_by_status_script_and_phone_with_their_timings(api, phones):
    [serial] = phones.take()
    [done] = api.create([serial], ["alice"])
    assert api.wait_for(done)["status"] == 2
    answer = api.client.simulate_get("/metrics", host="127.0.0.1")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain; version=")
    found = samples(answer.text)
    assert found["phonefarm_phone_tasks", (("serial", serial), ("status", "completed"))] == 1
    assert found["phonefarm_tasks", (("script", "follow"), ("state", "completed"), ("status", "completed"))] >= 1
    assert found["phonefarm_task_run_seconds_count", (("script", "follow"),)] >= 1
    assert found["phonefarm_task_run_seconds_bucket", (("le", "+Inf"), ("script", "follow"))] >= 1
    assert found["phonefarm_task_start_latency_seconds_count", (("script", "follow"),)] >= 1
    assert found["phonefarm_prefect_up", ()] == 1
    pc = api.ok("GET", "/farm")["pc"]
    assert found["phonefarm_phones", (("pc", pc), ("state", "device"))] >= 1


def test_the_services_metrics_count_its_processes_restarts(service):
    answer = service.http.get(f"http://127.0.0.1:{service.port}/metrics", timeout=10)
    found = samples(answer.text)
    assert found["phonefarm_process_restarts_total", (("process", "worker"),)] >= 0
    assert found["phonefarm_process_restarts_total", (("process", "prefect-server"),)] >= 0
