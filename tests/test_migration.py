"""A PC moved from SQLite to PostgreSQL by `--migrate-to-postgresql`: its tasks and their runs, whole."""

from __future__ import annotations

import pytest

from tests.service import task_rows

# PostgreSQL's step (./run tests --postgresql): the suite keeps to its 5 minutes.
pytestmark = pytest.mark.postgresql


def test_the_api_pc_moved_from_sqlite_with_every_task_id_and_run(moved_pc):
    """`--migrate-to-postgresql` copied Prefect's database row by row: the index's tasks still
    point at their runs, which Prefect on PostgreSQL has, and the pending one still waits."""
    api = moved_pc.api
    moved = {row[0] for row in moved_pc.before_migration}
    assert [row for row in task_rows(api) if row[0] in moved] == moved_pc.before_migration
    for _task_id, _, status, _, flow_run_id, _ in moved_pc.before_migration:
        run = api.prefect_get(f"/flow_runs/{flow_run_id}")
        assert run["id"] == flow_run_id and run["state_type"] == {0: "SCHEDULED", 2: "COMPLETED"}.get(status, run["state_type"])
    # Counted whole in PostgreSQL, the SQLite file (Secret blocks and the key that opens them) is gone.
    assert not list((api.data_dir / "prefect").glob("prefect.db*"))
    assert (api.data_dir / "prefect" / "database").read_text() == "postgresql"
