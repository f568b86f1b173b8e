"""The chaos run's seeded faults: SIGKILL or SIGSTOP of a child, the API restarted, a phone unplugged, client bursts, idle sockets."""

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
    found: dict[str, list[int]] = {}
    for pid in descendants(farm.service.process.pid):
        kind = role(pid)
        if kind:
            found.setdefault(kind, []).append(pid)
    return found


class Injector:
    """One fault at a time, each chosen and timed by the seed; every fault is noted with its moment."""

    KINDS = ("kill", "kill", "freeze", "freeze", "unplug", "burst", "idle-sockets", "restart-api")

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
        serial = self.rng.choice(self.farm.phones.serials)
        seconds = self.rng.uniform(1, 8)
        self._note(f"unplug {serial} for {seconds:.1f} s")
        self.farm.phones.phones[serial].unplug(seconds)

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
                   "restart-api": self._restart_api}
        while True:
            time.sleep(self.rng.uniform(*gap))
            if time.monotonic() >= until:
                return
            actions[self.rng.choice(self.KINDS)]()


def _send(pid: int, sig: int) -> None:
    if alive(pid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
