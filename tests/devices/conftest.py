"""Device-layer fixtures: one fresh simulated phone per test, behind the session's real adb server."""

from __future__ import annotations

import pytest

from tests.harness import running_farm


@pytest.fixture
def farm(adb):
    with running_farm(adb, 1) as farm:
        yield farm


@pytest.fixture
def serial(farm):
    return farm.serials[0]


@pytest.fixture
def phone(farm, serial):
    return farm.phones[serial]
