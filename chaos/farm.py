"""The chaos run's farm: the real service, simulated phones in this process (the ground truth), a callback receiver."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from adbutils import AdbClient

from api.supervision.procfs import processes_marked
from simulator.farm import SimulatedFarm
from simulator.phone import SimulatedPhone
from tests.harness import free_port, until
from tests.receivers import CallbackReceiver
from tests.service import Service, WorkerPc

CALLBACK_SECRET = "chaos-callback-secret-0123456789"
HUNG_AFTER_SECONDS = "10"
PC_SILENCE_SECONDS = "60"


@dataclass
class ChaosFarm:
    service: Service  # the API's PC, with phones of its own
    phones: SimulatedFarm
    receiver: CallbackReceiver
    data_dir: Path
    workers: list[WorkerPc] = field(default_factory=list)  # worker PCs (--pcs), each with its adb server and phones

    def phone_farms(self) -> list[tuple[str, SimulatedFarm]]:
        """Each PC's name and its phones."""
        return [("pc-a", self.phones), *((pc.name, pc.farm) for pc in self.workers)]

    def every_phone(self) -> dict[str, SimulatedPhone]:
        return {serial: phone for _, farm in self.phone_farms() for serial, phone in farm.phones.items()}

    def marker(self, data_dir: Path | None = None) -> str:
        return f"PHONEFARM_INSTANCE={(data_dir or self.data_dir).resolve()}"


def start_farm(root: Path, phones: int, database: str, prefect_template=None, pcs: int = 0) -> ChaosFarm:
    """The service starts and supervises its own adb server (no server answers on its port yet);
    the phones attach to it and reattach whenever it comes back. With `pcs`, as many worker PCs,
    `phones` phones each, work for the API PC's Prefect server."""
    receiver = CallbackReceiver(root, CALLBACK_SECRET)
    adb_port = free_port()
    service = Service(root / "farm", adb_port, plan="Business", extra_args=["--database", database, "--pc-name", "pc-a"],
                      env={"PHONEFARM_CALLBACK_URLS": f'["{receiver.url.removesuffix("hooks")}"]',
                           "PHONEFARM_CALLBACK_SECRET": CALLBACK_SECRET, "PHONEFARM_WORKER_LIMIT": str(phones),
                           "PHONEFARM_HUNG_AFTER_SECONDS": HUNG_AFTER_SECONDS,
                           "PHONEFARM_PC_SILENCE_SECONDS": PC_SILENCE_SECONDS},
                      prefect_template=prefect_template)
    service.start(timeout=180)
    farm = SimulatedFarm(AdbClient("127.0.0.1", adb_port), phones, auto_reconnect=True)
    chaos = ChaosFarm(service, farm, receiver, root / "farm")
    for number in range(pcs):
        name = f"pc-{chr(ord('b') + number)}"
        pc = WorkerPc(name, root / name, service, phones)
        pc.extra_env.update({"PHONEFARM_WORKER_LIMIT": str(phones), "PHONEFARM_HUNG_AFTER_SECONDS": HUNG_AFTER_SECONDS})
        chaos.workers.append(pc)
        pc.launch()
    for pc in chaos.workers:
        pc.wait_ready(180)
    until(lambda: online(service) >= set(chaos.every_phone()), 60, "every simulated phone listed", interval=0.5)
    return chaos


def online(service: Service) -> set[str]:
    return {device["serial"] for device in service.ok("GET", "/device")["devices"] if device["state"] == "device"}


def stop_farm(farm: ChaosFarm) -> list[str]:
    """SIGTERM every PC's service, then what each left behind: the processes still carrying its marker."""
    problems = []
    for name, service in [*((pc.name, pc) for pc in farm.workers), ("the API PC", farm.service)]:
        try:
            service.stop(timeout=60)
        except AssertionError as error:
            problems.append(f"{name}: the service did not stop on SIGTERM: {str(error)[:300]}")
    time.sleep(1)
    for name, data_dir in [("the API PC", farm.data_dir), *((pc.name, pc.data_dir) for pc in farm.workers)]:
        left = processes_marked(farm.marker(data_dir))
        if left:
            problems.append(f"{name}: processes left after SIGTERM: {left}")
    for pc in farm.workers:
        pc.close()  # stopped above: its phones and adb server
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
