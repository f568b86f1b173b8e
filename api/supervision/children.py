"""Child processes of the launcher: start, watch, restart and stop them, leaving no orphan."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

from api.loop import Loop
from api.supervision.hangs import HangWatch, check_interval, keep_last_lines, passes
from api.supervision.procfs import alive, descendants, direct_children, processes_marked

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    """Linux: orphans of our children (flow-run processes whose worker died) become ours to stop."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass


def _die_with_parent(death_signal: int) -> Callable[[], None]:
    """Linux: the child gets `death_signal` if the launcher dies, even by SIGKILL."""

    def before_exec() -> None:
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, death_signal)
        except OSError:
            pass
        os.setsid()  # its own process group, so stopping it reaches its children too

    return before_exec


def kill_leftovers(marker: str) -> int:
    """Processes a killed earlier life of the service left behind (a worker still waiting on its
    runs, a flow-run process still driving a phone, a Prefect server holding its port)."""
    leftovers = processes_marked(marker)
    for pid in leftovers:
        _kill_pid(pid)
    return len(leftovers)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Optional[Path] = None
    process: Optional[subprocess.Popen] = field(default=None, repr=False)
    restarts: int = 0
    # When the supervisor last saw it running: what died with it died after this moment.
    last_alive: Optional[datetime] = None
    before_start: Optional[Callable[[], None]] = field(default=None, repr=False)
    # SIGTERM lets a child stop its own children (Prefect's server stops uvicorn); the worker gets
    # SIGKILL, because on SIGTERM it would wait for its flow runs to end.
    death_signal: int = signal.SIGTERM
    run_as: Optional[tuple[int, int]] = None  # (uid, gid): PostgreSQL will not run as root
    # True while the child answers; a live child failing it for the supervisor's hung limit is
    # killed and started again. Each call must return within a few seconds.
    health_check: Optional[Callable[[], bool]] = field(default=None, repr=False)
    started_wall: float = 0.0  # time.time() of its last start: a heartbeat older than this is a former life's
    started: float = 0.0  # time.monotonic() of its last start
    # Set by a start-up step that waited for it to answer: its failures count from the first check on.
    answered: bool = False
    last_restart: Optional[str] = None  # when and why the supervisor last restarted it, for the operator

    def start(self) -> None:
        if self.process is not None:
            # A crashed child can leave its own children behind (Prefect's server runs uvicorn in one).
            _kill_group(self.process.pid)
        if self.before_start:
            self.before_start()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_wall, self.started, self.answered = time.time(), time.monotonic(), False
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent(self.death_signal),
                # Popen changes the user before preexec_fn runs, so the death signal survives it.
                **({"user": self.run_as[0], "group": self.run_as[1], "extra_groups": []} if self.run_as else {}),
            )
        log.info("started %s (pid %s), log %s", self.name, self.process.pid, self.log_path)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> Optional[int]:
        """SIGKILL to its whole group: a stopped (SIGSTOP) or hung process does not act on SIGTERM."""
        if self.process is None:
            return None
        _kill_group(self.process.pid)
        try:
            return self.process.wait(10)
        except subprocess.TimeoutExpired:  # in uninterruptible sleep (a dead disk): started again anyway
            return None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # Prefect's worker wants a second SIGTERM to stop waiting for its runs.
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
                os.killpg(self.process.pid, signal.SIGCONT)  # a stopped (frozen) child acts on nothing else
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout / 2 if sig == signal.SIGTERM else timeout)
                break
            except subprocess.TimeoutExpired:
                continue
        _kill_group(self.process.pid)  # leftovers of its group (flow-run processes of the worker)


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kill_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Supervisor(Loop):
    """Restarts children that die, with a back-off, and live children that fail their health check
    for `hung_after` seconds, until stopped."""

    def __init__(self, children: list[Child], check_seconds: float = 1.0, hung_after: float = 30.0,
                 room: Callable[[], bool] = lambda: True):
        super().__init__("supervisor", check_seconds, join_seconds=5.0)
        self.children = children
        self.hung_after = hung_after
        self.room = room  # whether the disk under the data directory has room for a child to start
        self._next_try: dict[str, float] = {}
        self._watches: dict[str, HangWatch] = {}
        self._next_health_check = 0.0
        self._restarting = threading.Lock()  # held while a child is restarted
        self._stopping_children = False

    def run_once(self) -> None:
        hung = self._hung_children()  # outside the lock: a probe may take its timeout
        with self._restarting:
            if self._stopping_children:
                return
            self.reap_orphans()
            for child in self.children:
                if child.alive and child.name in hung:
                    self._restart_hung(child)
                elif child.alive:
                    child.last_alive = datetime.now(timezone.utc)
                elif not self.room():
                    # A start would fail (PostgreSQL cannot even write its lock file), and each failure
                    # would lengthen the pause after the room is back: it starts once there is room.
                    self._next_try.pop(child.name, None)
                elif time.monotonic() >= self._next_try.get(child.name, 0):
                    code = child.process and child.process.returncode
                    log.warning("%s exited (code %s); restarting", child.name, code)
                    child.last_restart = f"{_utc_now()} exited (code {code})"
                    child.restarts += 1
                    self._next_try[child.name] = time.monotonic() + min(30, 2 ** min(child.restarts, 5))
                    child.start()

    def _hung_children(self) -> set[str]:
        now = time.monotonic()
        if now < self._next_health_check:
            return set()
        self._next_health_check = now + check_interval(self.hung_after)
        hung = set()
        for child in list(self.children):
            if child.health_check is None or not child.alive:
                continue
            watch = self._watch(child)
            if watch.failed(passes(child.health_check), time.monotonic()):
                hung.add(child.name)
        return hung

    def _watch(self, child: Child) -> HangWatch:
        watch = self._watches.get(child.name)
        if watch is None or watch.started != child.started:  # (re)started since it was last watched
            watch = self._watches[child.name] = HangWatch(self.hung_after)
            watch.restarted(child.started)
            watch.answered = child.answered
        return watch

    def _restart_hung(self, child: Child) -> None:
        saved = keep_last_lines(child.log_path, child.name)
        log.warning("%s failed its health check for %.0f s; killing and restarting it (its last log lines: %s)",
                    child.name, self.hung_after, saved)
        child.kill()
        child.last_restart = (f"{_utc_now()} hung: failed its health check for {self.hung_after:g} s"
                              + (f"; its last log lines: {saved.name}" if saved else ""))
        child.restarts += 1
        child.start()

    def status(self) -> dict[str, str]:
        return {child.name: "up" if child.alive else "down" for child in self.children}

    def restarts(self) -> dict[str, int]:
        return {child.name: child.restarts for child in self.children}

    def last_restarts(self) -> dict[str, str]:
        return {child.name: child.last_restart for child in self.children if child.last_restart}

    def reap_orphans(self) -> None:
        """Dead processes re-parented to us (the subreaper), e.g. flow runs of a dead worker whose
        forkserver exited after them: collect them, or they stay zombies. Our own children are left
        to their Popen objects."""
        known = {c.process.pid for c in self.children if c.process}
        for pid in set(direct_children(os.getpid())) - known:
            if not alive(pid):
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def stop_orphans(self) -> None:
        """Flow-run processes sit in sessions of their own; once their worker is gone they are
        orphans, re-parented to us (the subreaper): stop them and whatever they started."""
        known = {c.process.pid for c in self.children if c.process}
        for orphan in set(direct_children(os.getpid())) - known:
            for pid in [orphan, *descendants(orphan)]:
                _kill_pid(pid)
            try:
                os.waitpid(orphan, 0)  # ours as the subreaper: reap it, or it stays a zombie
            except ChildProcessError:
                pass

    def stop(self, after_worker_stopped: Optional[Callable[[], None]] = None) -> None:
        """Stop children newest first; the hook runs once the worker is gone but Prefect still answers.
        The supervisor's thread ends last: a child it restarted gets its death signal when that thread
        ends (PR_SET_PDEATHSIG follows the thread that forked it), and the Prefect server must outlive
        the hook."""
        with self._restarting:
            self._stopping_children = True
        for child in reversed(self.children):
            child.stop()
            if child.name == "worker":
                self.stop_orphans()
                if after_worker_stopped:
                    after_worker_stopped()
        super().stop()
