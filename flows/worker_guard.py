"""A flow-run process ends itself when its worker is gone, so no orphan keeps driving a phone."""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

_CHECK_SECONDS = 0.5


def die_with_worker(parent: Optional[int] = None) -> None:
    """When the worker dies this process is re-parented (to the launcher or init): stop at once.
    The run is then settled by whoever restarts the worker; a phone is never driven by two tasks.
    The parent is the stock worker, or worker.fast_worker's forkserver (whose runs also watch the
    worker itself: die_when_closed). `parent`: the pid the parent must have; if it is already
    gone, this process stops at once."""
    worker = os.getppid() if parent is None else parent

    def watch() -> None:
        while os.getppid() == worker:
            threading.Event().wait(_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="worker-guard", daemon=True).start()


def die_when_closed(worker_pipe: Connection) -> None:
    """Stop at once when the worker's end of `worker_pipe` closes. worker.fast_worker hands its runs the
    read end of a pipe only the worker writes to: however the worker dies, its runs see it at once."""

    def watch() -> None:
        try:
            while True:
                worker_pipe.recv_bytes()
        except (EOFError, OSError):
            pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="worker-pipe-guard", daemon=True).start()
