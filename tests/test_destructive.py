"""Faults that take parts of the service down, in order, on a service of this module's own (the
session's service is never restarted): only the API listens off loopback; the adb server hangs; the
worker dies mid-task; the Prefect server hangs; the worker hangs; the disk fills up, and Prefect's
database dies on it; the whole service is stopped or killed. The service restarts a hung child after
5 s here (tests/conftest.py). Its Prefect runs on SQLite, or on PostgreSQL with
`--farm-database postgresql` (`./run tests --postgresql`)."""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta

import pytest
import requests

from devices.adb import AdbServer
from simulator.farm import SimulatedFarm
from tests.processes import alive, argv_of, descendants, find, listening_addresses, phone_holder, processes_marked
from tests.harness import fill_disk, until
from tests.test_farm_wall import samples
from tests.service import OWNED_TOKEN, Service
from tests.test_stop_retry_delete import wait_started_on_phone

TOKEN = OWNED_TOKEN
WARMUP = {"task_duration": 4, "topic": "dogs", "min_duration": 1, "max_duration": 2,
          "like_probable": 0, "comment_probable": 0}


@pytest.fixture(scope="module")
def owned_farm(owned):
    farm = SimulatedFarm(AdbServer("127.0.0.1", owned.adb_port), 2, serial_prefix="owned", auto_reconnect=True)
    wait_health(owned, lambda h: h["phones"] == 3, "the phones never attached")
    yield farm
    farm.stop()
    owned.stop()  # this module is its only user: an idle farm costs CPU the other workers need


def wait_health(owned: Service, predicate, what: str, timeout: float = 30) -> dict:
    return until(lambda: owned.ok("GET", "/health"), timeout, lambda health: f"{what}: {health}", accept=predicate)


def test_only_the_api_listens_beyond_loopback_and_only_with_its_token(owned, owned_farm):
    """The Prefect server, the adb server and the simulated phones are never reachable from the
    network; only the API's own port is (here on 0.0.0.0), and only with the token."""
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
    # The token shows in no log, no database, no file of the service, and no child's environment.
    leaks = [p for p in owned.data_dir.rglob("*") if p.is_file() and TOKEN.encode() in p.read_bytes()]
    assert not leaks, leaks
    children = descendants(owned.process.pid)
    assert children and not set(processes_marked(f"PHONEFARM_API_TOKEN={TOKEN}")) & set(children)


def test_a_hung_adb_server_is_restarted(owned, owned_farm):
    adb = find([b"nodaemon", b"server"], descendants(owned.process.pid))
    # A hung adb server: the process lives, so only health can tell.
    os.kill(adb, signal.SIGSTOP)
    health = wait_health(owned, lambda h: h["adb"] == "down", "health never said adb was down", timeout=15)
    assert health["phones"] == 0 and health["api"] == "up" and health["prefect"] == "up"
    # Past the hung limit (PHONEFARM_HUNG_AFTER_SECONDS) the launcher kills it and starts a new one;
    # the simulated phones attach to it again.
    health = wait_health(owned, lambda h: h["adb"] == "up" and h["phones"] == 3 and h["restarts"]["adb-server"] == 1,
                         "the hung adb server was not restarted with its phones", timeout=60)
    assert health["processes"]["adb-server"] == "up" and not alive(adb)
    assert_restarted_as_hung(owned, "adb-server", 1)
    [task] = owned.create([owned_farm.serials[0]], ["after-adb-restart"])
    assert owned.wait_for(task, timeout=60)["status"] == 2


def assert_restarted_as_hung(owned: Service, name: str, restarts: int) -> None:
    """Counted in /metrics as in /health, which says why; its last log lines kept beside its log."""
    assert "hung: failed its health check" in owned.ok("GET", "/health")["last_restarts"][name]
    scraped = samples(requests.get(f"http://127.0.0.1:{owned.port}/metrics", timeout=10,
                                   headers={"Authorization": f"Bearer {TOKEN}"}).text)
    assert scraped["phonefarm_process_restarts_total", (("process", name),)] == restarts
    assert list((owned.data_dir / "logs").glob(f"{name}.hung-*.log")), f"no last lines of the hung {name}"


def test_worker_killed_mid_task(owned, owned_farm):
    serial = owned_farm.serials[1]
    [running] = owned.ok("POST", "/task", json={
        "serials": [serial], "script_name": "account_warmup", "script_config": WARMUP})["task_ids"]
    [queued] = owned.create([serial], ["after-crash"])
    owned.wait_for(running, statuses=[1], timeout=60)
    worker = find([b"worker.fast_worker"], descendants(owned.process.pid))
    # Running in Prefect a moment before its process takes the phone's lock.
    flow_runs = until(lambda: phone_holder(owned.data_dir, serial), 30, "a process holding the phone's lock")

    os.kill(worker, signal.SIGKILL)
    task = owned.wait_for(running, timeout=30)
    # Whoever noticed first (the run's own process or the launcher), the remark names the dead worker.
    assert task["status"] == 3 and task["remark"].startswith("run crashed: its worker process died"), task
    # The orphaned flow-run process is gone too, and reaped (no zombie): it can no longer drive the phone.
    assert flow_runs and not any(alive(pid) for pid in flow_runs)
    until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in flow_runs), 10, "the dead flow-run process reaped")
    health = wait_health(owned, lambda h: h["worker"] == "up", "the worker was not restarted")
    assert health["restarts"]["worker"] == 1, health

    # The phone is free again: the task queued behind the crashed one runs on the new worker.
    assert owned.wait_for(queued, timeout=60)["status"] == 2
    owned.ok("POST", f"/task/{running}/retry")
    retried = owned.wait_for(running, timeout=90)
    assert retried["status"] == 2 and retried["retry_count"] == 1, retried


def test_prefect_server_hung_then_restarted(owned, owned_farm):
    serial = owned_farm.serials[0]
    soon = (datetime.now().astimezone() + timedelta(seconds=8)).isoformat()
    [pending] = owned.create([serial], ["outage"], start_time=soon)
    stats_before = owned.ok("GET", "/task/stats")
    restarts_before = owned.ok("GET", "/health")["restarts"]

    # The server and the uvicorn process it runs hang together: alive, answering nothing. Past the
    # hung limit (PHONEFARM_HUNG_AFTER_SECONDS) the launcher kills them and starts the server again.
    server = find([b"server", b"start", str(owned.prefect_port).encode()], descendants(owned.process.pid))
    os.killpg(os.getpgid(server), signal.SIGSTOP)
    until(lambda: owned.ok("GET", "/health")["prefect"] == "down", 30, "health noticing the server gone")
    # Reads answer from the index's copy, saying so and since when; writes change nothing.
    task = owned.task(pending)
    assert (task["status"], task["prefect"]) == (0, "down") and task["as_of"], task
    listed = owned.ok("GET", "/task", params={"page_size": 1})
    assert [t["id"] for t in listed["tasks"]] == [pending] and listed["as_of"] == task["as_of"], listed
    stats = owned.ok("GET", "/task/stats")
    assert (stats["total"], stats["prefect"]) == (stats_before["total"], "down"), stats
    for method, path, body in [("POST", "/task", {"serials": [serial], "script_name": "follow",
                                                  "script_config": {"target_users": ["lost"]}}),
                               ("POST", f"/task/{pending}/stop", None)]:
        status, answer = owned.call(method, path, json=body)
        assert (status, answer["code"]) == (503, 50301) and "Nothing was changed" in answer["message"], answer

    # The answers are the contract's again once it is back, and nothing was lost.
    until(lambda: "prefect" not in owned.ok("GET", "/task/stats"), 90, "the Prefect server back", interval=0.5)
    assert not alive(server)
    assert_restarted_as_hung(owned, "prefect-server", restarts_before["prefect-server"] + 1)
    assert owned.ok("GET", "/task/stats")["total"] == stats_before["total"]
    assert owned.wait_for(pending, timeout=90)["status"] == 2
    assert "outage" in owned_farm.phones[serial].following("tiktok")
    [after] = owned.create([serial], ["after-outage"])
    assert after > pending
    assert owned.wait_for(after, timeout=60)["status"] == 2
    assert owned.ok("GET", "/health")["restarts"] == {**restarts_before,
                                                      "prefect-server": restarts_before["prefect-server"] + 1}


def test_a_frozen_worker_is_restarted(owned, owned_farm):
    """Its event loop stops turning, so its heartbeat file grows old: past the hung limit the
    launcher kills it and starts another, which runs the next task."""
    before = owned.ok("GET", "/health")["restarts"]
    worker = find([b"worker.fast_worker"], descendants(owned.process.pid))
    os.kill(worker, signal.SIGSTOP)
    wait_health(owned, lambda h: h["restarts"]["worker"] == before["worker"] + 1 and h["worker"] == "up",
                "the frozen worker was not restarted", timeout=60)
    assert not alive(worker)
    assert_restarted_as_hung(owned, "worker", before["worker"] + 1)
    [task] = owned.create([owned_farm.serials[0]], ["after-freeze"])
    assert owned.wait_for(task, timeout=60)["status"] == 2
    assert owned.ok("GET", "/health")["restarts"] == {**before, "worker": before["worker"] + 1}


def test_a_full_disk_refuses_writes_and_leaves_no_task_running(owned, owned_farm):
    """The disk under the data directory (Prefect's database, the index, the logs) fills up while a
    task drives a phone, and the task ends while nothing can be stored. Writes answer 50301 saying
    why, health says so, reads still answer; once the room is back the task is not left running
    (the worker settles a run whose end Prefect could not store) and its phone takes the next one."""
    serial = owned_farm.serials[0]
    phone = owned_farm.phones[serial]
    phone.profile_load_seconds = 600
    [running] = owned.create([serial], ["disk-full"])
    wait_started_on_phone(phone, running)
    owned.wait_for(running, statuses=[1], timeout=30)  # the index's copy sees Running a moment after the phone
    stats = owned.ok("GET", "/task/stats")
    run_processes = phone_holder(owned.data_dir, serial)
    filler = fill_disk(owned.data_dir)
    try:
        for method, path, body in [("POST", "/task", {"serials": [serial], "script_name": "follow",
                                                      "script_config": {"target_users": ["lost"]}}),
                                   ("POST", f"/task/{running}/stop", None)]:
            status, answer = owned.call(method, path, json=body)
            assert (status, answer["code"]) == (503, 50301), answer
            assert "disk" in answer["message"] and "full" in answer["message"], answer
        health = owned.ok("GET", "/health")
        assert health["disk"] == "full" and health["disk_free_mb"] < 32, health
        assert owned.ok("GET", "/task/stats") == stats
        phone.profile_load_seconds = 0  # the run ends with the disk full
        until(lambda: not any(alive(pid) for pid in run_processes), 60, "the run's end", interval=0.2)
    finally:
        filler.unlink()
    wait_health(owned, lambda h: h["disk"] == "ok", "health never saw the room come back")
    task = owned.wait_for(running, timeout=60)
    # Its end was stored; or it crashed on the unstored end and the worker said so, at once (room was
    # back) or later (settling it): either way it says how it ended.
    assert task["status"] == 2 or task["remark"].startswith("run crashed: "), task
    [after] = owned.create([serial], ["after-disk-full"])
    assert owned.wait_for(after, timeout=60)["status"] == 2
    assert "after-disk-full" in phone.following("tiktok")


def postmaster(owned: Service) -> int:
    return int((owned.data_dir / "postgres" / "data" / "postmaster.pid").read_text().split()[0])


@pytest.mark.postgresql
def test_postgresql_killed_on_a_full_disk_starts_once_the_room_is_back(owned, owned_farm):
    """PostgreSQL dies while the disk is full (a PANIC when its WAL cannot grow, here SIGKILL). It is
    not started again meanwhile (it could not even write its lock file, and every refused try
    lengthened the supervisor's pause: it was back 30 s after the room); once the room is back it
    starts at once, and the farm runs the next task. (On SQLite no process of its own holds the
    database: the Prefect server's death is the test above.)"""
    serial = owned_farm.serials[0]
    restarts = owned.ok("GET", "/health")["restarts"]["postgres"]
    filler = fill_disk(owned.data_dir)
    try:
        os.kill(postmaster(owned), signal.SIGKILL)
        health = wait_health(owned, lambda h: h["processes"]["postgres"] == "down", "PostgreSQL noticed dead", timeout=15)
        assert health["disk"] == "full" and health["restarts"]["postgres"] == restarts, health
    finally:
        filler.unlink()
    health = wait_health(owned, lambda h: h["processes"]["postgres"] == "up", "PostgreSQL started with the room back",
                         timeout=5)
    assert health["restarts"]["postgres"] == restarts + 1, health
    # Refused with 50301 (nothing stored) until Prefect's database answers again.
    body = {"serials": [serial], "script_name": "follow", "script_config": {"target_users": ["after-database-crash"]}}
    _, answer = until(lambda: owned.call("POST", "/task", json=body), 60, "a create taken", interval=0.5,
                      accept=lambda status_and_answer: status_and_answer[0] == 200)
    [task] = answer["data"]["task_ids"]
    assert owned.wait_for(task, timeout=60)["status"] == 2


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_restart_with_tasks_in_flight(owned, owned_farm, how):
    idle_serial, busy_serial = owned_farm.serials
    busy = owned_farm.phones[busy_serial]
    busy.profile_load_seconds = 8
    [done] = owned.create([idle_serial], ["before"])
    assert owned.wait_for(done)["status"] == 2
    running, queued = owned.create([busy_serial], ["r1", "r2"])
    wait_started_on_phone(busy, running)
    before = {t["id"]: t for t in owned.ok("GET", "/task", params={"page_size": 100})["tasks"]}
    old_processes = descendants(owned.process.pid)
    phones_before = {d["serial"] for d in owned.ok("GET", "/device")["devices"]}

    owned.stop(how)
    owned.start()

    # The simulated phone of the service comes back under its serial, as a real phone would.
    wait_health(owned, lambda h: h["phones"] == 3, "the phones did not all come back")
    assert {d["serial"] for d in owned.ok("GET", "/device")["devices"]} == phones_before
    # Nothing of the earlier life is left running (a flow-run process would still drive the phone).
    marker = f"PHONEFARM_INSTANCE={owned.data_dir.resolve()}"
    assert not [pid for pid in old_processes if alive(pid)]
    assert set(processes_marked(marker)) <= set(descendants(owned.process.pid))
    after = {t["id"]: t for t in owned.ok("GET", "/task", params={"page_size": 100})["tasks"]}
    assert set(after) == set(before)
    assert after[done]["status"] == 2 and after[done]["flow_run_id"] == before[done]["flow_run_id"]
    busy.profile_load_seconds = 0
    # The interrupted task is not run again by itself (it might post twice); it waits for a retry.
    interrupted = owned.wait_for(running, timeout=60)
    assert interrupted["status"] == 3 and "run crashed" in interrupted["remark"], interrupted
    assert owned.wait_for(queued, timeout=90)["status"] == 2
    starts = [tid for tid, _, _ in busy.task_intervals()]
    assert starts.count(running) == 1 and starts.count(queued) == 1, starts
    # One task at a time on the phone, across the restart too.
    intervals = sorted((start, end if end is not None else start) for tid, start, end in busy.task_intervals())
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(intervals, intervals[1:])), intervals
    [newer] = owned.create([idle_serial], ["after"])
    assert newer > max(after)
