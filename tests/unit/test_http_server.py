"""The API's waitress server: its limits, and its restart alone when it dies."""

from __future__ import annotations

import resource

import pytest

from api.supervision import http_server


class DyingServer:
    """Dies `deaths` times, then stops as on SIGTERM (waitress's run() returns)."""

    made = 0

    def __init__(self, deaths: int):
        self.deaths = deaths
        self.task_dispatcher = self
        self.map: dict = {}

    def run(self) -> None:
        DyingServer.made += 1
        if DyingServer.made <= self.deaths:
            raise ValueError("filedescriptor out of range in select()")

    def shutdown(self, timeout: float) -> None:
        pass


def test_a_server_that_dies_is_made_anew_with_a_back_off():
    DyingServer.made = 0
    waits: list[float] = []
    http_server.serve_forever(lambda: DyingServer(deaths=4), sleep=waits.append, clock=lambda: 0.0)
    assert DyingServer.made == 5 and waits == [0.0, 2.0, 4.0, 8.0]


def test_a_stop_ends_the_serving():
    DyingServer.made = 0
    http_server.serve_forever(lambda: DyingServer(deaths=0), sleep=pytest.fail)
    assert DyingServer.made == 1


@pytest.mark.parametrize("wanted, files, expected", [
    (1000, 20000, (1000, 125)),
    (1000, 1024, (768, 96)),  # under the file limit, with room for the rest of the process
    (50, 20000, (50, 16)),
])
def test_connection_limits(wanted, files, expected):
    assert http_server.connection_limits(wanted, files) == expected


def test_the_soft_file_limit_is_raised_to_the_hard_one():
    assert http_server.raise_file_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == hard or hard == resource.RLIM_INFINITY
