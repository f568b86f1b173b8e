"""The latest screen of each of this PC's phones, taken only while someone looks and no run drives the phone."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from api.loop import Loop
from devices.adb import AdbServer
from devices.errors import DeviceError
from devices.screenshots import screenshot_if_idle

log = logging.getLogger(__name__)

EVERY_SECONDS = 3.0  # a phone's screen is taken at most this often
WATCHED_SECONDS = 20.0  # and only while a page asked for it this recently
FORGET_SECONDS = 120.0  # a screen nobody asked for this long is dropped
PARALLEL = 4  # phones captured at once: a slow phone does not hold the others back


@dataclass(frozen=True)
class Screenshot:
    png: bytes
    taken_at: float  # time.time()


class ScreenCamera(Loop):
    """Pages ask for a screen (`latest`), a thread of its own takes them: no request waits on a phone."""

    def __init__(self, server: AdbServer, locks_dir: Path, attached: Callable[[], set[str]], *,
                 clock: Callable[[], float] = time.time):
        super().__init__("screen-camera", 1.0)
        self.server, self.locks_dir, self.attached, self.clock = server, locks_dir, attached, clock
        self._shots: dict[str, Screenshot] = {}
        self._asked: dict[str, float] = {}
        # This PC's phones as of the last round: only they are remembered, so a request naming any
        # serial does not make the camera keep (and look for) it.
        self._known: set[str] = set()
        self._look_again = False
        self._lock = threading.Lock()
        self._pool: Optional[ThreadPoolExecutor] = None

    def latest(self, serial: str) -> Optional[Screenshot]:
        with self._lock:
            if serial not in self._known:
                self._look_again = True  # perhaps just plugged in: the next round reads the phones again
                return None
            self._asked[serial] = self.clock()
            return self._shots.get(serial)

    def due(self) -> list[str]:
        now = self.clock()
        with self._lock:
            look = self._look_again or bool(self._asked)
            self._look_again = False
            known = self._known
        if look:  # nobody looking: no adb call
            known = self.attached()
        with self._lock:
            self._known = known
            self._asked = {s: asked for s, asked in self._asked.items()
                           if s in known and now - asked < FORGET_SECONDS}
            self._shots = {s: shot for s, shot in self._shots.items() if s in self._asked}
            watched = {s for s, asked in self._asked.items() if now - asked < WATCHED_SECONDS}
            stale = {s for s in watched if s not in self._shots or now - self._shots[s].taken_at >= EVERY_SECONDS}
        return sorted(stale)

    def take_due(self, pool: ThreadPoolExecutor) -> None:
        due = self.due()
        for serial, png in zip(due, pool.map(self._take, due)):
            if png is not None:
                with self._lock:
                    self._shots[serial] = Screenshot(png, self.clock())

    def _take(self, serial: str) -> Optional[bytes]:
        try:
            return screenshot_if_idle(self.server, serial, self.locks_dir)
        except DeviceError as error:
            log.debug("no screen of %s: %s", serial, error)
            return None

    def setup(self) -> None:
        self._pool = ThreadPoolExecutor(PARALLEL, thread_name_prefix="screen")

    def run_once(self) -> None:
        # A failed round leaves the page an older screen; the next round tries again.
        self.take_due(self._pool)

    def teardown(self) -> None:
        self._pool.shutdown()
