"""A simulated phone's health read through the real adb server."""

from devices.adb import open_phone
from devices.health import read_health


def test_health_follows_the_phones_settable_values(adb, serial, phone):
    phone.battery_level, phone.battery_temperature_c, phone.charging, phone.free_storage_mb = 14, 46.3, False, 450
    health = read_health(open_phone(adb, serial))
    assert (health.battery_level_percent, health.battery_temperature_c, health.charging, health.free_storage_mb) == (
        14, 46.3, False, 450)
    assert health.model == phone.model and health.android_version
