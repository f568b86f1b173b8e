"""A phone's health (battery, temperature, charging, free storage, Android version, model) parsed from adb shell output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from adbutils import AdbError

from devices.adb import AdbServer, open_phone
from devices.errors import PhoneDisconnected
from devices.phone_lock import trying_phone

# Argument lists for adbutils' shell: each command is read-only and leaves the UI alone,
# so a reading may run while a script drives the phone.
BATTERY_COMMAND = ["dumpsys", "battery"]
STORAGE_COMMAND = ["df", "-k", "/data"]
ANDROID_VERSION_COMMAND = ["getprop", "ro.build.version.release"]
MODEL_COMMAND = ["getprop", "ro.product.model"]


@dataclass(frozen=True)
class BatteryReading:
    level_percent: int
    temperature_c: float
    charging: bool


@dataclass(frozen=True)
class PhoneHealth:
    battery_level_percent: int
    battery_temperature_c: float
    charging: bool
    free_storage_mb: int
    android_version: str
    model: str


class HealthOutputUnreadable(ValueError):
    """A health command printed something this parser does not understand."""


def _battery_fields(output: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in output.splitlines():
        name, separator, value = line.strip().partition(":")
        if separator:
            fields[name.strip()] = value.strip()
    return fields


def parse_battery(output: str) -> BatteryReading:
    fields = _battery_fields(output)
    try:
        level = int(fields["level"])
        scale = int(fields.get("scale", "100")) or 100
        # dumpsys prints the temperature in tenths of a degree Celsius.
        temperature_c = int(fields["temperature"]) / 10
    except (KeyError, ValueError) as error:
        raise HealthOutputUnreadable(f"dumpsys battery: {error}") from error
    powered = any(
        fields.get(f"{source} powered", "false") == "true" for source in ("AC", "USB", "Wireless", "Dock")
    )
    return BatteryReading(level_percent=round(level * 100 / scale), temperature_c=temperature_c, charging=powered)


def parse_free_storage_mb(output: str) -> int:
    """Free space of the last row of `df -k` (1K blocks; Available is the fourth column)."""
    rows = [line.split() for line in output.splitlines() if line.strip()]
    if len(rows) < 2 or len(rows[-1]) < 4:
        raise HealthOutputUnreadable(f"df: {output!r}")
    try:
        return int(rows[-1][3]) // 1024
    except ValueError as error:
        raise HealthOutputUnreadable(f"df: {output!r}") from error


def read_health(device, *, timeout: float = 10) -> PhoneHealth:
    """One phone's health from four read-only shell commands; `device` is an adbutils device."""
    battery = parse_battery(device.shell(BATTERY_COMMAND, timeout=timeout))
    return PhoneHealth(
        battery_level_percent=battery.level_percent,
        battery_temperature_c=battery.temperature_c,
        charging=battery.charging,
        free_storage_mb=parse_free_storage_mb(device.shell(STORAGE_COMMAND, timeout=timeout)),
        android_version=device.shell(ANDROID_VERSION_COMMAND, timeout=timeout).strip(),
        model=device.shell(MODEL_COMMAND, timeout=timeout).strip(),
    )


def read_health_if_idle(server: AdbServer, serial: str, locks_dir: Path, *, timeout: float = 10) -> Optional[PhoneHealth]:
    """read_health on one phone no run holds, under its lock (no script starts meanwhile); None while
    a run drives it: a reading never adds a second adb session to a script's. An adb failure is
    PhoneDisconnected."""
    with trying_phone(locks_dir, serial) as held:
        if not held:
            return None
        try:
            return read_health(open_phone(server, serial), timeout=timeout)
        except AdbError as error:
            raise PhoneDisconnected(f"phone {serial}: {error}") from error
