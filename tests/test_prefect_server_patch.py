"""The Prefect server as the farm runs it (worker/prefect_compat/server.py): on SQLite, concurrent label writes
and bulk creations of runs all land."""

from __future__ import annotations

import threading
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


def test_bulk_creations_of_runs_under_concurrent_writes_are_created_whole(service):
    # The API creates a phone's runs in bulk while running runs write their states. Prefect's stock
    # server refused every run of every bulk here ("database is locked": 50 of 50, six times).
    user, _, password = service.prefect_auth.partition(":")
    with service.prefect() as prefect:
        flow = prefect.request("POST", "/flows/", json={"name": "bulk-under-load"}).json()
        deployment = prefect.request("POST", "/deployments/", json={"flow_id": flow["id"], "name": "bulk"}).json()
        writers = [prefect.request("POST", "/flow_runs/", json={"flow_id": flow["id"], "name": f"writer-{i}",
                                                                "state": {"type": "PENDING"}}).json()["id"]
                   for i in range(4)]
    stop = threading.Event()

    def write(run_id: str) -> int:
        with requests.Session() as own:  # no retry; a connection each
            own.auth = (user, password)
            n = 0
            while not stop.is_set():
                own.patch(f"{service.prefect_api}/flow_runs/{run_id}/labels", json={f"w-{n}": "on"}, timeout=60)
                n += 1
            return n

    with ThreadPoolExecutor(4) as pool, requests.Session() as own:
        writes = [pool.submit(write, run_id) for run_id in writers]
        own.auth = (user, password)
        try:
            results = [own.post(f"{service.prefect_api}/deployments/{deployment['id']}/create_flow_run/bulk",
                                json=[{"name": f"bulk-{n}-{i}"} for i in range(50)], timeout=120).json()["results"]
                       for n in range(6)]
        finally:
            stop.set()
        assert all(w.result() > 0 for w in writes)
    refused = [sum(r["status"] != "CREATED" for r in bulk) for bulk in results]
    assert refused == [0] * 6, {r["error"][:200] for bulk in results for r in bulk if r["error"]}
