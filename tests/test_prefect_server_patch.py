"""The Prefect server as the farm runs it (worker/prefect_compat/server.py): on SQLite, concurrent label writes
and bulk creations of runs all land."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
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


@contextlib.contextmanager
def writes_going_on(service, flow_id: str) -> Iterator[requests.Session]:
    """Four clients writing labels of runs of their own without a pause, as running runs write their
    states; yields a session of its own (no retry) that sends the requests under test."""
    user, _, password = service.prefect_auth.partition(":")
    with service.prefect() as prefect:
        writers = [prefect.request("POST", "/flow_runs/", json={"flow_id": flow_id, "name": f"writer-{i}",
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
            yield own
        finally:
            stop.set()
        assert all(w.result() > 0 for w in writes)


def test_bulk_creations_of_runs_under_concurrent_writes_are_created_whole(service):
    # The API creates a phone's runs in bulk while running runs write their states. Prefect's stock
    # server refused every run of every bulk here ("database is locked": 50 of 50, six times).
    with service.prefect() as prefect:
        flow = prefect.request("POST", "/flows/", json={"name": "bulk-under-load"}).json()
        deployment = prefect.request("POST", "/deployments/", json={"flow_id": flow["id"], "name": "bulk"}).json()
    with writes_going_on(service, flow["id"]) as own:
        results = [own.post(f"{service.prefect_api}/deployments/{deployment['id']}/create_flow_run/bulk",
                            json=[{"name": f"bulk-{n}-{i}"} for i in range(50)], timeout=120).json()["results"]
                   for n in range(6)]
    refused = [sum(r["status"] != "CREATED" for r in bulk) for bulk in results]
    assert refused == [0] * 6, {r["error"][:200] for bulk in results for r in bulk if r["error"]}


def test_deletions_of_runs_under_concurrent_writes_answer_at_the_first_try(service):
    # The API deletes tasks' runs in bulk (and Prefect's UI one by one) while running runs write
    # their states. Prefect's stock server answered such deletions 503, which its clients retry
    # with growing pauses: a task's DELETE took up to 2 minutes in the benchmark's 50 clients.
    with service.prefect() as prefect:
        flow = prefect.request("POST", "/flows/", json={"name": "deletions-under-load"}).json()
        deployment = prefect.request("POST", "/deployments/", json={"flow_id": flow["id"], "name": "doomed"}).json()
        ids = [r["flow_run_id"] for r in prefect.request(
            "POST", "/deployments/{id}/create_flow_run/bulk", path_params={"id": deployment["id"]},
            json=[{"name": f"doomed-{i}", "state": {"type": "COMPLETED"}} for i in range(40)]).json()["results"]]
    with writes_going_on(service, flow["id"]) as own:
        answers = [own.post(f"{service.prefect_api}/flow_runs/bulk_delete", timeout=60,
                            json={"flow_runs": {"id": {"any_": ids[i:i + 5]}}, "limit": 5})
                   for i in range(0, 30, 5)]
        answers += [own.delete(f"{service.prefect_api}/flow_runs/{run_id}", timeout=60) for run_id in ids[30:]]
    assert [a.status_code for a in answers] == [200] * 6 + [204] * 10, [(a.status_code, a.text[:200]) for a in answers]
    assert sorted(run_id for a in answers[:6] for run_id in a.json()["deleted"]) == sorted(ids[:30])
