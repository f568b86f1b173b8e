"""Session fixtures: the real adb server, simulated phones behind it, and the service on free ports."""

from __future__ import annotations

import json

import pytest

from devices.simulator.farm import SimulatedFarm
from tests.harness import start_adb_server
from tests.inprocess import AppClient, wired_app
from tests.receivers import ChatEndpoint
from tests.service import Service

PHONES = 2


@pytest.fixture(scope="session")
def adb(tmp_path_factory):
    handle = start_adb_server(tmp_path_factory.mktemp("adb"))
    yield handle.server
    handle.stop()


@pytest.fixture(scope="session")
def farm(adb):
    farm = SimulatedFarm(adb, PHONES, auto_reconnect=True)
    yield farm
    farm.stop()


@pytest.fixture(scope="session")
def chat_endpoint():
    """A local OpenAI-compatible endpoint: no network at test time. Allowed by the session service."""
    with ChatEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def other_chat_endpoint():
    """Allowed too: a key stored for the first one must still never reach it."""
    with ChatEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def service(tmp_path_factory, adb, farm, chat_endpoint, other_chat_endpoint):
    endpoints = json.dumps([chat_endpoint.url, other_chat_endpoint.url])
    service = Service(tmp_path_factory.mktemp("service"), adb.port, env={"PHONEFARM_COMMENT_ENDPOINTS": endpoints})
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def api(service, adb, tmp_path_factory):
    """The real app in the test process (falcon.testing), wired to the session's Prefect server and
    phones with an index of its own: for HTTP-contract tests, which need no socket."""
    with wired_app(service, adb, tmp_path_factory.mktemp("api"), max_tasks_per_request=200) as wired:
        yield AppClient(wired)


class PhonePool:
    """Hands each test phones of its own, so tests do not see each other's tasks or faults."""

    def __init__(self, farm: SimulatedFarm):
        self.farm = farm

    def take(self, count: int = 1) -> list[str]:
        return [self.farm.add_phone() for _ in range(count)]

    def __getitem__(self, serial: str):
        return self.farm.phones[serial]


@pytest.fixture
def phones(farm, service):
    return PhonePool(farm)


MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture
def video(service, request):
    """A video in the service's material library: files elsewhere on the server are refused."""
    path = service.data_dir / "materials" / "uploads" / f"{request.node.name}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(MP4)
    return path
