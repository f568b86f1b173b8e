"""The forkserver's entry: the last module of its preload, run once before it forks any flow run."""

from __future__ import annotations

from worker import forked_run, prefect_compat  # noqa: F401  (forked_run: what every fork runs)

# A forkserver runs nothing but its preload's imports: this is its one start-up step. The patches
# (shared TLS context, no suspension observer, no heartbeat thread) are then inherited by every fork.
prefect_compat.install()
