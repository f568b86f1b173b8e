"""Start-up steps every kind of PC takes: its data directory, free ports, adb server and phones, its worker."""

from __future__ import annotations

import fcntl
import os
import socket
import stat
import time
from pathlib import Path

from api.gateways.adb import AdbGateway
from api.gateways.prefect import Orchestrator
from api.settings import Settings, is_loopback
from api.supervision import orphans
from api.supervision.children import Child, Supervisor, become_subreaper
from api.supervision.ports import why_taken
from api.supervision.postgres import PostgresCluster, PostgresMissing
from api.supervision.tls import tls_on
from api.supervision.processes import StartupFailed, adb_server_child, postgres_child, simulator_child, worker_child
from devices.errors import DeviceError
from simulator.samples import write_sample_materials
from worker.prefect_compat import share_tls_contexts


def wait_until(predicate, timeout: float, what: str, log_path: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    tail = ""
    if log_path and log_path.exists():
        tail = "\n" + log_path.read_text(errors="replace")[-2000:]
    raise StartupFailed(f"{what} did not come up within {timeout:.0f} s{tail}")


PRIVATE_UMASK = 0o077


def hold_data_dir(data_dir: Path):
    """One service per data directory: a second one would share its index and Prefect database.
    The directory is the service's alone (0700): its index, logs and Prefect database. The umask
    comes first: every file the service and its children make is then its user's alone (0600/0700),
    whatever a later chmod forgets; files an earlier life or a copy left open are closed too."""
    os.umask(PRIVATE_UMASK)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    lock = open(data_dir / "service.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise StartupFailed(f"another service is running on the data directory {data_dir.resolve()}") from None
    close_to_others(data_dir)
    return lock  # the lock lives as long as this open file; the kernel drops it if we are killed


def close_to_others(data_dir: Path) -> None:
    """Takes group and other permissions off every file and folder in the data directory but
    PostgreSQL's cluster, which its own user keeps as PostgreSQL wants it (postgres.py)."""
    for folder, subfolders, files in os.walk(data_dir):
        if Path(folder) == data_dir and "postgres" in subfolders:
            subfolders.remove("postgres")
        for name in [*subfolders, *files]:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and mode & 0o077:
                os.chmod(path, stat.S_IMODE(mode) & 0o700)


def prepare_pc(settings: Settings):
    """What every PC's launcher does first: hold its data directory, make its log folder, adopt
    orphans of its children, share one TLS context. Returns (the data directory's lock, logs)."""
    lock = hold_data_dir(settings.data_dir)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    become_subreaper()
    share_tls_contexts()
    return lock, logs


def check_ports(settings: Settings, adb: AdbGateway) -> None:
    """Every port this service will listen on is free, before anything starts: one line says which is not."""
    wanted = [("the API", settings.host, settings.port)] if settings.role == "all" else []
    if settings.starts_prefect_server:
        wanted.append(("the Prefect server", "127.0.0.1" if tls_on(settings) else settings.prefect_host,
                       settings.prefect_port))
    if tls_on(settings):
        wanted.append(("the Prefect server's TLS", settings.prefect_host, settings.prefect_tls_port))
    if is_loopback(settings.adb_host) and not adb.alive():
        wanted.append(("the adb server", settings.adb_host, settings.adb_port))
    wanted += [(f"simulated phone {n + 1}", "127.0.0.1", settings.simulator_first_port + n) for n in range(settings.simulate)]
    for what, host, port in wanted:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise StartupFailed(f"port {port} on {host} (for {what}) is not free: {error.strerror}{why_taken(port)}") from None


def start_phones(settings: Settings, logs: Path, children: list[Child]) -> None:
    adb = AdbGateway(settings.adb_host, settings.adb_port)
    if not adb.alive():
        adb_child = adb_server_child(settings, logs)
        children.append(adb_child)
        adb_child.start()
        wait_until(adb.alive, 15, "adb server", logs / "adb-server.log")
        adb_child.answered = True
    if settings.simulate:
        write_sample_materials(settings.material_library)
        simulator = simulator_child(settings, logs)
        children.append(simulator)
        simulator.start()


def wait_for_simulated_phones(settings: Settings, logs: Path) -> None:
    """With --simulate N the PC is ready once adb sees its N phones: a service that answers
    /health lists them (the simulator is a process of its own and adopts them a few seconds in)."""
    if not settings.simulate:
        return
    adb = AdbGateway(settings.adb_host, settings.adb_port)

    def attached() -> bool:
        try:
            return sum(1 for phone in adb.phones(with_models=False) if phone.state == "device") >= settings.simulate
        except DeviceError:
            return False

    wait_until(attached, 60, f"{settings.simulate} simulated phone(s)", logs / "simulator.log")


def start_worker(settings: Settings, logs: Path, supervisor: Supervisor, orchestrator: Orchestrator,
                 local_serials) -> None:
    worker = worker_child(settings, logs)

    def before_worker_starts() -> None:
        # This PC's worker is not running, so none of its runs can be alive any more.
        message = orphans.WORKER_DIED if worker.restarts else orphans.SERVICE_STOPPED
        supervisor.stop_orphans()
        orphans.settle_quietly(orchestrator, message, local_serials(), worker.last_alive)

    worker.before_start = before_worker_starts
    supervisor.children.append(worker)
    worker.start()


def start_postgres(settings: Settings, logs: Path, children: list[Child]) -> PostgresCluster:
    """PostgreSQL for the Prefect server started here: the cluster is made on first start."""
    try:
        postgres, cluster = postgres_child(settings, logs)
    except PostgresMissing as error:
        raise StartupFailed(str(error)) from None
    cluster.initialize()
    children.append(postgres)
    postgres.start()
    wait_until(cluster.ready, 60, "PostgreSQL", logs / "postgres.log")
    postgres.answered = True
    cluster.ensure_database()
    return cluster
