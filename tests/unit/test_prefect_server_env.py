"""The Prefect server's tuning reaches Prefect's own settings under the names Prefect reads (pinned: a rename fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.settings import Settings as PrefectSettings

from api.settings import Settings
from api.supervision.processes import TASK_RUN_RECORDER_BATCH, TASK_RUN_RECORDER_FLUSH_SECONDS, prefect_server_child


def test_the_task_run_recorder_writes_in_batches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    env = prefect_server_child(Settings(data_dir=tmp_path), tmp_path / "logs").env
    for name, value in env.items():
        if name.startswith("PREFECT_"):
            monkeypatch.setenv(name, value)
    recorder = PrefectSettings().server.services.task_run_recorder
    assert (recorder.batch_size, recorder.flush_interval) == (TASK_RUN_RECORDER_BATCH, TASK_RUN_RECORDER_FLUSH_SECONDS)
    assert recorder.batch_size > 1  # Prefect's default (1) is one transaction a task-run state
