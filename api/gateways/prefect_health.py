"""Whether the Prefect server answers: one probe, and a watch that keeps the answer fresh."""

from __future__ import annotations

import threading
from typing import Optional

import httpx


def prefect_answers(api_url: str, timeout: float = 5.0, http: Optional[httpx.Client] = None) -> bool:
    """The server's own health endpoint says 200; a refused connection fails at once."""
    get = http.get if http is not None else httpx.get
    try:
        return get(f"{api_url}/health", timeout=timeout).status_code == 200
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
        # One client, kept: a new one builds an SSL context (~25 ms of CPU), twice a second.
        self._http = httpx.Client()
        self.up = prefect_answers(api_url, http=self._http)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="prefect-health", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._failures = 0 if prefect_answers(self.api_url, http=self._http) else self._failures + 1
            self.up = self._failures < self.failures_for_down

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._http.close()
