"""The API token: off loopback it is required; with one set, every endpoint but health wants it."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from api.settings import Settings
from tests.inprocess import routes, serve_app
from tests.service import REPO

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def guarded_api(service, adb, tmp_path_factory):
    with serve_app(service, adb, tmp_path_factory.mktemp("auth"), api_token=TOKEN) as served:
        yield served


def concrete(path: str) -> str:
    return path.replace("{task_id}", "1").replace("{username}", "someone").replace("{name}", "screenshot.png")


def body_for(path: str) -> dict:
    # Without serials, /account/match opens the apps of every phone of the session: no phone here.
    return {"serials": []} if path == "/account/match" else {}


@pytest.mark.parametrize("header", [None, "", "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer"])
def test_every_endpoint_but_health_wants_the_token(guarded_api, header):
    app, base = guarded_api
    headers = {"Authorization": header} if header else {}
    for method, path in sorted(routes(app)):
        response = requests.request(method, base + concrete(path), headers=headers, json={}, timeout=10)
        if path == "/health":
            assert response.status_code == 200 and response.json()["code"] == 0
        else:
            assert (response.status_code, response.json()["code"]) == (401, 40101), (method, path, response.text)
            assert "Authorization: Bearer" in response.json()["message"]
    # Unknown routes too: nothing tells a stranger what exists.
    response = requests.get(f"{base}/no/such/thing", headers=headers, timeout=10)
    assert response.json()["code"] == 40101


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", f"bearer {TOKEN}"])
def test_the_right_token_gets_in(guarded_api, header):
    app, base = guarded_api
    headers = {"Authorization": header}
    for method, path in sorted(routes(app)):
        response = requests.request(method, base + concrete(path), headers=headers, json=body_for(path), timeout=10)
        # Past the gate: whatever the route answers, it is not the gate's 40101, and never a 5xx.
        assert response.status_code < 500 and response.json().get("code") != 40101, (method, path, response.text)
    assert requests.get(f"{base}/task/stats", headers=headers, timeout=10).json()["code"] == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_listening_off_loopback_without_a_token_refuses_to_start(host, tmp_path):
    with pytest.raises(ValueError, match="needs an API token"):
        Settings(host=host)
    done = subprocess.run([sys.executable, "-m", "api", "--host", host, "--data-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "needs an API token" in done.stderr, done.stderr
    assert not list(tmp_path.iterdir()), "nothing may start or be written before the settings are valid"
