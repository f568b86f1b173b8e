"""tests/unit: tests that start no process (no adb server, phone, service, Prefect server or browser)
and need no network or root. `python -m pytest tests/unit -n 0` runs them in the test process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.fakes import FakePrefect, task_service, temp_index

HERE = Path(__file__).parent
# The session fixtures of tests/conftest.py that start processes or servers; every fixture that
# starts one (service, api, phones, owned, ...) needs one of these.
PROCESS_FIXTURES = {"adb", "prefect_database", "chat_endpoint", "other_chat_endpoint", "launched_service",
                    "launched_owned", "three_pcs"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.is_relative_to(HERE) and (started := PROCESS_FIXTURES.intersection(item.fixturenames)):
            raise pytest.UsageError(f"{item.nodeid} uses {sorted(started)}: tests/unit starts no process; "
                                    "it belongs in tests/")


@pytest.fixture
def prefect():
    """A fake Prefect gateway, in memory: runs, writes, schedules and secrets."""
    return FakePrefect()


@pytest.fixture
def index(tmp_path):
    """The real index, on a SQLite file of the test's own."""
    return temp_index(tmp_path)


@pytest.fixture
def tasks(index, prefect):
    """The task service over the index and the fake Prefect."""
    return task_service(index, prefect)
