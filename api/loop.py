"""One background loop for every thread of the service: run_once every interval, woken early on demand."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Loop:
    """A daemon thread calling `run_once` every `interval` seconds (at once after `wake()`), as
    Prefect's server `LoopService` does. An exception from `run_once` is logged and the next round
    comes as usual. `setup` and `teardown` run in the loop's thread, around all rounds; `interrupt`
    runs in the thread calling `stop`, for a `run_once` that blocks (on a stream, say)."""

    def __init__(self, name: str, interval: float, *, join_seconds: float = 10.0):
        self.name = name
        self.interval = interval
        self.join_seconds = join_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def run_once(self) -> None:
        raise NotImplementedError

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass

    def interrupt(self) -> None:
        pass

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def sleep(self, seconds: float) -> bool:
        """Wait, unless stopped meanwhile; whether stopped."""
        return self._stopping.wait(seconds)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.interrupt()
        if self._thread.is_alive():
            self._thread.join(timeout=self.join_seconds)

    def _run(self) -> None:
        self.setup()
        try:
            while not self._stopping.is_set():
                self._wake.wait(self.interval)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                try:
                    self.run_once()
                except Exception:
                    log.exception("%s: this round failed; the next one comes as usual", self.name)
        finally:
            self.teardown()
