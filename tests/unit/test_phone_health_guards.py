"""The health guards: which readings keep new tasks off a phone and why; readings a few a round, each at most once an interval."""

from __future__ import annotations

from devices.errors import PhoneDisconnected
from devices.health import PhoneHealth
from worker.phone_health import READS_A_ROUND, HealthGuards, HealthReadings, why_kept_off

GUARDS = HealthGuards()


def health(battery: int = 80, temperature: float = 30.0, charging: bool = False, free_mb: int = 4000) -> PhoneHealth:
    return PhoneHealth(battery, temperature, charging, free_mb, "13", "Pixel 7")


def test_a_healthy_phone_takes_tasks():
    assert why_kept_off(health(), GUARDS) is None


def test_low_battery_keeps_tasks_off_unless_it_charges():
    assert why_kept_off(health(battery=12), GUARDS) == "battery 12 % and not charging"
    assert why_kept_off(health(battery=12, charging=True), GUARDS) is None
    assert why_kept_off(health(battery=15), GUARDS) is None


def test_heat_and_full_storage_keep_tasks_off_each_named():
    assert why_kept_off(health(temperature=46.5, free_mb=300), GUARDS) == "temperature 46.5 C, free storage 300 MB"


class Phones:
    def __init__(self):
        self.readings: dict[str, PhoneHealth] = {}
        self.read: list[str] = []

    def __call__(self, serial: str) -> PhoneHealth:
        self.read.append(serial)
        if serial not in self.readings:
            raise PhoneDisconnected(f"phone {serial} is not connected")
        return self.readings[serial]


def test_readings_are_made_a_few_a_round_and_again_only_after_the_interval():
    phones, now = Phones(), [0.0]
    serials = [f"p{n:02d}" for n in range(READS_A_ROUND + 2)]
    phones.readings = {serial: health() for serial in serials}
    readings = HealthReadings(phones, GUARDS, 60, clock=lambda: now[0])
    readings.refresh(serials)
    readings.refresh(serials)
    assert sorted(phones.read) == serials  # the first round read ten, the second the two left
    now[0] = 30.0
    readings.refresh(serials)
    assert len(phones.read) == len(serials)
    now[0] = 61.0
    phones.readings["p00"] = health(battery=5)
    readings.refresh(serials)
    assert readings.kept_off() == {"p00"}
    assert readings.report("p00")["kept_off"] == "battery 5 % and not charging"
    assert readings.report("p00")["health"]["battery_level_percent"] == 5


def test_a_phone_that_cannot_be_read_keeps_its_last_reading():
    phones = Phones()
    phones.readings["p1"] = health(battery=3)
    now = [0.0]
    readings = HealthReadings(phones, GUARDS, 60, clock=lambda: now[0])
    readings.refresh(["p1", "p2"])
    assert readings.report("p2") == {}
    del phones.readings["p1"]
    now[0] = 100.0
    readings.refresh(["p1"])
    assert readings.kept_off() == {"p1"}


def test_a_phone_kept_off_is_read_every_round_until_it_recovers():
    phones, now = Phones(), [0.0]
    phones.readings = {"p1": health(battery=5), "p2": health()}
    readings = HealthReadings(phones, GUARDS, 60, clock=lambda: now[0])
    readings.refresh(["p1", "p2"])
    now[0] = 5.0
    phones.readings["p1"] = health(battery=5, charging=True)
    readings.refresh(["p1", "p2"])
    assert phones.read == ["p1", "p2", "p1"] and readings.kept_off() == set()


def test_a_phone_a_run_holds_is_read_on_a_later_round():
    now, busy = [0.0], {"p1"}
    readings = HealthReadings(lambda serial: None if serial in busy else health(battery=4), GUARDS, 60, clock=lambda: now[0])
    readings.refresh(["p1"])
    assert readings.report("p1") == {}
    busy.clear()
    readings.refresh(["p1"])
    assert readings.kept_off() == {"p1"}
