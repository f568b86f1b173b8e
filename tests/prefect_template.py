"""One migrated Prefect database per test session, copied into each service's data directory before it starts.

Prefect migrates a fresh SQLite database on its first start: about 15 CPU-s here, for each of the
suite's services. The real `prefect server database upgrade` does it once, while the device tests
run, and Prefect's own block registration (1.5-2 CPU-s at each server's start otherwise: its memo is
keyed by the database's path) fills in the block types once too; every service then starts on a
copy, as a restarted farm does (test_startup.py and the service of ./run service still cover a
first start from nothing). Prefect's UI build is made once too (a server copies its 17 MB into its
PREFECT_UI_STATIC_DIRECTORY at its first start, 1.4 CPU-s): each service gets hard links to it (a copy
on another file system).

The migration starts only in a session that needs it, once: the first process of the session to
call Template.start() (under a file lock: pytest-xdist's controller or any of its workers) starts
it, the others find it started. It runs in a process group of its own, which writes DONE or FAILED
into the folder when it ends, so that no thread of the test process waits for it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.harness import until

REPO = Path(__file__).resolve().parent.parent

DATABASE = "prefect.db"
UI = "ui"  # the UI build, as a server of the template's Prefect version makes it under <PREFECT_HOME>/ui
STARTED, DONE, FAILED = "started", "migrated", "failed"

# "$0" is the Python interpreter, "$1" the template's folder.
_MIGRATE = ('"$0" -m prefect server database upgrade -y >"$1/upgrade.log" 2>&1'
            ' && "$0" -m tests.prefect_template >>"$1/upgrade.log" 2>&1'
            ' && touch "$1/' + DONE + '" || touch "$1/' + FAILED + '"')
# What a service started on a copy is told: the copy has every block type already.
SERVICE_ENV = {"PREFECT_API_BLOCKS_REGISTER_ON_START": "false"}

_started_here: dict[Path, subprocess.Popen] = {}


@dataclass(frozen=True)
class Template:
    folder: Path

    def start(self) -> bool:
        """Start the migration unless a process of the session did already; True if this call started it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            if (self.folder / STARTED).exists():
                return False
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONEFARM_"))}
            env.update(PREFECT_HOME=str(self.folder / "home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
                       PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{self.folder / DATABASE}")
            process = subprocess.Popen(["sh", "-c", _MIGRATE, sys.executable, str(self.folder)], env=env, cwd=REPO,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)
            _started_here[self.folder] = process
            (self.folder / STARTED).write_text(str(process.pid))
            return True

    def ended(self) -> bool:
        return (self.folder / DONE).exists() or (self.folder / FAILED).exists()

    def database(self, timeout: float = 180) -> Path:
        """The migrated database, once its migration ended (started here if no process started it);
        fails loudly with Prefect's output otherwise."""
        self.start()
        try:
            until(self.ended, timeout, "the template's migration")
        except AssertionError:
            pass
        if not (self.folder / DONE).exists():
            log_path = self.folder / "upgrade.log"
            log = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else "(no output)"
            raise RuntimeError(f"the template Prefect database was not migrated within {timeout} s:\n{log}")
        return self.folder / DATABASE

    def stop(self) -> None:
        """Kill a migration still running (the session ended first), whichever process of the session started it."""
        try:
            pid = int((self.folder / STARTED).read_text())
        except (OSError, ValueError):
            return
        if not self.ended():
            try:
                # The pid is the migration's only while its process lives: its command line names the folder.
                if str(self.folder) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                    os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        process = _started_here.pop(self.folder, None)
        if process is not None:
            process.wait()


def copy_into(database: Path, data_dir: Path) -> None:
    """Where the service's Prefect server (PREFECT_HOME=<data-dir>/prefect) looks for its database and
    its UI build (the service's PREFECT_UI_STATIC_DIRECTORY): the server finds the build current, by
    the reference file Prefect writes in it, and serves it as it is (it never writes to it)."""
    home = data_dir / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / DATABASE).exists():
        shutil.copyfile(database, home / DATABASE)
    if not (home / UI).exists():
        shutil.copytree(database.parent / UI, home / UI, copy_function=_link_or_copy)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system (the small disks of the destructive tests)
        shutil.copy2(source, target)


async def _register_block_types() -> None:
    """Prefect's own start-up registration (prefect/server/api/server.py: add_block_types), once."""
    from prefect.server.database import provide_database_interface
    from prefect.server.models.block_registration import run_block_auto_registration

    async with await provide_database_interface().session() as session:
        await run_block_auto_registration(session=session)


def _build_ui(folder: Path) -> None:
    """Prefect's own first-start copy of its UI build (prefect/server/api/server.py: create_ui_app)."""
    from prefect.server.api.server import create_ui_app
    from prefect.settings import PREFECT_UI_STATIC_DIRECTORY, temporary_settings

    with temporary_settings({PREFECT_UI_STATIC_DIRECTORY: str(folder / UI)}):
        create_ui_app(ephemeral=False)


if __name__ == "__main__":  # the migration's second step, on the database PREFECT_API_DATABASE_CONNECTION_URL names
    import asyncio

    asyncio.run(_register_block_types())
    _build_ui(Path(os.environ["PREFECT_API_DATABASE_CONNECTION_URL"].removeprefix("sqlite+aiosqlite:///")).parent)
