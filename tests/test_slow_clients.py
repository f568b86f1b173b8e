"""Slow and large clients cannot starve the API: sockets that trickle their headers or idle leave
/health and the task list answering; a large body is refused by waitress itself, not buffered."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from contextlib import suppress

import pytest
import requests
from waitress import wasyncore

from api.settings import Settings
from api.supervision import launcher
from tests.harness import free_port


def idle_socket(port: int, source: str, first_bytes: bytes) -> socket.socket:
    """A loopback connection from `source` (any 127.x address reaches the loopback) that sends a little and waits."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    with suppress(OSError):  # a connection beyond its client's share is closed by the server at once
        sock.sendall(first_bytes)
    return sock


def test_150_slow_sockets_leave_the_api_answering(service):
    slow = []
    try:
        for number in range(150):  # from two other clients: one client gets only its share of connections
            slow.append(idle_socket(service.port, f"127.0.0.{3 + number % 2}",
                                    b"GET /api/v1/task HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "))  # never finished
        # A generous bound: with waitress's old limit of 100 connections these never got an answer.
        assert requests.get(f"{service.base}/health", timeout=5).json()["code"] == 0
        assert service.http.get(f"{service.base}/task", params={"page_size": 1}, timeout=5).json()["code"] == 0
    finally:
        for sock in slow:
            sock.close()


def test_a_body_far_over_the_limit_is_refused_by_waitress_before_the_app(service):
    big = b"x" * (2 * 1024 * 1024)  # twice the 1 MiB limit: waitress stops reading at limit + 64 KiB
    response = requests.post(f"{service.base}/task", data=big, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 413


def health_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"code": 0}']


def health_seconds(port: int) -> float:
    """How long /health takes from a client of its own (127.0.0.2); it must answer within a second."""
    began = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1, source_address=("127.0.0.2", 0))
    try:
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
    finally:
        connection.close()
    return time.monotonic() - began


def test_1100_idle_sockets_leave_the_api_answering_within_a_second(tmp_path):
    """Past 1,024 descriptors select() fails and took waitress, then the farm, down; past the
    connection limit, idle sockets of one client locked every other client out."""
    port = free_port()
    server = launcher.serve(health_app, Settings(data_dir=tmp_path, port=port, api_threads=4))
    loop = threading.Thread(target=server.run, name="api-under-test", daemon=True)
    loop.start()
    idle: list[socket.socket] = []
    try:
        for _ in range(1100):
            idle.append(idle_socket(port, "127.0.0.1", b"G"))
        time.sleep(0.5)  # waitress has taken them all in
        assert loop.is_alive(), "the API server died"
        assert max(health_seconds(port) for _ in range(3)) < 1.0
    except OSError as error:
        pytest.fail(f"/health did not answer within a second: {error}")
    finally:
        for sock in idle:
            sock.close()
        # Closed from the loop's own thread: closing its sockets under its poll() from here let it act
        # on descriptor numbers that other servers of this process had been given since.
        sockets = getattr(server, "map", None) or server._map
        server.trigger.pull_trigger(lambda: wasyncore.close_all(sockets, ignore_all=True))
        loop.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=5)


def test_1100_idle_sockets_leave_the_service_answering_and_its_tasks_running(service, phones):
    [serial] = phones.take()
    phones[serial].profile_load_seconds = 3  # running while the sockets are open
    [task_id] = service.create([serial], ["idle-sockets"])
    service.wait_for(task_id, statuses=(1,), timeout=30)
    idle: list[socket.socket] = []
    try:
        for _ in range(1100):  # one client: it gets its share of the connections, the rest are closed
            idle.append(idle_socket(service.port, "127.0.0.3", b"G"))
        began = time.monotonic()
        assert requests.get(f"{service.base}/health", timeout=1).json()["code"] == 0
        assert time.monotonic() - began < 1.0
    finally:
        for sock in idle:
            sock.close()
        phones[serial].profile_load_seconds = 0
    assert service.wait_for(task_id, timeout=60)["status"] == 2
    assert requests.get(f"{service.base}/health", timeout=5).json()["code"] == 0
