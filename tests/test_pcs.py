"""A farm of three PCs on one machine, on PostgreSQL: the API's PC and two worker PCs with three phones each.

Each PC is its own set of processes (`python -m api`, `python -m api --role worker`) with its own
adb server on its own port and its own data directory; the phones are this test's simulated ones,
each adopted by one PC's adb server only, so a run that reaches its phone ran on that phone's PC.
The API's PC runs Prefect on the PostgreSQL server it starts and supervises (`--database postgresql`),
also behind TLS signed by the farm's own CA, through which the second worker PC reaches it.
A PC moved there from SQLite is tests/test_migration.py's."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import stat

import pytest

import requests
from prefect.client.schemas.actions import DeploymentUpdate, WorkPoolUpdate

from api.gateways.prefect_pcs import PC_STOPPED_ANSWERING
from api.supervision.postgres import PostgresCluster, find_bin_dir
from contract.names import DEPLOYMENT, WORK_POOL
from tests.harness import until
from tests.processes import descendants, listening_addresses
from tests.test_load import fifty_clients_at_once

# Several PCs share one Prefect server on PostgreSQL: PostgreSQL's step (./run tests --postgresql).
pytestmark = pytest.mark.postgresql

FOLLOW = {"script_name": "follow", "script_config": {"target_users": ["alice"]}}


def create(api, serials, targets=("alice",)) -> list[int]:
    return api.ok("POST", "/task", json={**FOLLOW, "serials": list(serials),
                                         "script_config": {"target_users": list(targets)}})["task_ids"]


def postmaster(service) -> int:
    return int((service.data_dir / "postgres" / "data" / "postmaster.pid").read_text().split()[0])


def new_postmaster(service, old: int) -> bool:
    """A postmaster other than `old` has written its pid file (between two, there is none)."""
    try:
        return postmaster(service) != old
    except FileNotFoundError:
        return False


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_each_pc_runs_its_own_phones_tasks_one_at_a_time_under_the_farm_wide_cap(three_pcs):
    api, pcs = three_pcs.api, three_pcs.workers
    devices = api.ok("GET", "/device")["devices"]
    assert sorted((d["pc"], d["serial"]) for d in devices) == sorted(
        (pc.name, serial) for pc in pcs for serial in pc.farm.phones)
    assert all(d["state"] == "device" and not d["contested"] for d in devices), devices
    every_phone = [serial for pc in pcs for serial in pc.farm.phones]
    for pc in pcs:
        for phone in pc.farm.phones.values():
            phone.profile_load_seconds = 0.5
    with api.prefect() as prefect:  # the plan's cap, as the API sets it (Pro's 20), made 4
        deployment = prefect.read_deployment_by_name(DEPLOYMENT).id
        prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(concurrency_limit=4))
        prefect.update_deployment(deployment, DeploymentUpdate(concurrency_limit=4))
        try:
            ids = create(api, every_phone, ["first", "second"])  # two tasks per phone
            tasks = [api.wait_for(task_id, timeout=120) for task_id in ids]
        finally:
            prefect.update_work_pool(WORK_POOL, WorkPoolUpdate(concurrency_limit=20))
            prefect.update_deployment(deployment, DeploymentUpdate(concurrency_limit=20))
    assert [t["status"] for t in tasks] == [2] * len(ids), [t["remark"] for t in tasks]
    spans = []
    for pc in pcs:  # from the phones' side: each saw exactly its own tasks, one after the other
        for serial, phone in pc.farm.phones.items():
            mine = {t["id"] for t in tasks if t["serial"] == serial}
            seen = [(start, end) for task_id, start, end in phone.task_intervals() if task_id in mine]
            assert len(seen) == 2 and all(end is not None for _, end in seen), (serial, seen)
            assert most_at_once(seen) == 1, f"two tasks at once on {serial}: {seen}"
            spans += seen
    assert most_at_once(spans) <= 4, "the farm-wide cap was passed"


def test_prefect_runs_on_a_postgresql_only_the_api_pc_reaches(three_pcs):
    api = three_pcs.api
    health = api.ok("GET", "/health")
    assert health["processes"]["postgres"] == "up" and health["prefect"] == "up", health
    assert not list((api.data_dir / "prefect").glob("*.db"))  # no SQLite file
    # No TCP port: a Unix socket in a folder only the server's user (and root) may enter, and a
    # password login (scram) on top.
    servers = [postmaster(api), *descendants(postmaster(api))]
    assert len(servers) > 3 and not any(listening_addresses(servers).values())
    socket_dir = api.data_dir / "postgres" / "socket"
    assert stat.S_IMODE(socket_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((api.data_dir / "postgres" / "password").stat().st_mode) == 0o600
    assert "scram-sha-256" in (api.data_dir / "postgres" / "data" / "pg_hba.conf").read_text()
    # Prefect's role owns its database and nothing more: no superuser, no new roles or databases.
    cluster = PostgresCluster(api.data_dir / "postgres", find_bin_dir())
    assert cluster.sql("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'phonefarm'") == "f|f|f"
    assert cluster.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'prefect'") == "phonefarm"
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        assert socket_dir.stat().st_uid != 0
    # A worker PC listens on nothing beyond loopback, and its Prefect client needs the auth string.
    for pc in three_pcs.workers:
        addresses = listening_addresses([pc.process.pid, *descendants(pc.process.pid)])
        loopback = ("127.", "00000000000000000000000001000000")  # ::1 as the kernel prints it
        assert all(address.startswith(loopback) for found in addresses.values() for address in found), addresses
    user, _, _ = api.prefect_auth.partition(":")
    assert requests.get(f"{api.prefect_api}/work_pools/{WORK_POOL}", timeout=10).status_code == 401
    assert requests.get(f"{api.prefect_api}/work_pools/{WORK_POOL}", auth=(user, "wrong"), timeout=10).status_code == 401


def test_a_killed_then_a_frozen_postgresql_is_started_again_and_the_farm_goes_on(three_pcs):
    api = three_pcs.api
    before = api.ok("GET", "/health")["restarts"]["postgres"]
    os.kill(postmaster(api), signal.SIGKILL)
    until(lambda: api.ok("GET", "/health")["restarts"]["postgres"] != before, 30, "PostgreSQL restarted", interval=0.2)
    serial = next(iter(three_pcs.workers[1].farm.phones))
    [task_id] = create(api, [serial])
    assert api.wait_for(task_id, timeout=90)["status"] == 2
    # Alive but answering nothing: killed and started again past the hung limit (PHONEFARM_HUNG_AFTER_SECONDS).
    frozen = postmaster(api)
    os.kill(frozen, signal.SIGSTOP)
    until(lambda: api.ok("GET", "/health")["restarts"]["postgres"] == before + 2, 90, "the frozen PostgreSQL restarted")
    # The restart is counted as it is started: the new postmaster writes its pid file a moment later.
    until(lambda: new_postmaster(api, frozen), 60, "a new postmaster")
    assert list((api.data_dir / "logs").glob("postgres.hung-*.log"))
    [task_id] = create(api, [serial])
    assert api.wait_for(task_id, timeout=90)["status"] == 2


def test_fifty_clients_at_once_on_postgresql(three_pcs):
    """The load test of tests/test_load.py (creates, reads, stops, retries, deletes from 50
    clients; no 5xx, no id twice, the books balance), on phones of both worker PCs."""
    (pc_b, pc_c) = three_pcs.workers
    b, c = list(pc_b.farm.phones), list(pc_c.farm.phones)
    fifty_clients_at_once(three_pcs.api, storage_phones=b[:2] + c[:2], run_phones=[b[2], c[2]])


def test_a_dead_pc_fails_its_running_task_keeps_its_pending_ones_and_the_others_go_on(three_pcs):
    api, (dead, alive) = three_pcs.api, three_pcs.workers
    busy, waiting = list(dead.farm.phones)[:2]
    dead.farm.phones[busy].profile_load_seconds = 600  # it runs until its PC dies
    [running] = create(api, [busy], ["held"])
    api.wait_for(running, statuses=(1,), timeout=60)
    dead.kill()  # every process of that PC at once, as a power cut would; its phones stay plugged
    [pending] = create(api, [waiting], ["later"])
    [elsewhere] = create(api, [next(iter(alive.farm.phones))], ["elsewhere"])
    assert api.wait_for(elsewhere, timeout=60)["status"] == 2  # the other PC goes on
    try:
        failed = api.wait_for(running, timeout=120)  # its PC silent for 15 s here: Crashed (silent_pcs.py)
    except AssertionError as error:
        run = api.prefect_get(f"/flow_runs/{api.task(running)['flow_run_id']}")
        raise AssertionError(f"{error}; in Prefect: {run['state_type']} {run['state']['message']!r} "
                             f"since {run['state']['timestamp']}") from None
    assert failed["status"] == 3 and failed["remark"] == f"run crashed: {PC_STOPPED_ANSWERING}", failed
    assert api.task(pending)["status"] == 0  # no other PC takes a run for its phone
    states = {d["serial"]: d["state"] for d in api.ok("GET", "/device")["devices"] if d["pc"] == dead.name}
    assert set(states.values()) == {"offline"} and set(states) == set(dead.farm.phones), states
    dead.farm.phones[busy].profile_load_seconds = 0
    dead.start()  # back: its phones take tasks again
    assert api.wait_for(pending, timeout=90)["status"] == 2
    [again] = create(api, [busy], ["again"])
    assert api.wait_for(again, timeout=60)["status"] == 2


def test_a_worker_pc_runs_its_task_through_tls_signed_by_the_farms_ca(three_pcs):
    api, tls_port, pc_c = three_pcs.api, three_pcs.tls_port, three_pcs.workers[1]
    assert pc_c.extra_env["PHONEFARM_PREFECT_API_URL"] == f"https://127.0.0.1:{tls_port}/api"
    serial = list(pc_c.farm.phones)[0]
    [task_id] = create(api, [serial], ["over-tls"])
    assert api.wait_for(task_id, timeout=60)["status"] == 2
    assert "over-tls" in pc_c.farm.phones[serial].following("tiktok")
    ca = api.data_dir / "prefect" / "tls" / "ca.pem"
    for key in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((ca.parent / key).stat().st_mode) == 0o600
    # The TLS port speaks nothing else, and a client that does not trust the farm's CA is refused.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_port}/api/health", timeout=5)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{tls_port}/api/health", timeout=5)
    assert requests.get(f"https://127.0.0.1:{tls_port}/api/health", verify=str(ca), timeout=5).status_code == 200
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", tls_port)) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
