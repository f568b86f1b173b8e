"""The chaos run's seeded faults: SIGKILL or SIGSTOP of a child, the API or a worker PC restarted, phones unplugged, a full disk, client bursts."""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time

import requests

from api.supervision.procfs import alive, argv_of, descendants, parent_of
from chaos.farm import ChaosFarm
from tests.harness import fill_disk
from chaos.workload import Ledger


def role(pid: int) -> str | None:
    argv = b" ".join(argv_of(pid)).decode(errors="replace")
    parent = b" ".join(argv_of(parent_of(pid) or 0)).decode(errors="replace")
    if "server start" in argv:
        return "prefect-server"
    if "worker.fast_worker" in argv:
        return "worker"
    if "nodaemon server" in argv:
        return "adb-server"
    if "forkserver" in argv:
        return "flow-run" if "forkserver" in parent else "forkserver"
    if argv.endswith("postgres") or "/postgres -D" in argv:
        return "postgresql"
    return None


def children_by_role(farm: ChaosFarm) -> dict[str, list[int]]:
    """Every PC's supervised children by role; a worker PC's roles carry its name ("pc-b worker")."""
    found: dict[str, list[int]] = {}
    for prefix, service in [("", farm.service), *((pc.name + " ", pc) for pc in farm.workers)]:
        if service.process is None or service.process.poll() is not None:
            continue  # a worker PC being restarted
        for pid in descendants(service.process.pid):
            kind = role(pid)
            if kind:
                found.setdefault(prefix + kind, []).append(pid)
    return found


class Injector:
    """One fault at a time, each chosen and timed by the seed; every fault is noted with its moment."""

    KINDS = ("kill", "kill", "freeze", "freeze", "unplug", "simulator", "disk-full", "burst", "idle-sockets", "restart-api")

    def __init__(self, farm: ChaosFarm, seed: int, ledger: Ledger):
        self.farm, self.ledger = farm, ledger
        self.rng = random.Random(f"faults-{seed}")
        self.faults: list[tuple[float, str]] = []
        self.api_down: list[tuple[float, float]] = []  # from the launcher's SIGKILL to its answering again

    def _note(self, what: str) -> None:
        self.faults.append((time.monotonic(), what))
        self.ledger.note("fault: " + what)

    def _signal_child(self, kind: str) -> None:
        children = children_by_role(self.farm)
        if not children:
            return
        if kind == "freeze":  # the launcher itself (API, supervisor) is frozen too; killed, it is restart-api
            children["api"] = [self.farm.service.process.pid]
        name = self.rng.choice(sorted(children))
        pid = self.rng.choice(children[name])
        if kind == "kill":
            self._note(f"SIGKILL {name} {pid}")
            _send(pid, signal.SIGKILL)
            return
        seconds = self.rng.uniform(2, 14)  # past the hung limit (10 s) now and then
        self._note(f"SIGSTOP {name} {pid} for {seconds:.1f} s")
        _send(pid, signal.SIGSTOP)
        time.sleep(seconds)
        _send(pid, signal.SIGCONT)

    def _unplug(self) -> None:
        phones = self.farm.every_phone()
        serial = self.rng.choice(sorted(phones))
        seconds = self.rng.uniform(1, 8)
        self._note(f"unplug {serial} for {seconds:.1f} s")
        phones[serial].unplug(seconds)

    def _simulator_down(self) -> None:
        """The simulator's process gone and back, as the phones see it: every phone of one PC unplugged
        at once (the phones live in the chaos process, which must keep their logs)."""
        name, phones = self.rng.choice(self.farm.phone_farms())
        seconds = self.rng.uniform(1, 8)
        self._note(f"simulator down on {name}: its {len(phones.serials)} phones unplugged at once for {seconds:.1f} s")
        for phone in phones.phones.values():
            phone.unplug(seconds)
        time.sleep(seconds)

    def _disk_full(self) -> None:
        """The API PC's data directory (its own disk) full for a while, then the room given back."""
        seconds = self.rng.uniform(3, 20)
        self._note(f"disk full under the API PC's data directory for {seconds:.1f} s")
        filler = fill_disk(self.farm.data_dir)
        try:
            time.sleep(seconds)
        finally:
            filler.unlink()

    def _restart_pc(self) -> None:
        """A worker PC's power cut: every process of it SIGKILLed at once, started again a few seconds later."""
        pc = self.rng.choice(self.farm.workers)
        seconds = self.rng.uniform(2, 10)
        self._note(f"worker PC {pc.name} killed, started again {seconds:.1f} s later")
        pc.kill()
        time.sleep(seconds)
        pc.launch()
        try:
            pc.wait_ready(180)
        except RuntimeError as error:
            self._note(f"worker PC {pc.name} not back within 180 s: {str(error)[:300]}")

    def _burst(self) -> None:
        self._note("burst of 50 clients")
        base = self.farm.service.base

        def client() -> None:
            try:
                requests.get(f"{base}/task?page_size=100", timeout=30)
                requests.get(f"{base}/task/stats", timeout=30)
            except requests.RequestException:
                pass
        threads = [threading.Thread(target=client) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _idle_sockets(self) -> None:
        self._note("1,000 idle client sockets for 10 s")
        held = []
        try:
            for _ in range(1000):
                held.append(socket.create_connection(("127.0.0.1", self.farm.service.port), timeout=2))
        except OSError:
            pass
        time.sleep(10)
        for sock in held:
            sock.close()

    def _restart_api(self) -> None:
        self._note("SIGKILL the API's launcher, then start it again on its data directory")
        service = self.farm.service
        down = time.monotonic()
        service.process.kill()
        service.process.wait()
        service.start(timeout=180)
        self.api_down.append((down, time.monotonic()))

    def run(self, until: float, gap: tuple[float, float]) -> None:
        actions = {"kill": lambda: self._signal_child("kill"), "freeze": lambda: self._signal_child("freeze"),
                   "unplug": self._unplug, "burst": self._burst, "idle-sockets": self._idle_sockets,
                   "restart-api": self._restart_api, "simulator": self._simulator_down, "disk-full": self._disk_full,
                   "restart-pc": self._restart_pc}
        kinds = self.KINDS + (("restart-pc",) if self.farm.workers else ())
        while True:
            time.sleep(self.rng.uniform(*gap))
            if time.monotonic() >= until:
                return
            actions[self.rng.choice(kinds)]()


def _send(pid: int, sig: int) -> None:
    if alive(pid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
