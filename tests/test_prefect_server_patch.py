"""The Prefect server as the farm runs it (worker/prefect_compat/server.py): concurrent label writes on SQLite all land."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests


def test_concurrent_label_writes_all_land_at_the_first_try(service):
    # The worker labels every run it takes, while runs write their states. Prefect's stock server
    # refused 134 of 200 such concurrent label writes with 503 (each then retried by the client).
    with service.prefect() as prefect:  # Prefect's client, which retries a 503, makes the runs and reads them back
        flow = prefect.request("POST", "/flows/", json={"name": "labels-under-load"}).json()
        ids = [prefect.request("POST", "/flow_runs/", json={"flow_id": flow["id"], "name": f"labels-{i}",
                                                            "state": {"type": "PENDING"}}).json()["id"]
               for i in range(8)]
        user, _, password = service.prefect_auth.partition(":")

        def label(i: int) -> int:
            with requests.Session() as own:  # no retry; a connection each: the writes meet on the server
                own.auth = (user, password)
                return own.patch(f"{service.prefect_api}/flow_runs/{ids[i % 8]}/labels", json={f"label-{i}": "on"},
                                 timeout=60).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(label, range(160)))
        assert statuses == [204] * 160, {status: statuses.count(status) for status in set(statuses)}
        labels_of = {run_id: prefect.request("GET", "/flow_runs/{id}", path_params={"id": run_id}).json()["labels"] for run_id in ids}
    for n, run_id in enumerate(ids):
        labels = labels_of[run_id]
        assert {key for key in labels if key.startswith("label-")} == {f"label-{i}" for i in range(n, 160, 8)}
