"""The chaos run's farm: the real service, simulated phones in this process (the ground truth), a callback receiver."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from adbutils import AdbClient

from api.supervision.procfs import processes_marked
from simulator.farm import SimulatedFarm
from tests.harness import free_port, until
from tests.receivers import CallbackReceiver
from tests.service import Service

CALLBACK_SECRET = "chaos-callback-secret-0123456789"


@dataclass
class ChaosFarm:
    service: Service
    phones: SimulatedFarm
    receiver: CallbackReceiver
    data_dir: Path

    def marker(self) -> str:
        return f"PHONEFARM_INSTANCE={self.data_dir.resolve()}"


def start_farm(root: Path, phones: int, database: str, prefect_template=None) -> ChaosFarm:
    """The service starts and supervises its own adb server (no server answers on its port yet);
    the phones attach to it and reattach whenever it comes back."""
    receiver = CallbackReceiver(root, CALLBACK_SECRET)
    adb_port = free_port()
    service = Service(root / "farm", adb_port, plan="Business", extra_args=["--database", database],
                      env={"PHONEFARM_CALLBACK_URLS": f'["{receiver.url.removesuffix("hooks")}"]',
                           "PHONEFARM_CALLBACK_SECRET": CALLBACK_SECRET, "PHONEFARM_WORKER_LIMIT": str(phones),
                           "PHONEFARM_HUNG_AFTER_SECONDS": "10", "PHONEFARM_PC_SILENCE_SECONDS": "60"},
                      prefect_template=prefect_template)
    service.start(timeout=180)
    farm = SimulatedFarm(AdbClient("127.0.0.1", adb_port), phones, auto_reconnect=True)
    until(lambda: online(service) >= set(farm.serials), 60, "every simulated phone listed", interval=0.5)
    return ChaosFarm(service, farm, receiver, root / "farm")


def online(service: Service) -> set[str]:
    return {device["serial"] for device in service.ok("GET", "/device")["devices"] if device["state"] == "device"}


def stop_farm(farm: ChaosFarm) -> list[str]:
    """SIGTERM the service, then what it left behind: the processes still carrying its marker."""
    problems = []
    try:
        farm.service.stop(timeout=60)
    except AssertionError as error:
        problems.append(f"the service did not stop on SIGTERM: {str(error)[:300]}")
    time.sleep(1)
    left = processes_marked(farm.marker())
    if left:
        problems.append(f"processes left after SIGTERM: {left}")
    farm.phones.stop()
    farm.receiver.__exit__(None, None, None)
    return problems


def integrity(data_dir: Path) -> list[str]:
    """PRAGMA integrity_check on the index and, on SQLite, Prefect's database."""
    problems = []
    for path in [data_dir / "index.db", data_dir / "prefect" / "prefect.db"]:
        if not path.exists():
            continue
        with sqlite3.connect(path) as db:
            answer = db.execute("PRAGMA integrity_check").fetchone()[0]
            if path.name == "prefect.db":
                db.execute("SELECT count(*) FROM flow_run").fetchone()
        if answer != "ok":
            problems.append(f"{path.name}: integrity_check says {answer}")
    return problems
