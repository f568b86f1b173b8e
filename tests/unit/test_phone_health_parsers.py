"""The health parsers on outputs in the format real phones print."""

import pytest

from devices.health import HealthOutputUnreadable, parse_battery, parse_free_storage_mb

DUMPSYS_BATTERY = """Current Battery Service state:
  AC powered: false
  USB powered: true
  Wireless powered: false
  Max charging current: 500000
  status: 2
  health: 2
  present: true
  level: 87
  scale: 100
  voltage: 4231
  temperature: 312
  technology: Li-ion
"""

DF_DATA = """Filesystem     1K-blocks    Used Available Use% Mounted on
/dev/block/dm-5 57534032 21011940  36390708  37% /data
"""


def test_battery_reads_level_temperature_and_charging():
    reading = parse_battery(DUMPSYS_BATTERY)
    assert (reading.level_percent, reading.temperature_c, reading.charging) == (87, 31.2, True)


def test_battery_unplugged_is_not_charging():
    reading = parse_battery(DUMPSYS_BATTERY.replace("USB powered: true", "USB powered: false"))
    assert reading.charging is False


def test_battery_without_level_is_unreadable():
    with pytest.raises(HealthOutputUnreadable):
        parse_battery("Current Battery Service state:\n  temperature: 312\n")


def test_free_storage_is_available_kilobytes_in_megabytes():
    assert parse_free_storage_mb(DF_DATA) == 36390708 // 1024


def test_df_error_is_unreadable():
    with pytest.raises(HealthOutputUnreadable):
        parse_free_storage_mb("df: /data: Permission denied\n")


def test_simulated_phone_prints_its_settable_health():
    from simulator.phone import SimulatedPhone

    phone = SimulatedPhone("health")
    phone.battery_level, phone.battery_temperature_c, phone.charging, phone.free_storage_mb = 12, 46.5, False, 400
    reading = parse_battery(phone.dumpsys_battery())
    assert (reading.level_percent, reading.temperature_c, reading.charging) == (12, 46.5, False)
    assert parse_free_storage_mb(phone.df_data()) == 400
