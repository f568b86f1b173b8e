"""Public health tells a monitor whether each part is up; processes, restarts and free space only go
to a caller with the API token."""

from __future__ import annotations

from types import SimpleNamespace

import falcon
import falcon.testing
import pytest

from api.rest import errors
from api.rest.middleware import TokenGate
from api.rest.resources.farm import Health

TOKEN = "h" * 20
MONITORED = {"api", "prefect", "worker", "adb", "phones", "disk"}


def client(token):
    phones = SimpleNamespace(adb=SimpleNamespace(alive=lambda: True), attached_count=lambda: 3)
    disk = SimpleNamespace(full=lambda: False, free_mb=lambda: 5000.0)
    supervisor = SimpleNamespace(status=lambda: {"worker": "up", "prefect-server": "up"},
                                 restarts=lambda: {"worker": 2, "prefect-server": 0},
                                 last_restarts=lambda: {"worker": "2026-12-05T07:27:29Z exited (code -9)"})
    app = falcon.App(middleware=[TokenGate(token)])
    errors.install(app, disk)
    app.add_route("/api/v1/health", Health(SimpleNamespace(healthy=lambda: True), phones, disk, supervisor))
    return falcon.testing.TestClient(app)


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-xxxxxxxx", "Basic abc"])
def test_without_the_token_only_the_parts_status(header):
    headers = {"Authorization": header} if header else {}
    answer = client(TOKEN).simulate_get("/api/v1/health", headers=headers)
    assert answer.status_code == 200
    assert set(answer.json["data"]) == MONITORED, answer.json
    assert answer.json["data"]["worker"] == "up"


def test_with_the_token_or_none_set_the_details_too():
    answer = client(TOKEN).simulate_get("/api/v1/health", headers={"Authorization": f"Bearer {TOKEN}"})
    data = answer.json["data"]
    assert set(data) == MONITORED | {"disk_free_mb", "processes", "restarts", "last_restarts"}
    assert data["restarts"] == {"worker": 2, "prefect-server": 0}
    assert data["last_restarts"] == {"worker": "2026-12-05T07:27:29Z exited (code -9)"}
    assert set(client(None).simulate_get("/api/v1/health").json["data"]) == set(data)  # loopback without a token
