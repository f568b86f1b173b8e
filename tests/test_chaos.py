"""A one-minute chaos run with a fixed seed: the faults land, tasks run, and the checker finds no broken promise."""

from __future__ import annotations

from chaos.run import chaos_run, summary

SEED = 7


def test_a_minute_of_faults_breaks_no_promise(tmp_path, prefect_database):
    # A minute fills little: a 256 MB disk is filled (the disk-full fault) in a fraction of 2 GB's time.
    # Its data directory (logs, index, Prefect's database) is kept under tmp_path: a violation can be read.
    report = chaos_run(1, SEED, "sqlite", 4, tmp_path, settle_seconds=120, prefect_template=prefect_database,
                       disk_mb=256, keep_data=tmp_path / "kept")
    assert report["faults"] and report["phone_runs"] and report["tasks_created"], summary(report)
    # The action-level and Prefect checks had something to judge.
    assert report["phone_actions"] and report["prefect_states_read"], summary(report)
    assert report["violations"] == [], summary(report)
