"""A hung child (alive, failing its health check) is killed and started again; one starting up or on
a merely slow machine is not. The supervisor test runs a real `sleep` that it freezes with SIGSTOP."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from api.supervision.children import Child, Supervisor
from api.supervision.hangs import FAILED_CHECKS_FOR_HUNG, HangWatch, heartbeat_check, keep_last_lines
from tests.harness import until


def test_a_child_that_never_answered_is_left_alone_during_its_startup_grace():
    watch = HangWatch(hung_after=5, startup_grace=90)
    watch.restarted(1000.0)
    assert not any(watch.failed(False, 1000.0 + second) for second in range(0, 90, 2))
    # Past the grace its failures count like any other's.
    assert not watch.failed(False, 1090.0)
    assert [watch.failed(False, 1090.0 + second) for second in (2, 4, 5)] == [False, False, True]


def test_it_is_hung_after_failing_every_check_for_the_limit_and_an_answer_starts_the_count_again():
    watch = HangWatch(hung_after=5)
    watch.restarted(0.0)
    assert not watch.failed(True, 1.0)
    assert [watch.failed(False, t) for t in (2.0, 4.0)] == [False, False]
    assert not watch.failed(True, 6.0)
    assert [watch.failed(False, t) for t in (8.0, 10.0, 12.0, 13.0)] == [False, False, False, True]


def test_one_late_check_on_a_slow_machine_is_not_a_hang():
    watch = HangWatch(hung_after=5)
    watch.restarted(0.0)
    watch.failed(True, 1.0)
    # The supervisor's round came 60 s late, and the probe timed out once: not enough checks failed.
    assert not watch.failed(False, 61.0)
    assert not watch.failed(False, 100.0)
    assert watch.failed(False, 101.0) and watch.failed_checks == FAILED_CHECKS_FOR_HUNG


def test_a_heartbeat_counts_only_when_recent_and_from_the_current_life(tmp_path: Path):
    beat = tmp_path / "worker.heartbeat"
    started = time.time()
    check = heartbeat_check(beat, fresh_seconds=5, started=lambda: started)
    assert not check()  # no beat yet
    beat.touch()
    assert check()
    os.utime(beat, (started - 1, started - 1))  # left by the worker's previous life
    assert not check()
    started = time.time() - 100
    os.utime(beat, (time.time() - 60,) * 2)
    assert not check()  # a minute old


def test_only_the_last_lines_and_the_newest_files_are_kept(tmp_path: Path):
    log_path = tmp_path / "worker.log"
    log_path.write_text("".join(f"line {n}\n" for n in range(1, 201)))
    saved = [keep_last_lines(log_path, "worker", lines=50, kept=3) for _ in range(5)]
    assert all(saved)
    assert saved[-1].read_text().splitlines() == [f"line {n}" for n in range(151, 201)]
    assert sorted(tmp_path.glob("worker.hung-*.log")) == saved[-3:]


def test_a_frozen_child_is_killed_counted_and_started_again(tmp_path: Path):
    log_path = tmp_path / "logs" / "sleeper.log"
    child = Child("sleeper", ["sh", "-c", "seq 1 80; exec sleep 600"], dict(os.environ), log_path)

    def not_stopped() -> bool:  # the state letter of /proc/<pid>/stat: T while SIGSTOPped
        stat = Path(f"/proc/{child.process.pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "T"

    child.health_check = not_stopped
    supervisor = Supervisor([child], check_seconds=0.2, hung_after=1.0)
    child.start()
    child.answered = True  # as a start-up step that waited for it says: judged from the first check on
    first = child.process.pid
    until(lambda: log_path.read_text().endswith("80\n"), 15, "the child's log lines")
    os.kill(first, signal.SIGSTOP)
    supervisor.start()
    try:
        until(lambda: child.process.pid != first and child.alive, 30, "the frozen child started again")
        assert supervisor.restarts() == {"sleeper": 1} and not os.path.exists(f"/proc/{first}")
        [saved] = (tmp_path / "logs").glob("sleeper.hung-*.log")
        assert saved.read_text().splitlines()[-1] == "80"
        assert supervisor.status() == {"sleeper": "up"}
        assert f"hung: failed its health check for 1 s; its last log lines: {saved.name}" in \
            supervisor.last_restarts()["sleeper"]
    finally:
        supervisor.stop()
    assert not child.alive


def test_a_frozen_child_that_is_stopped_acts_on_its_sigterm(tmp_path: Path):
    """A SIGSTOPped process leaves SIGTERM pending: stop() wakes it, so it ends by its own handler."""
    script = "trap 'exit 7' TERM; echo ready; while :; do sleep 0.1; done"
    child = Child("trapper", ["sh", "-c", script], dict(os.environ), tmp_path / "trapper.log")
    child.start()
    until(lambda: child.log_path.read_text() == "ready\n", 15, "the child's trap set")
    os.kill(child.process.pid, signal.SIGSTOP)
    child.stop()
    assert child.process.returncode == 7
