"""The forkserver's entry: the last module of its preload, run once before it forks any flow run."""

from __future__ import annotations

from devices.selectors import load_every_app
from flows.settings import WorkerSettings
from worker import forked_run, prefect_compat  # noqa: F401  (forked_run: what every fork runs)

# A forkserver runs nothing but its preload's imports: this is its one start-up step. The patches
# (shared TLS context, no suspension observer, no heartbeat thread) are then inherited by every fork.
prefect_compat.install()

# The apps' selector files with the operator's (<data-dir>/selectors), read once here and inherited by
# every fork instead of parsed again by each run; the worker refused to start on a wrong one before this.
load_every_app(WorkerSettings().selectors_dir)
