"""A phone's health through the API: in GET /device, /farm and /metrics; a flat phone takes no new task until it charges."""

from __future__ import annotations

import itertools
import time

import requests

from simulator.phone import SimulatedPhone
from tests.harness import until
from tests.test_farm_wall import samples

NAMES = itertools.count(1)


def device(service, serial: str) -> dict:
    return next(d for d in service.ok("GET", "/device")["devices"] if d["serial"] == serial)


def test_a_flat_phone_waits_with_the_reason_and_runs_once_it_charges(service, session_farm):
    phone = SimulatedPhone(f"health{next(NAMES)}")
    phone.battery_level, phone.charging, phone.battery_temperature_c, phone.free_storage_mb = 9, False, 33.5, 2048
    serial = session_farm.add_phone(phone)  # flat before its PC's worker ever sees it
    listed = until(lambda: device(service, serial), 30, "its first health reading",
                   accept=lambda d: d["health"] is not None)
    assert listed["kept_off"] == "battery 9 % and not charging"
    assert {k: listed["health"][k] for k in ("battery_level_percent", "charging", "battery_temperature_c", "free_storage_mb")} == {
        "battery_level_percent": 9, "charging": False, "battery_temperature_c": 33.5, "free_storage_mb": 2048}
    assert listed["health"]["model"] == phone.model and listed["health"]["android_version"]
    scraped = samples(requests.get(f"http://127.0.0.1:{service.port}/metrics", timeout=10).text)
    assert scraped[("phonefarm_phone_battery_percent", (("serial", serial),))] == 9
    assert scraped[("phonefarm_phone_kept_off", (("serial", serial),))] == 1
    on_the_wall = next(p for p in service.ok("GET", "/farm")["phones"] if p["serial"] == serial)  # the page's data
    assert (on_the_wall["health"], on_the_wall["kept_off"]) == (listed["health"], listed["kept_off"])

    [task_id] = service.create([serial], ["alice"])
    time.sleep(6)  # a report round and more: its worker does not take it
    task = service.task(task_id)
    assert (task["status"], task["remark"]) == (0, "waiting: phone battery 9 % and not charging")
    assert not phone.task_intervals()

    phone.charging = True
    assert service.wait_for(task_id, timeout=60)["status"] == 2
    until(lambda: device(service, serial)["kept_off"] is None, 20, "the listing told of its recovery")  # reports lag a few s
