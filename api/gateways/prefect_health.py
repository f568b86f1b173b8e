"""Whether the Prefect server answers: one probe, and a watch that keeps the answer fresh."""

from __future__ import annotations

import threading

import httpx


def prefect_answers(api_url: str, timeout: float = 5.0) -> bool:
    """The server's own health endpoint says 200; a refused connection fails at once."""
    try:
        return httpx.get(f"{api_url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


class HealthWatch:
    """Polls the server's health twice a second. Prefect's client retries a lost connection for
    many seconds, so requests check this first and get 50301 at once while the server is down."""

    def __init__(self, api_url: str, interval: float = 0.5, failures_for_down: int = 2):
        self.api_url = api_url
        self.interval = interval
        self.failures_for_down = failures_for_down
        self._failures = 0
        self.up = prefect_answers(api_url)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="prefect-health", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._failures = 0 if prefect_answers(self.api_url) else self._failures + 1
            self.up = self._failures < self.failures_for_down

    def stop(self) -> None:
        self._stop.set()
