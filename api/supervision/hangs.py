"""Hung children: a live child that fails its health check long enough is killed and started again."""

from __future__ import annotations

import logging
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

log = logging.getLogger(__name__)

# A child starting up does not answer yet (Prefect's server migrates its database, 20-60 s): its
# failures count once it has answered, or after this long in any case.
STARTUP_GRACE_SECONDS = 90.0
# A machine that is only slow (a supervisor round late, a probe timed out once) is not a hang: the
# child must also have failed this many checks in a row.
FAILED_CHECKS_FOR_HUNG = 3
LAST_LINES = 50
KEPT_FILES = 3
# A probe of the Prefect server costs it ~14 ms of CPU: a few checks per hung limit are enough.
LONGEST_CHECK_INTERVAL = 5.0


def check_interval(hung_after: float) -> float:
    return min(LONGEST_CHECK_INTERVAL, max(1.0, hung_after / 5))


def passes(health_check: Callable[[], bool]) -> bool:
    """A check that raises has failed: it is the child's answer that is judged, not the probe's code."""
    try:
        return bool(health_check())
    except Exception as error:  # noqa: BLE001 (any probe error means the child did not answer)
        log.debug("health check raised %r", error)
        return False


@dataclass
class HangWatch:
    """One child's health since its last start; `failed` says when it has been hung long enough."""

    hung_after: float
    startup_grace: float = STARTUP_GRACE_SECONDS
    started: float = 0.0
    answered: bool = False
    failing_since: Optional[float] = None
    failed_checks: int = 0

    def restarted(self, now: float) -> None:
        self.started, self.answered, self.failing_since, self.failed_checks = now, False, None, 0

    def failed(self, healthy: bool, now: float) -> bool:
        if healthy:
            self.answered, self.failing_since, self.failed_checks = True, None, 0
            return False
        if not self.answered and now - self.started < max(self.startup_grace, self.hung_after):
            return False
        if self.failing_since is None:
            self.failing_since = now
        self.failed_checks += 1
        return self.failed_checks >= FAILED_CHECKS_FOR_HUNG and now - self.failing_since >= self.hung_after


def keep_last_lines(log_path: Path, name: str, lines: int = LAST_LINES, kept: int = KEPT_FILES) -> Optional[Path]:
    """The child's last log lines before it was killed, beside its log as <name>.hung-<UTC time>.log;
    only the newest `kept` such files stay."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    saved = log_path.parent / f"{name}.hung-{stamp}.log"
    try:  # a full disk must not keep the child from its restart
        with open(log_path, "rb") as log_file:
            log_file.seek(max(0, log_path.stat().st_size - 256 * 1024))  # the tail only: a log may be large
            tail = deque(log_file, maxlen=lines)
        saved.write_bytes(b"".join(tail))
        for old in sorted(log_path.parent.glob(f"{name}.hung-*.log"))[:-kept]:
            old.unlink(missing_ok=True)
    except OSError as error:
        log.warning("could not keep the last log lines of %s: %s", name, error)
        return None
    return saved


def heartbeat_check(path: Path, fresh_seconds: float, started: Callable[[], float]) -> Callable[[], bool]:
    """A child that touches `path` on every round of its loop is healthy while the touch is recent
    and newer than its last start (a file left by its previous life says nothing)."""

    def beating() -> bool:
        try:
            beat = path.stat().st_mtime
        except OSError:
            return False
        # A file's time comes from the kernel's coarse clock, a few milliseconds behind time.time().
        return beat >= started() - 0.05 and time.time() - beat <= fresh_seconds

    return beating


def command_check(argv: list[str], timeout: float) -> Callable[[], bool]:
    """Healthy when the command exits 0 within `timeout` (pg_isready, say)."""

    def succeeds() -> bool:
        try:
            return subprocess.run(argv, capture_output=True, timeout=timeout).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    return succeeds
