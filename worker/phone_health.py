"""Each phone's health, read through adb at most once an interval, and the guards that keep new tasks off a phone until it recovers."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Optional

from devices.errors import DeviceError
from devices.health import HealthOutputUnreadable, PhoneHealth

log = logging.getLogger(__name__)
READS_A_ROUND = 10  # a report round (5 s) reads this many phones at most: 100 phones within a minute


@dataclass(frozen=True)
class HealthGuards:
    """Below or above these a phone takes no new task (operator settings, checked at start-up)."""

    min_battery_percent: int = 15  # ... unless it is charging
    max_temperature_c: float = 45.0
    min_free_storage_mb: int = 500


def why_kept_off(health: PhoneHealth, guards: HealthGuards) -> Optional[str]:
    """Why the phone takes no new task, in an operator's words; None when it may."""
    reasons = []
    if health.battery_level_percent < guards.min_battery_percent and not health.charging:
        reasons.append(f"battery {health.battery_level_percent} % and not charging")
    if health.battery_temperature_c > guards.max_temperature_c:
        reasons.append(f"temperature {health.battery_temperature_c:g} C")
    if health.free_storage_mb < guards.min_free_storage_mb:
        reasons.append(f"free storage {health.free_storage_mb} MB")
    return ", ".join(reasons) or None


@dataclass(frozen=True)
class Reading:
    health: PhoneHealth
    read_at: datetime
    read_monotonic: float


class HealthReadings:
    """The latest reading of each phone; `refresh` reads the phones due (never read, kept off, or read
    longer than the interval ago), a few a round, so a report round stays short with many phones."""

    def __init__(self, read: Callable[[str], Optional[PhoneHealth]], guards: HealthGuards, interval_seconds: float,
                 clock: Callable[[], float] = time.monotonic):
        """`read(serial)`: the phone's health, or None while a run holds it (read_health_if_idle)."""
        self.guards, self.interval = guards, interval_seconds
        self._read, self._clock = read, clock
        self._readings: dict[str, Reading] = {}

    def refresh(self, online: Iterable[str]) -> None:
        now, kept_off = self._clock(), self.kept_off()
        # A phone kept off is read again every round: it runs nothing a reading could disturb, and its
        # recovery is seen at once. The others once an interval, the never read and the oldest first.
        due = [serial for serial in sorted(online) if serial not in self._readings or serial in kept_off
               or now - self._readings[serial].read_monotonic >= self.interval]
        due.sort(key=lambda serial: self._readings[serial].read_monotonic if serial in self._readings else float("-inf"))
        for serial in due[:READS_A_ROUND]:
            try:
                health = self._read(serial)
            except (DeviceError, HealthOutputUnreadable, OSError) as error:
                log.warning("phone %s: health not read (%s); its last reading stands", serial, error)
                continue
            if health is None:  # a run holds the phone: read it on a later round
                continue
            self._readings[serial] = Reading(health, datetime.now(timezone.utc), self._clock())

    def report(self, serial: str) -> dict:
        """What the PC's report carries for the phone: its health and, if any, why it takes no task."""
        reading = self._readings.get(serial)
        if reading is None:
            return {}
        return {"health": {**asdict(reading.health), "read_at": reading.read_at.isoformat()},
                "kept_off": why_kept_off(reading.health, self.guards)}

    def kept_off(self) -> set[str]:
        return {serial for serial, reading in self._readings.items() if why_kept_off(reading.health, self.guards)}
