"""Slow and large clients cannot starve the API: 150 sockets that trickle their headers leave /health
and the task list answering; a large body is refused by waitress itself, not buffered."""

from __future__ import annotations

import socket

import requests


def test_150_slow_sockets_leave_the_api_answering(service):
    slow = []
    try:
        for _ in range(150):
            sock = socket.create_connection(("127.0.0.1", service.port), timeout=5)
            sock.sendall(b"GET /api/v1/task HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never finished
            slow.append(sock)
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
