"""The launcher owns its worker and adb server: one that dies is restarted, and health says so."""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from tests.harness import free_port
from tests.processes import descendants
from tests.processes import alive, argv_of, find, listening_addresses
from tests.service import Service

TOKEN = "owned-service-token-0123456789"
WARMUP = {"task_duration": 8, "topic": "dogs", "min_duration": 2, "max_duration": 3,
          "like_probable": 0, "comment_probable": 0}


@pytest.fixture(scope="module")
def owned(tmp_path_factory):
    """A second service that starts its own adb server and simulated phones (the session one
    shares the tests' adb server, which it must not restart)."""
    owned = Service(tmp_path_factory.mktemp("owned"), free_port(), extra_args=["--simulate", "2", "--host", "0.0.0.0"],
                    token=TOKEN)
    owned.start()
    deadline = time.monotonic() + 30
    while owned.ok("GET", "/health")["phones"] < 2:
        assert time.monotonic() < deadline, "the simulated phones never attached"
        time.sleep(0.2)
    yield owned
    owned.stop()


def serials(owned: Service) -> list[str]:
    return sorted(d["serial"] for d in owned.ok("GET", "/device")["devices"])


def wait_health(owned: Service, predicate, what: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = owned.ok("GET", "/health")
        if predicate(health):
            return health
        assert time.monotonic() < deadline, f"{what}: {health}"
        time.sleep(0.1)


def test_worker_killed_mid_task(owned):
    serial = serials(owned)[0]
    [running] = owned.ok("POST", "/task", json={
        "serials": [serial], "script_name": "account_warmup", "script_config": WARMUP})["task_ids"]
    [queued] = owned.create([serial], ["after-crash"])
    owned.wait_for(running, statuses=[1], timeout=60)
    worker = find([b"worker", b"start"], descendants(owned.process.pid))
    flow_runs = [pid for pid in descendants(worker) if b"prefect.engine" in b" ".join(argv_of(pid))]

    os.kill(worker, signal.SIGKILL)
    killed = time.monotonic()
    task = owned.wait_for(running, timeout=30)
    assert task["status"] == 3 and "run crashed" in task["remark"] and "worker" in task["remark"], task
    assert time.monotonic() - killed < 30
    # The orphaned flow-run process is gone too: it can no longer drive the phone.
    assert flow_runs and not any(alive(pid) for pid in flow_runs)
    health = wait_health(owned, lambda h: h["worker"] == "up", "the worker was not restarted")
    assert health["restarts"]["worker"] == 1, health

    # The phone is free again: the task queued behind the crashed one runs on the new worker.
    assert owned.wait_for(queued, timeout=60)["status"] == 2
    owned.ok("POST", f"/task/{running}/retry")
    retried = owned.wait_for(running, timeout=90)
    assert retried["status"] == 2 and retried["retry_count"] == 1, retried


def test_adb_server_down_then_restarted(owned):
    adb = find([b"nodaemon", b"server"], descendants(owned.process.pid))
    # A hung adb server: the process lives, so only health can tell.
    os.kill(adb, signal.SIGSTOP)
    try:
        health = wait_health(owned, lambda h: h["adb"] == "down", "health never said adb was down", timeout=15)
        assert health["phones"] == 0 and health["api"] == "up" and health["prefect"] == "up"
    finally:
        os.kill(adb, signal.SIGCONT)
    # A dead one: the launcher starts a new one and the simulated phones attach to it again.
    os.kill(adb, signal.SIGKILL)
    health = wait_health(owned, lambda h: h["adb"] == "up" and h["phones"] == 2 and h["restarts"]["adb-server"] == 1,
                         "the adb server was not restarted with its phones", timeout=60)
    assert health["processes"]["adb-server"] == "up"
    [task] = owned.create(serials(owned)[1:], ["after-adb-restart"])
    assert owned.wait_for(task, timeout=60)["status"] == 2


def test_only_the_api_listens_beyond_loopback_and_only_with_its_token(owned):
    """The Prefect server (no login), the adb server and the simulated phones are never reachable
    from the network; only the API's own port is (here on 0.0.0.0), and only with the token."""
    listening = listening_addresses([owned.process.pid, *descendants(owned.process.pid)])
    ports = {int(a.rsplit(":", 1)[1]) for addresses in listening.values() for a in addresses}
    assert {owned.port, owned.prefect_port, owned.adb_port} <= ports, listening
    assert listening[owned.process.pid] == {f"0.0.0.0:{owned.port}"}, listening
    loopback = ("127.", "00000000000000000000000001000000")  # ::1 as the kernel prints it
    for pid, addresses in listening.items():
        for address in addresses:
            assert pid == owned.process.pid or address.startswith(loopback), f"{argv_of(pid)} listens on {address}"
    anonymous = requests.get(f"{owned.base}/task/stats", timeout=10)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, 40101)
    assert requests.get(f"{owned.base}/health", timeout=10).json()["code"] == 0
    # The token shows in no log, no database, no file of the service.
    leaks = [p for p in owned.data_dir.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert not leaks, leaks
