"""What `python -m api` checks before it starts anything."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

from tests.harness import free_port
from tests.service import REPO


def start_service(data_dir, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONEFARM_"))}
    return subprocess.run([sys.executable, "-m", "api", "--data-dir", str(data_dir), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_a_busy_port_is_named_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = start_service(tmp_path / "data", "--port", str(port), "--prefect-port", str(free_port()),
                             "--adb-port", str(free_port()))
    assert done.returncode == 1, done
    assert f"port {port} on 127.0.0.1 (for the API) is not free" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # Nothing was started: no Prefect server, no adb server wrote a log.
    assert not list((tmp_path / "data" / "logs").glob("*.log"))


def test_the_data_directory_is_the_services_alone(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    with socket.socket() as taken:  # stop it right after the data directory is taken
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        start_service(data_dir, "--port", str(taken.getsockname()[1]))
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_a_data_directory_stays_on_the_database_its_runs_are_in(tmp_path):
    """Its index points at runs in that database: on another one its tasks would all look deleted."""
    data_dir = tmp_path / "data"
    (data_dir / "prefect").mkdir(parents=True)
    (data_dir / "prefect" / "prefect.db").write_bytes(b"")  # a SQLite farm's
    done = start_service(data_dir, "--database", "postgresql", "--port", str(free_port()),
                         "--prefect-port", str(free_port()), "--adb-port", str(free_port()))
    assert done.returncode == 1, done
    assert "in its sqlite database, not postgresql" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (data_dir / "postgres").exists()
