"""One migrated Prefect database per test session, copied into each service's data directory before it starts.

Prefect migrates a fresh SQLite database on its first start: about 15 CPU-s here, for each of the
suite's services. The real `prefect server database upgrade` does it once, while the device tests
run; every service then starts on a copy, as a restarted farm does (test_startup.py and the
service of ./run service still cover a first start from nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

DATABASE = "prefect.db"
DONE, FAILED = "migrated", "failed"


def start(folder: Path) -> subprocess.Popen:
    """Migrate `folder`/prefect.db in the background; DONE or FAILED appears in `folder` when it ended."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONEFARM_"))}
    env.update(PREFECT_HOME=str(folder / "home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{folder / DATABASE}")
    out = open(folder / "upgrade.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
                               env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out.close()

    def mark_when_done() -> None:
        (folder / (DONE if process.wait() == 0 else FAILED)).touch()

    threading.Thread(target=mark_when_done, daemon=True, name="prefect-template").start()
    return process


@dataclass(frozen=True)
class Template:
    folder: Path

    def database(self, timeout: float = 180) -> Path:
        """The migrated database, once its migration ended; fails loudly with Prefect's output otherwise."""
        deadline = time.monotonic() + timeout
        while not (self.folder / DONE).exists():
            if (self.folder / FAILED).exists() or time.monotonic() > deadline:
                log = (self.folder / "upgrade.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the template Prefect database was not migrated:\n{log}")
            time.sleep(0.1)
        return self.folder / DATABASE


def copy_into(database: Path, data_dir: Path) -> None:
    """Where the service's Prefect server (PREFECT_HOME=<data-dir>/prefect) looks for its database."""
    home = data_dir / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    if not (home / DATABASE).exists():
        shutil.copyfile(database, home / DATABASE)
