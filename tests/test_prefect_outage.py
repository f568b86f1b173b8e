"""While the Prefect server is down the API answers 50301 quickly and loses nothing."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta

from tests.processes import descendants
from tests.processes import find


def test_prefect_server_killed_and_restarted(service, phones):
    [serial] = phones.take()
    soon = (datetime.now().astimezone() + timedelta(seconds=20)).isoformat()
    [pending] = service.create([serial], ["outage"], start_time=soon)
    stats_before = service.ok("GET", "/task/stats")

    # The server and the uvicorn process it runs die together, as in a crash of the machine's Prefect.
    server = find([b"server", b"start", str(service.prefect_port).encode()], descendants(service.process.pid))
    os.killpg(os.getpgid(server), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while service.ok("GET", "/health")["prefect"] != "down":
        assert time.monotonic() < deadline, "health never noticed the server was gone"
        time.sleep(0.1)
    started = time.monotonic()
    status, body = service.call("GET", f"/task/{pending}")
    assert (status, body["code"]) == (503, 50301), body
    assert time.monotonic() - started < 5, "50301 must come quickly"
    status, body = service.call("POST", "/task", json={
        "serials": [serial], "script_name": "follow", "script_config": {"target_users": ["lost"]}})
    assert (status, body["code"]) == (503, 50301), body

    # The launcher restarts the server; the API answers again and nothing was lost.
    deadline = time.monotonic() + 90
    while service.call("GET", "/task/stats")[0] != 200:
        assert time.monotonic() < deadline, "the Prefect server never came back"
        time.sleep(0.5)
    assert service.ok("GET", "/task/stats")["total"] == stats_before["total"]
    assert service.wait_for(pending, timeout=90)["status"] == 2
    assert "outage" in phones[serial].following("tiktok")
    [after] = service.create([serial], ["after-outage"])
    assert after > pending
    assert service.wait_for(after, timeout=60)["status"] == 2
