"""Whether the Prefect server answers: one probe, and a watch that keeps the answer fresh."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import httpx

from api.loop import Loop


UP, REFUSED, FAILED = "up", "refused", "failed"


def probe(api_url: str, timeout: float = 5.0, http: Optional[httpx.Client] = None) -> str:
    """UP when the server's own health endpoint says 200; REFUSED when nothing listens (at once)."""
    get = http.get if http is not None else httpx.get
    try:
        return UP if get(f"{api_url}/health", timeout=timeout).status_code == 200 else FAILED
    except httpx.ConnectError:
        return REFUSED
    except httpx.HTTPError:
        return FAILED


def prefect_answers(api_url: str, timeout: float = 5.0, http: Optional[httpx.Client] = None) -> bool:
    return probe(api_url, timeout, http) == UP


class HealthWatch(Loop):
    """Polls the server's health every 2 s. Prefect's client retries a lost connection for many
    seconds, so requests check this first and get 50301 at once while the server is down. A
    refused connection (the server is gone) is down at once; a slow or failed answer (a busy
    server) only after `failures_for_down` in a row. Each probe costs the server about 14 ms of
    CPU: twice a second, as before, it was most of what an idle server did."""

    def __init__(self, api_url: str, interval: float = 2.0, failures_for_down: int = 2):
        super().__init__("prefect-health", interval)
        self.api_url = api_url
        self.failures_for_down = failures_for_down
        self._failures = 0
        # One client, kept: a new one builds an SSL context (~25 ms of CPU) at every probe.
        self._http = httpx.Client()
        # When the server last answered: reads served from the index's copy while it is down say so.
        self.last_up: Optional[datetime] = None
        self.up = self._probe() == UP
        self.start()

    def run_once(self) -> None:
        self.check()

    def check(self) -> None:
        answer = self._probe()
        self._failures = 0 if answer == UP else self._failures + 1
        self.up = answer == UP or (answer == FAILED and self._failures < self.failures_for_down)

    def _probe(self) -> str:
        answer = probe(self.api_url, http=self._http)
        if answer == UP:
            self.last_up = datetime.now(timezone.utc)
        return answer

    def stop(self) -> None:
        super().stop()
        self._http.close()
