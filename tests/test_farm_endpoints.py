"""Phones, health and the plan gate."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import falcon.testing
import pytest
import requests

from api.gateways.prefect_health import FAILED, REFUSED, UP, HealthWatch, probe
from tests.harness import free_port
from tests.inprocess import serve_app, wired_app


def test_devices_lists_phones_and_picks_up_new_ones(service, phones):
    [serial] = phones.take()
    devices = {d["serial"]: d for d in service.ok("GET", "/device")["devices"]}
    assert devices[serial]["state"] == "device"
    assert devices[serial]["model"] == phones[serial].model
    assert devices[serial]["busy"] is False
    [newcomer] = phones.take()  # joins the adb server while the service runs
    assert newcomer in {d["serial"] for d in service.ok("GET", "/device")["devices"]}
    [task_id] = service.create([newcomer], ["hello"])
    assert service.wait_for(task_id)["status"] == 2


def test_device_shows_the_task_running_on_it(service, phones):
    [serial] = phones.take()
    phones[serial].profile_load_seconds = 30
    [task_id] = service.create([serial], ["busy"])
    service.wait_for(task_id, statuses=(1,))
    device = next(d for d in service.ok("GET", "/device")["devices"] if d["serial"] == serial)
    assert device["busy"] is True and device["task_id"] == task_id
    service.ok("POST", f"/task/{task_id}/stop")
    service.wait_for(task_id)


def test_health_only_reads(service, phones, adb, tmp_path):
    """An unauthenticated flood of health checks must not write to the index (it slowed every write)."""
    phones.take()
    with wired_app(service, adb, tmp_path) as wired:
        client = falcon.testing.TestClient(wired.app, headers={"Host": "127.0.0.1"})
        for _ in range(5):
            assert client.simulate_get("/api/v1/health").json["data"]["phones"] >= 1
        assert client.simulate_head("/api/v1/health").status_code == 200
        assert wired.index.phones.known_phones() == set()  # seen by health, but not remembered
        client.simulate_get("/api/v1/device")
        assert wired.index.phones.known_phones()  # a listing does remember them


def test_health_reports_every_part(service):
    health = service.ok("GET", "/health")
    assert health["api"] == "up" and health["prefect"] == "up" and health["adb"] == "up"
    assert health["phones"] >= 1
    assert health["processes"]["worker"] == "up" and health["processes"]["prefect-server"] == "up"
    assert health["worker"] == "up" and set(health["restarts"]) == set(health["processes"])


@pytest.fixture
def starter_api(service, adb, tmp_path):
    """The same farm behind an app built for the Starter plan, on a real waitress server."""
    with serve_app(service, adb, tmp_path, plan="Starter") as (_, base):
        yield base


def test_starter_plan_has_no_api(starter_api):
    license = requests.get(f"{starter_api}/license/check", timeout=10).json()
    assert license["code"] == 0 and license["data"]["plan_name"] == "Starter" and license["data"]["api_enabled"] is False
    for method, path in [("GET", "/task"), ("POST", "/task"), ("GET", "/task/stats"), ("GET", "/device")]:
        response = requests.request(method, f"{starter_api}{path}", json={}, timeout=10)
        assert response.status_code == 403 and response.json()["code"] == 40301


def test_the_prefect_health_watch_tells_a_server_gone_from_a_server_failing(service):
    """Gone (nothing listens) is down at the first probe; a failing answer only after two in a row."""
    failing = ThreadingHTTPServer(("127.0.0.1", 0), AlwaysUnavailable)
    threading.Thread(target=failing.serve_forever, daemon=True).start()
    failing_url, gone_url = f"http://127.0.0.1:{failing.server_address[1]}/api", f"http://127.0.0.1:{free_port()}/api"
    assert (probe(service.prefect_api), probe(failing_url), probe(gone_url)) == (UP, FAILED, REFUSED)
    watch = HealthWatch(service.prefect_api, interval=3600)  # checked by hand below
    try:
        assert watch.up
        answered = watch.last_up  # when it last answered: the as_of of reads while it is down
        watch.api_url = failing_url
        watch.check()
        assert watch.up  # one failed answer: a busy server, maybe
        watch.check()
        assert not watch.up and watch.last_up == answered
        watch.api_url = service.prefect_api
        watch.check()
        assert watch.up and watch.last_up > answered
        watch.api_url = gone_url
        watch.check()
        assert not watch.up
    finally:
        watch.stop()
        failing.shutdown()


class AlwaysUnavailable(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass
