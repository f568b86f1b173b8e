"""`--database postgresql`: the service runs Prefect on a PostgreSQL server it starts, guards and restarts.

Every other test runs on SQLite (the default); the 5-minute budget has room for one more service,
not for the whole suite twice. A full restart of a farm on PostgreSQL was checked by hand (README)."""

from __future__ import annotations

import os
import signal
import stat
import time

from tests.processes import descendants, listening_addresses

FOLLOW = {"script_name": "follow", "script_config": {"target_users": ["alice"]}}


def phone_of(service) -> str:
    [device] = service.ok("GET", "/device")["devices"]
    return device["serial"]


def run_one(service) -> dict:
    [task_id] = service.ok("POST", "/task", json={"serials": [phone_of(service)], **FOLLOW})["task_ids"]
    return service.wait_for(task_id)


def postmaster(service) -> int:
    return int((service.data_dir / "postgres" / "data" / "postmaster.pid").read_text().split()[0])


def test_tasks_run_on_a_postgresql_only_the_service_reaches(on_postgres):
    health = on_postgres.ok("GET", "/health")
    assert health["processes"]["postgres"] == "up" and health["prefect"] == "up", health
    assert run_one(on_postgres)["status"] == 2
    prefect_home = on_postgres.data_dir / "prefect"
    assert not list(prefect_home.glob("*.db")), list(prefect_home.iterdir())  # no SQLite file
    # No TCP port: a Unix socket in a folder only the server's user (and root) may enter, and a
    # password login (scram) on top.
    servers = [postmaster(on_postgres), *descendants(postmaster(on_postgres))]
    assert len(servers) > 3 and not any(listening_addresses(servers).values())
    socket_dir = on_postgres.data_dir / "postgres" / "socket"
    assert stat.S_IMODE(socket_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((on_postgres.data_dir / "postgres" / "password").stat().st_mode) == 0o600
    assert "scram-sha-256" in (on_postgres.data_dir / "postgres" / "data" / "pg_hba.conf").read_text()
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        assert socket_dir.stat().st_uid != 0


def test_a_killed_postgresql_is_started_again_and_the_farm_goes_on(on_postgres):
    before = on_postgres.ok("GET", "/health")["restarts"]["postgres"]
    os.kill(postmaster(on_postgres), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while on_postgres.ok("GET", "/health")["restarts"]["postgres"] == before:
        assert time.monotonic() < deadline, "PostgreSQL was not restarted"
        time.sleep(0.2)
    assert run_one(on_postgres)["status"] == 2
