"""The Prefect server as the farm runs it (worker/prefect_compat/server.py): concurrent label writes on SQLite all land."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests


def test_concurrent_label_writes_all_land_at_the_first_try(service):
    # The worker labels every run it takes, while runs write their states. Prefect's stock server
    # refused 134 of 200 such concurrent label writes with 503 (each then retried by the client).
    user, _, password = service.prefect_auth.partition(":")
    prefect = requests.Session()
    prefect.auth = (user, password)

    def call(method: str, path: str, body) -> requests.Response:
        return prefect.request(method, f"{service.prefect_api}{path}", json=body, timeout=60)

    flow = call("POST", "/flows/", {"name": "labels-under-load"}).json()
    runs = [call("POST", "/flow_runs/", {"flow_id": flow["id"], "name": f"labels-{i}", "state": {"type": "PENDING"}})
            for i in range(8)]
    assert [run.status_code for run in runs] == [201] * 8
    ids = [run.json()["id"] for run in runs]

    def label(i: int) -> int:
        with requests.Session() as own:  # a connection each: the writes meet on the server, not in one client
            own.auth = prefect.auth
            return own.patch(f"{service.prefect_api}/flow_runs/{ids[i % 8]}/labels", json={f"label-{i}": "on"},
                             timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(label, range(160)))
    assert statuses == [204] * 160, {status: statuses.count(status) for status in set(statuses)}
    for n, run_id in enumerate(ids):
        labels = call("GET", f"/flow_runs/{run_id}", None).json()["labels"]
        assert {key for key in labels if key.startswith("label-")} == {f"label-{i}" for i in range(n, 160, 8)}
