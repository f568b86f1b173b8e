"""When a background chore is worth a question to Prefect: an event said so, or its fallback period passed."""

from __future__ import annotations

import threading
import time


class Trigger:
    """Due once after each fire(), and at least every `fallback_seconds` (events can be missed)."""

    def __init__(self, fallback_seconds: float):
        self.fallback_seconds = fallback_seconds
        self._fired = True  # the first round always asks
        self._last = float("-inf")
        self._lock = threading.Lock()

    def fire(self) -> None:
        self._fired = True

    def due(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._fired or now - self._last >= self.fallback_seconds:
                self._fired = False
                self._last = now
                return True
            return False
