"""Fifty clients at once: the task API's answers under a mixed load, and the same mix asked of Prefect's own API."""

from __future__ import annotations

import random
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Callable

import requests

from bench.farm import Api, Farm
from bench.measures import summary
from bench.stock import STATS_GROUPS, direct_run, farm_runs

CLIENTS = 50
LOAD_SECONDS = 15
# What each client does, by weight: the mix of tests/test_load.py without its real runs (the
# phones are kept working by tasks started before the load).
MIX = {"create": 30, "list": 25, "detail": 15, "stop": 10, "delete": 10, "stats": 10}


class ServerError(RuntimeError):
    """A 5xx answer (or, on Prefect's API, its client's error for one after its retries)."""


class Load:
    """Latencies by kind and every 5xx or transport error, shared by the clients' threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {}
        self.server_errors: list[str] = []
        self.transport_errors: list[str] = []
        self.ids: list = []  # what creates made (task ids, or flow run ids): what the others act on

    def timed(self, kind: str, call: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            call()
        except ServerError as error:
            with self.lock:
                self.server_errors.append(f"{kind}: {error}")
        except (requests.RequestException, OSError) as error:
            with self.lock:
                self.transport_errors.append(f"{kind}: {error}")
        seconds = time.perf_counter() - started
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def pick(self, rng: random.Random, count: int = 1) -> list:
        with self.lock:
            return rng.sample(self.ids, min(count, len(self.ids)))

    def forget(self, ids: list) -> None:
        gone = set(ids)
        with self.lock:
            self.ids = [i for i in self.ids if i not in gone]

    def figures(self, seconds: float) -> dict:
        every = [s for values in self.latencies.values() for s in values]
        return {"clients": CLIENTS, "seconds": round(seconds, 1), "requests": len(every),
                "all": summary(every) if every else None,
                **{kind: summary(values) for kind, values in sorted(self.latencies.items())},
                "http_5xx": len(self.server_errors), "transport_errors": len(self.transport_errors),
                "examples": (self.server_errors + self.transport_errors)[:5]}


def run_load(load: Load, actions_for: Callable[[int], dict[str, Callable[[random.Random], None]]]) -> dict:
    """CLIENTS threads, each drawing actions from MIX for LOAD_SECONDS (a call under way is finished)."""
    stop_at = time.monotonic() + LOAD_SECONDS
    kinds = [kind for kind, weight in MIX.items() for _ in range(weight)]

    def client(number: int) -> None:
        rng = random.Random(number)
        actions = actions_for(number)
        while time.monotonic() < stop_at:
            kind = rng.choice(kinds)
            load.timed(kind, lambda: actions[kind](rng))  # noqa: B023 - called before the loop goes on

    threads = [threading.Thread(target=client, args=(n,), name=f"client-{n}", daemon=True) for n in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_SECONDS + 600)
    return load.figures(time.monotonic() - started)


def _later() -> datetime:
    return datetime.now().astimezone() + timedelta(hours=6)


def fifty_clients_on_the_api(api: Api, serials: list[str]) -> dict:
    """The mix on the task API: one HTTP session a client."""

    load = Load()

    def actions_for(number: int) -> dict:
        http = requests.Session()

        def call(method: str, path: str, **kwargs) -> dict:
            response = http.request(method, api.base_url + path, timeout=300, **kwargs)
            if response.status_code >= 500:
                raise ServerError(f"{method} {path} -> {response.status_code} {response.text[:200]}")
            return response.json()

        def create(rng: random.Random) -> None:
            targets = [f"load{number}_{rng.randrange(10**6)}" for _ in range(rng.randint(1, 3))]
            body = {"serials": rng.sample(serials, rng.randint(1, 2)), "script_name": "follow",
                    "script_config": {"target_users": targets}, "start_time": _later().isoformat(timespec="seconds")}
            answer = call("POST", "/task", json=body)
            if answer["code"] == 0:
                with load.lock:
                    load.ids.extend(answer["data"]["task_ids"])

        def delete(rng: random.Random) -> None:
            ids = load.pick(rng, rng.randint(1, 4))
            if ids:
                call("DELETE", "/task/batch", json={"task_ids": ids})
                load.forget(ids)

        def listing(rng: random.Random) -> None:
            params = {"page": rng.randint(1, 3), "page_size": rng.choice([20, 100])}
            if rng.random() < 0.5:
                params["status"] = rng.randint(0, 3)
            call("GET", "/task", params=params)

        def on_one(method: str, path: str) -> Callable[[random.Random], None]:
            def act(rng: random.Random) -> None:
                for task_id in load.pick(rng):
                    call(method, path.format(task_id))
            return act

        return {
            "create": create, "delete": delete,
            "list": listing,
            "detail": on_one("GET", "/task/{}"),
            "stop": on_one("POST", "/task/{}/stop"),
            "stats": lambda rng: call("GET", "/task/stats"),
        }

    figures = run_load(load, actions_for)
    # What the load left, deleted before Prefect creates their runs (not part of the measure).
    for start in range(0, len(load.ids), 500):
        api.call("DELETE", "/task/batch", json={"task_ids": load.ids[start:start + 500]}, timeout=600)
    return figures


def fifty_clients_on_prefect(farm: Farm, serials: list[str]) -> dict:
    """The same mix on Prefect's own API, as a stock set-up would serve it: a run made per task by
    create_flow_run_from_deployment, lists and stats by its filter and count endpoints."""
    import httpx
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Cancelled

    from contract.names import DEPLOYMENT

    with farm.prefect() as prefect:
        deployment_id = prefect.read_deployment_by_name(DEPLOYMENT).id

    load, clients = Load(), ExitStack()

    def actions_for(number: int) -> dict:
        prefect = clients.enter_context(farm.prefect())  # one each, all closed after the load

        def guarded(call: Callable[[random.Random], None]) -> Callable[[random.Random], None]:
            def act(rng: random.Random) -> None:
                try:
                    call(rng)
                except ObjectNotFound:
                    pass  # deleted by another client: an answer, as the API's 404
                except httpx.HTTPStatusError as error:
                    if error.response.status_code >= 500:
                        raise ServerError(str(error)[:200]) from None
            return act

        def create(rng: random.Random) -> None:
            for serial in rng.sample(serials, rng.randint(1, 2)):
                for _ in range(rng.randint(1, 3)):
                    run = direct_run(prefect, deployment_id, serial, f"stock{number}_{rng.randrange(10**6)}", _later())
                    with load.lock:
                        load.ids.append(run.id)

        def delete(rng: random.Random) -> None:
            ids = load.pick(rng, rng.randint(1, 4))
            load.forget(ids)
            for flow_run_id in ids:
                prefect.delete_flow_run(flow_run_id)

        def listing(rng: random.Random) -> None:
            types = STATS_GROUPS[rng.randint(0, 3)] if rng.random() < 0.5 else ()
            wanted = farm_runs(deployment_id, *types)
            prefect.read_flow_runs(flow_run_filter=wanted, offset=20 * rng.randint(0, 2), limit=rng.choice([20, 100]))
            prefect.count_flow_runs(flow_run_filter=wanted)

        def on_one(act: Callable) -> Callable[[random.Random], None]:
            return lambda rng: [act(flow_run_id) for flow_run_id in load.pick(rng)]

        return {name: guarded(call) for name, call in {
            "create": create, "delete": delete, "list": listing,
            "detail": on_one(prefect.read_flow_run),
            "stop": on_one(lambda flow_run_id: prefect.set_flow_run_state(flow_run_id, Cancelled(), force=True)),
            "stats": lambda rng: [prefect.count_flow_runs(flow_run_filter=farm_runs(deployment_id, *group))
                                  for group in STATS_GROUPS],
        }.items()}

    with clients:
        figures = run_load(load, actions_for)
    with farm.prefect() as prefect:  # what the load left: not part of the measure
        for flow_run_id in load.ids:
            try:
                prefect.delete_flow_run(flow_run_id)
            except ObjectNotFound:
                pass
    return figures
