"""One process drives a phone at a time: a lock file per phone, held for as long as a run drives it.

Prefect's work-pool scheduler (3.9) counts only PENDING and RUNNING runs against a queue's limit, so
while a stopped run is being killed (CANCELLING) its phone's slot looks free and the next run may
start. The kernel drops the lock only when the process holding it is gone, so the next run waits."""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional


LOCKS_FOLDER = "phone-locks"  # under the data directory of the PC the phone is on


def lock_path(locks_dir: Path, serial: str) -> Path:
    # Serials hold ':' and '.', and could hold anything else: name the file by a digest.
    return Path(locks_dir) / f"{hashlib.sha256(serial.encode()).hexdigest()[:32]}.lock"


def _open_lock(locks_dir: Path, serial: str) -> int:
    path = lock_path(locks_dir, serial)
    # Private whatever the process's umask (a process that is not the launcher's may make it first).
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _took_at_once(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


@contextmanager
def holding_phone(locks_dir: Path, serial: str, *, on_wait: Optional[Callable[[], None]] = None) -> Iterator[None]:
    """Hold the phone's lock, waiting for whoever holds it; `on_wait` is called once if we must wait."""
    descriptor = _open_lock(locks_dir, serial)
    try:
        if not _took_at_once(descriptor):
            if on_wait:
                on_wait()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing drops the lock; so does the process dying


@contextmanager
def trying_phone(locks_dir: Path, serial: str) -> Iterator[bool]:
    """Hold the phone's lock if nobody does, without waiting: yields whether it is held."""
    descriptor = _open_lock(locks_dir, serial)
    try:
        yield _took_at_once(descriptor)
    finally:
        os.close(descriptor)
