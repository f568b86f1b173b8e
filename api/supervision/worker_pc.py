"""Start a PC that only has phones: its adb server, its phones (or simulated ones) and a worker serving only them."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading

from prefect.settings import PREFECT_API_SSL_CERT_FILE, temporary_settings

from api.gateways.adb import AdbGateway
from api.gateways.prefect import Orchestrator
from api.gateways.prefect_health import prefect_answers
from api.settings import Settings
from api.supervision import orphans
from api.supervision.children import Child, Supervisor, kill_leftovers
from api.supervision.processes import instance_marker
from api.supervision.steps import check_ports, prepare_pc, start_phones, start_worker, wait_for_simulated_phones, wait_until
from devices.errors import DeviceError

log = logging.getLogger("phonefarm")


def trust_farm_ca(settings: Settings):
    """An https Prefect server signed by the farm's CA (the API PC's prefect/tls/ca.pem): this
    process's Prefect client and its httpx probes trust it; its children are told in their env."""
    if settings.prefect_ca_file is None:
        return contextlib.nullcontext()
    ca = str(settings.prefect_ca_file.resolve())
    os.environ["SSL_CERT_FILE"] = ca  # httpx's clients (health probes) read it when they are made
    return temporary_settings({PREFECT_API_SSL_CERT_FILE: ca})


def run_worker_pc(settings: Settings) -> None:
    """Without API, Prefect server or deployments: those live on the API's PC."""
    with trust_farm_ca(settings):
        _run_worker_pc(settings)


def _run_worker_pc(settings: Settings) -> None:
    data_dir_lock, logs = prepare_pc(settings)
    children: list[Child] = []
    supervisor = Supervisor(children, hung_after=settings.hung_after_seconds)
    adb = AdbGateway(settings.adb_host, settings.adb_port)
    stopping = threading.Event()
    orchestrator = None

    def own_serials() -> set[str]:
        try:
            return {phone.serial for phone in adb.phones(with_models=False)}
        except DeviceError:
            return set()

    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    leftovers = kill_leftovers(instance_marker(settings))
    if leftovers:
        log.warning("stopped %d process(es) left behind by an earlier run of this worker PC", leftovers)
    try:
        check_ports(settings, adb)
        wait_until(lambda: prefect_answers(settings.prefect_url, timeout=2), 90, f"the farm's Prefect server at {settings.prefect_url}")
        orchestrator = Orchestrator(settings.prefect_url, write_concurrency=2, auth_string=settings.prefect_auth)
        start_phones(settings, logs, children)
        wait_for_simulated_phones(settings, logs)
        start_worker(settings, logs, supervisor, orchestrator, own_serials)
        supervisor.start()
        print(f"Worker PC {settings.pc_name}: phones of adb server {settings.adb_host}:{settings.adb_port}, "
              f"runs from {settings.prefect_url}", flush=True)
        print(f"Logs:      {logs.resolve()}", flush=True)
        stopping.wait()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop(after_worker_stopped=lambda: orchestrator and orphans.settle_quietly(
            orchestrator, orphans.SERVICE_STOPPED, own_serials()))
        if orchestrator:
            orchestrator.close()
        data_dir_lock.close()
        print("stopped", flush=True)

