"""Start the whole farm on one PC: Prefect server, pool and deployment, adb, simulator, worker, API."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import waitress

from api.app import Services, create_app
from api.children import Child, Supervisor, become_subreaper, kill_leftovers
from api.index import Index
from api.keeper import Keeper
from api.orchestrator import WORK_POOL, Orchestrator, OrchestratorUnavailable, prefect_answers
from api.phones import PhoneDirectory
from api.plans import PLANS
from api.settings import Settings
from api.tasks import TaskService
from devices.adb import AdbServer, adb_binary, server_alive
from devices.simulator.samples import write_sample_materials

log = logging.getLogger("phonefarm")
REPO_DIR = Path(__file__).resolve().parent.parent


class StartupFailed(Exception):
    pass


INSTANCE_VARIABLE = "PHONEFARM_INSTANCE"


def instance_marker(settings: Settings) -> str:
    """Every process the service starts (and theirs) carries this, so a later life can find leftovers."""
    return f"{INSTANCE_VARIABLE}={settings.data_dir.resolve()}"


def _inherited_env(settings: Settings, **extra: str) -> dict[str, str]:
    # Children inherit the launcher's environment (PATH, locale) plus what they are told here.
    name, value = instance_marker(settings).split("=", 1)
    return {**os.environ, name: value, **extra}


def prefect_env(settings: Settings) -> dict[str, str]:
    return {
        "PREFECT_API_URL": settings.prefect_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # With hundreds of queued runs, marking them Late floods SQLite with lock errors.
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        # SQLite answers "database is locked" (503) under bursts; after 5 retries (the default) the
        # worker marked 2 of a 200-task burst Crashed before they started. Retry longer instead.
        "PREFECT_CLIENT_MAX_RETRIES": "10",
        "PREFECT_HOME": str((settings.data_dir / "prefect").resolve()),
        "PREFECT_CLI_PROMPT": "false",
    }


def farm_env(settings: Settings) -> dict[str, str]:
    """What a flow-run process needs to find its phones (read by Settings there)."""
    return {
        "PHONEFARM_ADB_HOST": settings.adb_host,
        "PHONEFARM_ADB_PORT": str(settings.adb_port),
        "PHONEFARM_AUTO_RETRIES": str(settings.auto_retries),
        "PHONEFARM_AUTO_RETRY_DELAY_SECONDS": str(settings.auto_retry_delay_seconds),
        "PHONEFARM_DATA_DIR": str(settings.data_dir.resolve()),
    }


def prefect_server_child(settings: Settings, logs: Path) -> Child:
    env = _inherited_env(
        settings,
        **prefect_env(settings),
        PREFECT_UI_STATIC_DIRECTORY=str((settings.data_dir / "prefect" / "ui").resolve()),
        PREFECT_UI_API_URL=settings.prefect_url,
    )
    argv = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
            "--port", str(settings.prefect_port)]
    return Child("prefect-server", argv, env, logs / "prefect-server.log")


def adb_server_child(settings: Settings, logs: Path) -> Child:
    home = (settings.data_dir / "adb-home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = _inherited_env(settings, HOME=str(home), ADB_MDNS="0")
    argv = [adb_binary(), "-P", str(settings.adb_port), "nodaemon", "server"]
    return Child("adb-server", argv, env, logs / "adb-server.log")


def simulator_child(settings: Settings, logs: Path) -> Child:
    argv = [sys.executable, "-m", "devices.simulator", "--count", str(settings.simulate),
            "--adb-host", settings.adb_host, "--adb-port", str(settings.adb_port)]
    return Child("simulator", argv, _inherited_env(settings), logs / "simulator.log", cwd=REPO_DIR)


def worker_child(settings: Settings, logs: Path) -> Child:
    env = _inherited_env(
        settings,
        **prefect_env(settings),
        **farm_env(settings),
        PREFECT_WORKER_QUERY_SECONDS=str(settings.worker_poll_seconds),
        # A prefetched run holds its phone's slot while its process starts: keep the window short.
        PREFECT_WORKER_PREFETCH_SECONDS="1",
    )
    argv = [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL, "--type", "process",
            "--limit", str(settings.worker_limit), "--name", f"{socket.gethostname()}-worker"]
    return Child("worker", argv, env, logs / "worker.log", cwd=REPO_DIR, death_signal=signal.SIGKILL)


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


def deploy(settings: Settings, logs: Path) -> None:
    """Apply prefect.yaml: the deployment the API creates its flow runs from."""
    env = _inherited_env(settings, **prefect_env(settings), PHONEFARM_REPO_DIR=str(REPO_DIR))
    with open(logs / "deploy.log", "ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
            cwd=REPO_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=180,
        )
    if done.returncode != 0:
        raise StartupFailed(f"prefect deploy failed; see {logs / 'deploy.log'}")


WORKER_DIED = "its worker process died while it ran on the phone; retry it if it should run again"
SERVICE_STOPPED = "the service stopped while it ran on the phone; retry it if it should run again"


def settle_orphans(orchestrator: Orchestrator, message: str, serials: Optional[set[str]]) -> None:
    """Runs a gone worker left active: started ones end Crashed, the others go back to their queue."""
    try:
        crashed, requeued = orchestrator.settle_orphans(message, serials)
    except OrchestratorUnavailable:
        log.warning("could not settle interrupted runs: the Prefect server is unreachable")
        return
    if crashed or requeued:
        log.warning("%d interrupted run(s) marked crashed, %d re-queued (%s)", crashed, requeued, message)


def hold_data_dir(data_dir: Path):
    """One service per data directory: a second one would share its index and Prefect database."""
    lock = open(data_dir / "service.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise StartupFailed(f"another service is running on the data directory {data_dir.resolve()}") from None
    return lock  # the lock lives as long as this open file; the kernel drops it if we are killed


def run(settings: Settings) -> None:
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    plan = PLANS[settings.plan]
    adb = AdbServer(settings.adb_host, settings.adb_port)
    become_subreaper()
    children: list[Child] = []
    supervisor = Supervisor(children)
    keeper = None
    orchestrator = None
    local_serials = lambda: None  # noqa: E731  (replaced once the index is open)

    def stop_on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    data_dir_lock = hold_data_dir(settings.data_dir)
    leftovers = kill_leftovers(instance_marker(settings))
    if leftovers:
        log.warning("stopped %d process(es) left behind by an earlier run of the service", leftovers)
    try:
        if settings.starts_prefect_server:
            server = prefect_server_child(settings, logs)
            children.append(server)
            server.start()
        wait_until(lambda: prefect_answers(settings.prefect_url, timeout=2), 90, "Prefect server",
                   logs / "prefect-server.log" if settings.starts_prefect_server else None)
        orchestrator = Orchestrator(settings.prefect_url, write_concurrency=settings.prefect_write_concurrency)
        orchestrator.ensure_work_pool(plan.device_limit)
        deploy(settings, logs)

        if not server_alive(adb):
            adb_child = adb_server_child(settings, logs)
            children.append(adb_child)
            adb_child.start()
            wait_until(lambda: server_alive(adb), 15, "adb server", logs / "adb-server.log")
        if settings.simulate:
            write_sample_materials(settings.material_library)
            simulator = simulator_child(settings, logs)
            children.append(simulator)
            simulator.start()
        index = Index(settings.index_path)
        phones = PhoneDirectory(adb, index, orchestrator)
        # Runs on a Prefect server of our own are all this PC's; on a shared one, only its phones'.
        local_serials = (lambda: None) if settings.starts_prefect_server else phones.known_serials

        worker = worker_child(settings, logs)

        def before_worker_starts() -> None:
            # This PC's worker is not running, so none of its runs can be alive any more.
            message = WORKER_DIED if worker.restarts else SERVICE_STOPPED
            supervisor.stop_orphans()
            settle_orphans(orchestrator, message, local_serials())

        worker.before_start = before_worker_starts
        children.append(worker)
        worker.start()
        supervisor.start()

        tasks = TaskService(
            index, orchestrator, phones.known_serials,
            ui_url=settings.prefect_ui_url,
            retry_limit=settings.retry_limit,
            max_tasks_per_request=settings.max_tasks_per_request,
            material_library=settings.material_library,
            material_roots=tuple(settings.material_roots),
        )
        tasks.recover_unfinished_creations()
        keeper = Keeper(tasks, settings.ui_adoption_seconds)
        keeper.start()
        app = create_app(Services(
            tasks=tasks, phones=phones, plan=plan, artifacts_dir=settings.artifacts_dir, supervisor=supervisor,
            api_token=settings.api_token.get_secret_value() if settings.api_token else None,
            max_body_bytes=settings.max_body_bytes,
        ))
        # waitress buffers a whole body before the app sees it (1 GB by default). Up to 16 times the
        # limit the app refuses it with the envelope (40001); beyond, waitress answers 413 itself.
        http = waitress.create_server(app, host=settings.host, port=settings.port, threads=settings.api_threads,
                                      max_request_body_size=16 * settings.max_body_bytes)
        print(f"API:       {settings.api_url}/", flush=True)
        print(f"Prefect UI: {settings.prefect_ui_url}", flush=True)
        print(f"Logs:      {logs.resolve()}", flush=True)
        try:
            http.run()
        finally:
            http.close()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if keeper:
            keeper.stop()
        supervisor.stop(
            after_worker_stopped=lambda: orchestrator and settle_orphans(orchestrator, SERVICE_STOPPED, local_serials())
        )
        if orchestrator:
            orchestrator.close()
        data_dir_lock.close()
        print("stopped", flush=True)
