"""The launcher's child processes: Prefect server, adb server, phone simulator, worker; and the deploy."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Optional

import httpx
from prefect import __version__ as prefect_version

from api.domain.plans import PLANS
from api.gateways.adb import AdbGateway
from api.gateways.prefect_health import prefect_answers
from api.settings import Settings
from api.supervision.children import Child
from api.supervision.hangs import heartbeat_check
from api.supervision.postgres import PostgresCluster, find_bin_dir
from api.supervision.tls import tls_on
from devices.adb import adb_binary
from worker.heartbeat import FRESH_SECONDS as HEARTBEAT_FRESH_SECONDS
from worker.run_limit import run_limit
from contract.names import WORK_POOL
from contract.pcs import worker_name

REPO_DIR = Path(__file__).resolve().parents[2]


class StartupFailed(Exception):
    """The service cannot start; the message says what to fix."""


INSTANCE_VARIABLE = "PHONEFARM_INSTANCE"
PROBE_TIMEOUT = 2.0  # a health check's own bound: the supervisor's round waits for it
TASK_RUN_RECORDER_BATCH, TASK_RUN_RECORDER_FLUSH_SECONDS = 100, 2  # the UI's task runs are at most ~2 s late


def instance_marker(settings: Settings) -> str:
    """Every process the service starts (and theirs) carries this, so a later life can find leftovers."""
    return f"{INSTANCE_VARIABLE}={settings.data_dir.resolve()}"


def _inherited_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The machine's environment (PATH, locale, HOME) without the service's own variables, plus
    exactly what this child is told: no child gets the API token or settings it does not need."""
    name, value = instance_marker(settings).split("=", 1)
    machine = {k: v for k, v in os.environ.items() if not k.startswith(_SERVICE_PREFIXES)}
    return {**machine, name: value, **extra}


# The service's settings (the API token among them) were read once by the launcher; children are
# given what they need explicitly. Prefect's own variables pass through: they configure Prefect.
_SERVICE_PREFIXES = ("PHONEFARM_",)


def prefect_env(settings: Settings) -> dict[str, str]:
    return {
        "PREFECT_API_URL": settings.prefect_url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # With hundreds of queued runs, marking them Late floods SQLite with lock errors.
        "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
        # SQLite answers "database is locked" (503) under bursts; after 5 retries (the default) the
        # worker marked 2 of a 200-task burst Crashed before they started. Retry longer instead.
        "PREFECT_CLIENT_MAX_RETRIES": "10",
        # The server's CSRF protection is off (Prefect's default: its clients log in with the auth
        # string); every new client would still ask it for a token first, two calls a forked run.
        "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false",
        "PREFECT_HOME": str((settings.data_dir / "prefect").resolve()),
        "PREFECT_CLI_PROMPT": "false",
        **({"PREFECT_API_AUTH_STRING": settings.prefect_auth} if settings.prefect_auth else {}),
        # A worker PC trusts the farm's CA: Prefect's clients, and httpx's for anything else.
        **({"PREFECT_API_SSL_CERT_FILE": str(settings.prefect_ca_file.resolve()),
            "SSL_CERT_FILE": str(settings.prefect_ca_file.resolve())} if settings.prefect_ca_file else {}),
    }


def farm_env(settings: Settings) -> dict[str, str]:
    """What a flow-run process needs to find its phones (read by flows.settings.WorkerSettings there)."""
    return {
        "PHONEFARM_ADB_HOST": settings.adb_host,
        "PHONEFARM_ADB_PORT": str(settings.adb_port),
        "PHONEFARM_AUTO_RETRIES": str(settings.auto_retries),
        "PHONEFARM_AUTO_RETRY_DELAY_MIN_SECONDS": str(settings.auto_retry_delay_min_seconds),
        "PHONEFARM_AUTO_RETRY_DELAY_MAX_SECONDS": str(settings.auto_retry_delay_max_seconds),
        "PHONEFARM_DATA_DIR": str(settings.data_dir.resolve()),
        "PHONEFARM_COMMENT_ENDPOINTS": json.dumps(settings.comment_endpoints),
        "PHONEFARM_MATERIAL_ROOTS": json.dumps([str(root) for root in settings.material_roots]),
        "PHONEFARM_PC_SILENCE_SECONDS": str(settings.pc_silence_seconds),
        "PHONEFARM_HEALTH_INTERVAL_SECONDS": str(settings.health_interval_seconds),
        "PHONEFARM_GUARD_MIN_BATTERY_PERCENT": str(settings.guard_min_battery_percent),
        "PHONEFARM_GUARD_MAX_TEMPERATURE_C": str(settings.guard_max_temperature_c),
        "PHONEFARM_GUARD_MIN_FREE_STORAGE_MB": str(settings.guard_min_free_storage_mb),
    }


def prefect_server_child(settings: Settings, logs: Path, database_url: Optional[str] = None) -> Child:
    env = _inherited_env(
        settings,
        **prefect_env(settings),
        **({"PREFECT_API_DATABASE_CONNECTION_URL": database_url} if database_url else {}),
        PREFECT_UI_STATIC_DIRECTORY=str((settings.data_dir / "prefect" / "ui").resolve()),
        PREFECT_UI_API_URL=settings.prefect_url,
        # Only the UI's own origin may call the server from a browser (Prefect answered any origin).
        PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS=settings.prefect_ui_url,
        # A run over the task deployment's cap (Orchestrator.cap_task_runs) is tried again this soon (30 s by default).
        PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS="2",
        PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED="false",  # its clients do not ask for tokens (prefect_env)
        # By default Prefect records task-run states one event per transaction (three a run); in batches
        # of up to 100, at least every 2 s, the server spends 5-16 % less CPU a run (decision 0031).
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE=str(TASK_RUN_RECORDER_BATCH),
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL=str(TASK_RUN_RECORDER_FLUSH_SECONDS),
        **({"PREFECT_SERVER_API_AUTH_STRING": settings.prefect_auth} if settings.prefect_auth else {}),
    )
    # Behind TLS, other PCs reach it through the proxy only: the server itself stays on loopback.
    host = "127.0.0.1" if tls_on(settings) else settings.prefect_host
    # Prefect's CLI, with the server's patch (worker/prefect_compat/server.py: a full disk is not retried).
    argv = [sys.executable, "-m", "worker.prefect_compat", "server", "start", "--host", host,
            "--port", str(settings.prefect_port)]
    # Its own address (the TLS proxy in front of it is a child of its own); /health needs no auth string.
    url = f"http://127.0.0.1:{settings.prefect_port}/api"
    http = httpx.Client()  # kept: a new client builds an SSL context (~25 ms of CPU) at every check
    return Child("prefect-server", argv, env, logs / "prefect-server.log", cwd=REPO_DIR,
                 health_check=lambda: prefect_answers(url, timeout=PROBE_TIMEOUT, http=http))


def tls_proxy_child(settings: Settings, logs: Path, cert: Path, key: Path) -> Child:
    """`prefect server start` takes no certificate: TLS is this proxy's, on prefect_host:prefect_tls_port."""
    argv = [sys.executable, "-m", "api.supervision.tls", "--listen-host", settings.prefect_host,
            "--listen-port", str(settings.prefect_tls_port), "--to-port", str(settings.prefect_port),
            "--cert", str(cert.resolve()), "--key", str(key.resolve())]
    return Child("prefect-tls", argv, _inherited_env(settings), logs / "prefect-tls.log", cwd=REPO_DIR)


def postgres_child(settings: Settings, logs: Path) -> tuple[Child, PostgresCluster]:
    cluster = PostgresCluster(settings.data_dir.resolve() / "postgres", find_bin_dir(settings.postgres_bin_dir))
    return cluster.child(logs / "postgres.log", _inherited_env(settings)), cluster


def adb_server_child(settings: Settings, logs: Path) -> Child:
    home = (settings.data_dir / "adb-home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = _inherited_env(settings, HOME=str(home), ADB_MDNS="0")
    argv = [adb_binary(), "-P", str(settings.adb_port), "nodaemon", "server"]
    adb = AdbGateway(settings.adb_host, settings.adb_port)  # its server_version, with a 2 s timeout
    return Child("adb-server", argv, env, logs / "adb-server.log", health_check=adb.alive)


def simulator_child(settings: Settings, logs: Path) -> Child:
    argv = [sys.executable, "-m", "simulator", "--count", str(settings.simulate),
            "--first-port", str(settings.simulator_first_port),
            "--adb-host", settings.adb_host, "--adb-port", str(settings.adb_port),
            "--locale", settings.simulate_locale,
            "--simulate-interruptions", str(settings.simulate_interruptions),
            "--simulate-seed", str(settings.simulate_seed),
            "--simulate-app-version", settings.simulate_app_version,
            *(["--simulate-quirks"] if settings.simulate_quirks else [])]
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
    common = ["--pool", WORK_POOL, "--name", worker_name(settings.pc_name)]
    heartbeat = (settings.data_dir / "worker.heartbeat").resolve()
    if settings.worker == "fast":  # forks each run from a warm forkserver (worker/fast_worker.py)
        # It follows the pool's limit (the plan's) and this PC's phones itself; --limit only lowers them.
        cap = ["--limit", str(settings.worker_limit)] if settings.worker_limit is not None else []
        argv = [sys.executable, "-m", "worker.fast_worker", *common, *cap, "--pc", settings.pc_name,
                "--heartbeat", str(heartbeat)]
    else:  # Prefect's own: two new interpreters per run, a fixed limit (a single PC: this one's plan)
        limit = run_limit(settings.worker_limit, PLANS[settings.plan].device_limit, None)
        argv = [sys.executable, "-m", "prefect", "worker", "start", "--type", "process", *common, "--limit", str(limit)]
    worker = Child("worker", argv, env, logs / "worker.log", cwd=REPO_DIR, death_signal=signal.SIGKILL)
    if settings.worker == "fast":  # Prefect's own worker keeps no heartbeat: only its death is seen
        worker.health_check = heartbeat_check(heartbeat, HEARTBEAT_FRESH_SECONDS, lambda: worker.started_wall)
    return worker


def deployment_stamp(settings: Settings) -> str:
    """What a deployment depends on: prefect.yaml, the flows and the contract they import, the checkout's path, the server."""
    digest = hashlib.sha256()
    for path in [REPO_DIR / "prefect.yaml", *sorted((REPO_DIR / "flows").glob("*.py")), *sorted((REPO_DIR / "contract").glob("*.py"))]:
        digest.update(path.read_bytes())
    digest.update(f"{REPO_DIR}|{settings.prefect_url}|{prefect_version}".encode())
    return digest.hexdigest()


def deploy(settings: Settings, logs: Path) -> None:
    """Apply prefect.yaml: the deployments the API creates its flow runs from."""
    env = _inherited_env(settings, **prefect_env(settings), PHONEFARM_REPO_DIR=str(REPO_DIR))
    with open(logs / "deploy.log", "ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
            cwd=REPO_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=180,
        )
    if done.returncode != 0:
        raise StartupFailed(f"prefect deploy failed; see {logs / 'deploy.log'}")


