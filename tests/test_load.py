"""Load: 50 clients at once, and a burst at the limit of tasks in one request, against the real service.

Most tasks are scheduled hours ahead so that they never start (a started run costs a process and
~2 s of CPU); a handful really run on phones of their own. Afterwards the service must have
answered no 5xx, handed out unique ids, and the index and Prefect must agree run for run.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional
from datetime import datetime, timedelta

import requests
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterName, FlowRunFilterTags
from prefect.client.schemas.sorting import FlowRunSort

from contract.names import DEPLOYMENT, SERIAL_TAG, tag
from tests.harness import until
from tests.service import assert_stats_match_listings

CLIENTS = 50
LOAD_SECONDS = 8
REAL_RUNS = 5  # creations that start now and really run on a phone
REAL_RETRIES = 6  # retries of stopped tasks: each re-runs at once
# Creates answer in milliseconds, so 50 clients would store thousands of tasks whose runs Prefect then
# creates for minutes (about 15 a second here); past this many, a client lists instead.
STORED_TASKS = 80


def hours_ahead(hours: float = 3) -> str:
    return (datetime.now().astimezone() + timedelta(hours=hours)).isoformat(timespec="seconds")


# ---------------------------------------------------------------- what the index and Prefect hold


def read_index(service, sql: str) -> list[sqlite3.Row]:
    """The service's own index, read-only, next to it."""
    db = sqlite3.connect(f"file:{service.data_dir / 'index.db'}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def index_rows(service, serials: Optional[list[str]] = None) -> list[sqlite3.Row]:
    rows = read_index(service, "SELECT id, serial, flow_run_id, deleted_at, purged FROM tasks")
    return [r for r in rows if serials is None or r["serial"] in serials]


def last_id_ever(service) -> int:
    rows = read_index(service, "SELECT seq FROM sqlite_sequence WHERE name = 'tasks'")
    return rows[0][0] if rows else 0


def task_runs(service, serials: list[str]) -> dict[str, tuple[str, str]]:
    """flow_run_id -> (name, state type) of every `task-*` run of the deployment on these phones.
    (Other tests' apps in this process share the Prefect server with indexes of their own.)"""
    runs: dict[str, tuple[str, str]] = {}
    with service.prefect() as prefect:
        deployment = prefect.read_deployment_by_name(DEPLOYMENT)
        for serial in serials:
            run_filter = FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
                name=FlowRunFilterName(like_="task-"),
                tags=FlowRunFilterTags(all_=[tag(SERIAL_TAG, serial)]),
            )
            found: dict[str, tuple[str, str]] = {}
            while True:
                page = prefect.read_flow_runs(
                    flow_run_filter=run_filter, sort=FlowRunSort.NAME_ASC, offset=len(found), limit=200
                )
                found.update({str(r.id): (r.name, r.state_type.value if r.state_type else "") for r in page})
                if len(page) < 200:
                    break
            runs.update(found)
    return runs


def disagreements(service, serials: list[str]) -> list[str]:
    """What the index and Prefect disagree on about these phones' tasks; deletions purged in the
    background are waited for."""
    rows = index_rows(service, serials)
    runs = task_runs(service, serials)
    live = {r["flow_run_id"]: r["id"] for r in rows if r["deleted_at"] is None and r["flow_run_id"]}
    # A task deleted before its run was created never gets one.
    problems = [f"index row {r['id']} has no flow run" for r in rows if r["flow_run_id"] is None and r["deleted_at"] is None]
    problems += [f"deleted index row {r['id']} not purged" for r in rows if r["deleted_at"] and not r["purged"]]
    problems += [f"index row {i} ({f}) missing in Prefect" for f, i in live.items() if f not in runs]
    problems += [f"Prefect run {n} ({f}) has no live index row" for f, (n, _) in runs.items() if f not in live]
    problems += [
        f"Prefect run {n} belongs to task {int(n.split('-')[1])}, not {live[f]}"
        for f, (n, _) in runs.items() if f in live and int(n.split("-")[1]) != live[f]
    ]
    return problems


def wait_for_runs(service, ids: list[int], timeout: float = 120) -> dict[int, sqlite3.Row]:
    """The index rows of these tasks, once each has its flow run."""
    def waiting(rows: dict) -> list[int]:
        return [i for i in ids if not rows[i]["flow_run_id"]]
    return until(lambda: {r["id"]: r for r in index_rows(service)}, timeout,
                 lambda rows: f"{len(waiting(rows))} tasks still have no flow run after {timeout} s",
                 interval=0.5, accept=lambda rows: not waiting(rows))


def wait_until_agreeing(service, serials: list[str], timeout: float = 150) -> None:
    until(lambda: disagreements(service, serials), timeout,
          lambda problems: f"{len(problems)} disagreements, e.g. {problems[:10]}",
          interval=1, accept=lambda problems: not problems)


# ---------------------------------------------------------------- the clients


@dataclass
class Shared:
    """What all clients see: the ids handed out, the budgets of runs that really start, the figures."""

    storage_phones: list[str]
    run_phones: list[str]
    stop_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: list[int] = field(default_factory=list)
    pool: list[int] = field(default_factory=list)  # ids the clients stop, retry and delete
    stopped: list[int] = field(default_factory=list)
    real_runs: int = REAL_RUNS
    real_retries: int = REAL_RETRIES
    latencies: dict[str, list[float]] = field(default_factory=dict)
    answers: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)

    def take_budget(self, name: str) -> bool:
        with self.lock:
            if getattr(self, name) <= 0:
                return False
            setattr(self, name, getattr(self, name) - 1)
            return True

    def load_done(self) -> bool:
        """The load lasts LOAD_SECONDS, and on a slow machine until a create and a delete have
        both gone through (what the test checks), within a bound."""
        now = time.monotonic()
        with self.lock:
            deleted = self.answers[("delete", 0)] + self.answers[("delete batch", 0)]
            both = self.answers[("create", 0)] > 0 and deleted > 0
        return now >= self.stop_at and (both or now >= self.stop_at + 120)

    def pick(self, rng: random.Random, source: str = "pool"):
        with self.lock:
            ids = getattr(self, source)
            return rng.choice(ids) if ids else None


class Client(threading.Thread):
    def __init__(self, number: int, service, shared: Shared):
        super().__init__(name=f"load-{number}", daemon=True)
        self.base = service.base
        self.shared = shared
        self.rng = random.Random(number)
        self.http = requests.Session()

    def call(self, kind: str, method: str, path: str, **kwargs):
        started = time.perf_counter()
        try:
            # Generous: a slow answer is a figure below; only no answer at all is an error.
            response = self.http.request(method, self.base + path, timeout=300, **kwargs)
        except requests.RequestException as error:
            with self.shared.lock:
                self.shared.transport_errors.append(f"{kind} {method} {path}: {error}")
            return None
        seconds = time.perf_counter() - started
        body = response.json()
        with self.shared.lock:
            self.shared.latencies.setdefault(kind, []).append(seconds)
            self.shared.answers[(kind, body["code"])] += 1
            if response.status_code >= 500:
                self.shared.server_errors.append(f"{kind} {method} {path} -> {response.status_code} {body}")
        return body if body["code"] == 0 else None

    def create(self) -> None:
        real = self.rng.random() < 0.05 and self.shared.take_budget("real_runs")
        if not real and len(self.shared.created) >= STORED_TASKS:
            return self.list()
        phones = self.shared.run_phones if real else self.shared.storage_phones
        serials = self.rng.sample(phones, self.rng.randint(1, min(2, len(phones))))
        targets = [f"{self.name}_{self.rng.randrange(10**6)}" for _ in range(1 if real else self.rng.randint(1, 3))]
        body = {"serials": serials, "script_name": "follow", "script_config": {"target_users": targets}}
        if not real:
            body["start_time"] = hours_ahead()
        answer = self.call("create", "POST", "/task", json=body)
        if answer:
            ids = answer["data"]["task_ids"]
            with self.shared.lock:
                self.shared.created.extend(ids)
                self.shared.pool.extend(ids)

    def list(self) -> None:
        params = {"page": self.rng.randint(1, 3), "page_size": self.rng.choice([1, 20, 100])}
        if self.rng.random() < 0.5:
            params["status"] = self.rng.randint(0, 3)
        self.call("list", "GET", "/task", params=params)

    def detail(self) -> None:
        task_id = self.shared.pick(self.rng)
        if task_id is not None:
            self.call("detail", "GET", f"/task/{task_id}")

    def stop(self) -> None:
        task_id = self.shared.pick(self.rng)
        if task_id is not None and self.call("stop", "POST", f"/task/{task_id}/stop"):
            with self.shared.lock:
                self.shared.stopped.append(task_id)

    def retry(self) -> None:
        task_id = self.shared.pick(self.rng, "stopped")
        if task_id is None or not self.shared.take_budget("real_retries"):
            return
        if self.call("retry", "POST", f"/task/{task_id}/retry") is None:
            with self.shared.lock:
                self.shared.real_retries += 1  # refused: nothing started

    def delete(self) -> None:
        with self.shared.lock:
            if not self.shared.pool:
                return
            ids = self.rng.sample(self.shared.pool, min(len(self.shared.pool), self.rng.randint(1, 4)))
        if len(ids) == 1:
            self.call("delete", "DELETE", f"/task/{ids[0]}")
        else:
            self.call("delete batch", "DELETE", "/task/batch", json={"task_ids": ids})
        with self.shared.lock:
            for task_id in ids:
                if task_id in self.shared.pool:
                    self.shared.pool.remove(task_id)

    def stats(self) -> None:
        self.call("stats", "GET", "/task/stats")

    def run(self) -> None:
        actions = [self.create] * 30 + [self.list] * 25 + [self.detail] * 15 + [self.stop] * 10 \
            + [self.retry] * 5 + [self.delete] * 10 + [self.stats] * 5
        while not self.shared.load_done():
            self.rng.choice(actions)()


def figures(shared: Shared, seconds: float) -> str:
    lines = [f"{sum(len(v) for v in shared.latencies.values())} requests by {CLIENTS} clients in {seconds:.1f} s"]
    for kind, values in sorted(shared.latencies.items()):
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        lines.append(f"  {kind:<13} n={len(ordered):<5} p50 {statistics.median(ordered) * 1000:7.0f} ms"
                     f"  p99 {p99 * 1000:7.0f} ms  max {ordered[-1] * 1000:7.0f} ms")
    lines.append(f"  answers by (kind, code): {dict(sorted(shared.answers.items()))}")
    return "\n".join(lines)


def test_fifty_clients_at_once(service, phones):
    fifty_clients_at_once(service, storage_phones=phones.take(4), run_phones=phones.take(2))


def fifty_clients_at_once(service, *, storage_phones: list[str], run_phones: list[str]) -> None:
    """Also run on PostgreSQL by tests/test_pcs.py."""
    before = last_id_ever(service)
    shared = Shared(storage_phones, run_phones, stop_at=time.monotonic() + LOAD_SECONDS)
    clients = [Client(n, service, shared) for n in range(CLIENTS)]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=LOAD_SECONDS + 600)
    seconds = time.monotonic() - started
    print("\n" + figures(shared, seconds))

    assert not any(client.is_alive() for client in clients), "a client hung"
    assert not shared.server_errors, f"{len(shared.server_errors)} 5xx, e.g. {shared.server_errors[:5]}"
    assert not shared.transport_errors, shared.transport_errors[:5]
    assert len(shared.created) == len(set(shared.created)), "an id was handed out twice"
    assert shared.created and min(shared.created) > before, "an id from before the load was reused"
    assert shared.answers[("create", 0)] > 0 and shared.answers[("delete", 0)] + shared.answers[("delete batch", 0)] > 0

    # The tasks that really run end (a stopped one counts as failed); then the books must balance.
    for task_id in shared.created:
        status, body = service.call("GET", f"/task/{task_id}")
        if status == 200 and body["data"]["start_time"] and body["data"]["status"] == 1:
            service.wait_for(task_id, timeout=120)
    assert_stats_match_listings(service)
    wait_until_agreeing(service, storage_phones + run_phones)

    for start in range(0, len(shared.created), 500):
        service.ok("DELETE", "/task/batch", json={"task_ids": shared.created[start:start + 500]})
    wait_until_agreeing(service, storage_phones + run_phones)


# ---------------------------------------------------------------- a burst in one request


LIMIT = 100  # PHONEFARM_MAX_TASKS_PER_REQUEST of the suite's service (tests/conftest.py)


def test_a_burst_at_the_limit_is_created_whole_on_20_phones(service, phones):
    serials = phones.take(20)
    per_phone = LIMIT // len(serials)
    body = {"serials": serials, "script_name": "follow", "start_time": hours_ahead(),
            "script_config": {"target_users": [f"burst_{i}" for i in range(per_phone)]}}
    http = requests.Session()
    started = time.monotonic()
    response = http.post(f"{service.base}/task", json=body, timeout=600)
    create_seconds = time.monotonic() - started
    assert response.status_code == 200, response.text[:500]
    ids = response.json()["data"]["task_ids"]
    assert len(ids) == len(set(ids)) == LIMIT

    # Stored at once; the runs are created behind the answer, at Prefect's pace.
    rows = wait_for_runs(service, ids)
    assert all(rows[i]["deleted_at"] is None for i in ids)
    runs = task_runs(service, serials)
    mine = {f: runs[f] for f in (rows[i]["flow_run_id"] for i in ids)}
    # No run crashed on a "database is locked": every one is stored and waits for its start time.
    assert len(mine) == LIMIT and len({name for name, _ in mine.values()}) == LIMIT
    assert Counter(state for _, state in mine.values()) == {"SCHEDULED": LIMIT}
    for serial in serials:
        assert service.ok("GET", "/task", params={"serial": serial, "status": 0, "page_size": 1})["total"] == per_phone

    started = time.monotonic()
    response = http.delete(f"{service.base}/task/batch", json={"task_ids": ids}, timeout=600)
    delete_seconds = time.monotonic() - started
    assert response.status_code == 200 and response.json()["data"] == {"deleted_count": LIMIT, "not_found": []}
    assert all(service.ok("GET", "/task", params={"serial": s})["total"] == 0 for s in serials)
    # Runs that never started are deleted from Prefect by the request itself, in bulk.
    assert not set(mine) & set(task_runs(service, serials))
    print(f"\nburst: create {LIMIT} in {create_seconds:.1f} s, delete them in {delete_seconds:.1f} s")


def test_a_burst_of_1000_is_refused_and_creates_nothing(service, phones):
    serials = phones.take(20)
    stats, before = service.ok("GET", "/task/stats"), last_id_ever(service)
    body = {"serials": serials, "script_name": "follow", "start_time": hours_ahead(),
            "script_config": {"target_users": [f"over_{i}" for i in range(50)]}}  # 20 x 50 = 1,000
    status, answer = service.call("POST", "/task", json=body)
    assert (status, answer["code"]) == (400, 40001) and "1000" in answer["message"], answer
    assert f"limit is {LIMIT}" in answer["message"], answer
    assert service.ok("GET", "/task/stats") == stats
    assert last_id_ever(service) == before
    assert all(service.ok("GET", "/task", params={"serial": s})["total"] == 0 for s in serials)
