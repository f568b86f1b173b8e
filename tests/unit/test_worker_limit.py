"""The worker runs as many flow runs at once as the plan's device limit and this PC's phones allow;
PHONEFARM_WORKER_LIMIT only lowers that. What the launcher tells the worker, and how the worker
follows the pool's limit and its phones while it runs."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import anyio
import pytest

from api.domain.plans import PLANS
from api.settings import Settings
from api.supervision.processes import worker_child
from worker.run_limit import RunLimit, run_limit


@pytest.mark.parametrize("cap, pool_limit, phones, expected", [
    (None, PLANS["Business"].device_limit, 100, 100),  # a Business farm of 100 phones: all of them at once
    (None, PLANS["Business"].device_limit, 40, 40),   # this PC's share of the farm: its phones
    (None, PLANS["Pro"].device_limit, 100, 20),       # more phones than the plan allows
    (10, PLANS["Business"].device_limit, 100, 10),    # the operator's cap lowers it...
    (500, PLANS["Pro"].device_limit, 100, 20),        # ...and never raises it
    (None, 20, 0, 1),                                 # no phone yet: nothing is fetched anyway
    (None, None, 7, 7),                               # a pool without a limit (not the farm's)
    (None, None, None, math.inf),                     # a worker of any queue on such a pool
])
def test_the_limit_is_the_least_of_plan_phones_and_cap(cap, pool_limit, phones, expected):
    assert run_limit(cap, pool_limit, phones) == expected


def test_the_worker_follows_the_pool_and_its_phones_while_it_runs(capsys):
    async def main():
        limiter = anyio.CapacityLimiter(1)  # as Prefect makes it from the worker's first limit
        limit = RunLimit(cap=None)
        assert limit.follow(limiter, None, {"q1"}) is None and limiter.total_tokens == 1  # pool not read yet
        said = limit.follow(limiter, SimpleNamespace(concurrency_limit=100), {f"device-{i}" for i in range(30)})
        assert limiter.total_tokens == 30 and said.startswith("at most 30 flow runs at once")
        assert said in capsys.readouterr().out  # into the worker's log
        assert limit.follow(limiter, SimpleNamespace(concurrency_limit=100), {f"device-{i}" for i in range(30)}) is None
        for run in range(30):
            limiter.acquire_on_behalf_of_nowait(run)
        # The API PC restarts on a smaller plan: the started runs keep their slots, new ones wait.
        limit.follow(limiter, SimpleNamespace(concurrency_limit=20), {f"device-{i}" for i in range(30)})
        assert limiter.total_tokens == 20
        for run in range(10):
            limiter.release_on_behalf_of(run)
        with pytest.raises(anyio.WouldBlock):  # 20 still running
            limiter.acquire_on_behalf_of_nowait("new")
        limiter.release_on_behalf_of(10)
        limiter.acquire_on_behalf_of_nowait("new")

    anyio.run(main)


def test_a_run_whose_end_prefect_took_gives_its_slot_while_its_process_exits():
    async def main():
        limiter = anyio.CapacityLimiter(1)
        limit, pool, phones = RunLimit(cap=2), SimpleNamespace(concurrency_limit=20), {"q1", "q2", "q3"}
        limit.follow(limiter, pool, phones)
        limiter.acquire_on_behalf_of_nowait("first")
        limiter.acquire_on_behalf_of_nowait("second")
        limit.follow(limiter, pool, phones, exiting=1)  # "first" Completed; its process is still exiting
        limiter.acquire_on_behalf_of_nowait("third")
        with pytest.raises(anyio.WouldBlock):  # two running, one exiting: the cap of 2 holds
            limiter.acquire_on_behalf_of_nowait("fourth")
        limiter.release_on_behalf_of("first")  # its process exited
        limit.follow(limiter, pool, phones, exiting=0)
        assert limiter.total_tokens == 2
        with pytest.raises(anyio.WouldBlock):
            limiter.acquire_on_behalf_of_nowait("fourth")

    anyio.run(main)


def argv(monkeypatch, **settings) -> list[str]:
    for name in ("PHONEFARM_WORKER_LIMIT", "PHONEFARM_PLAN", "PHONEFARM_WORKER"):
        monkeypatch.delenv(name, raising=False)
    return worker_child(Settings(**settings), Path("logs")).argv


def limit_of(argv: list[str]):
    return argv[argv.index("--limit") + 1] if "--limit" in argv else None


def test_the_launcher_caps_the_fast_worker_only_when_told(monkeypatch):
    assert limit_of(argv(monkeypatch, plan="Business")) is None  # it follows the pool's limit itself
    assert limit_of(argv(monkeypatch, plan="Business", worker_limit=30)) == "30"


def test_the_stock_worker_gets_the_plans_limit(monkeypatch):
    # Prefect's own worker takes a fixed limit: the plan's here (a single PC), the operator's if lower.
    assert limit_of(argv(monkeypatch, worker="stock", plan="Business")) == "100"
    assert limit_of(argv(monkeypatch, worker="stock", plan="Team", worker_limit=200)) == "50"
    assert limit_of(argv(monkeypatch, worker="stock", plan="Pro", worker_limit=6)) == "6"
