"""Start the whole farm on one PC: Prefect server, pool and deployments, adb, simulator, worker, API."""

from __future__ import annotations

import logging
import os
import secrets
import signal
from pathlib import Path
from typing import Optional

from pydantic import SecretStr

from api.domain.plans import PLANS
from api.gateways.adb import AdbGateway
from api.gateways.disk import DiskSpace
from api.gateways.prefect import Orchestrator
from api.gateways.prefect_pcs import OLD_AUTOMATIONS
from api.gateways.prefect_health import prefect_answers
from api.settings import Settings
from api.supervision import http_server, orphans
from api.supervision.children import Child, Supervisor, kill_leftovers
from api.supervision.processes import (
    StartupFailed, deploy, deployment_stamp, instance_marker, prefect_server_child, tls_proxy_child,
)
from api.supervision.steps import (
    check_ports, close_to_others, prepare_pc, start_phones, start_postgres, start_worker, wait_for_simulated_phones,
    wait_until,
)
from api.supervision.tls import ensure_certificates, tls_dir, tls_on
from api.supervision.wiring import Wired, wire
from api.supervision.worker_pc import run_worker_pc
from contract.names import ACCOUNTS_DEPLOYMENT, DEPLOYMENT

log = logging.getLogger("phonefarm")


def serve(app, settings: Settings):
    return http_server.create(
        app, host=settings.host, port=settings.port, threads=settings.api_threads,
        connection_limit=settings.api_connection_limit, idle_seconds=settings.api_idle_seconds,
        max_body_bytes=settings.max_body_bytes,
    )




def with_prefect_auth(settings: Settings) -> Settings:
    """The Prefect server started here requires an auth string, made once per data directory and
    kept there (0600); every client of it (worker, deploy, API, the UI's login) is given it."""
    if settings.prefect_auth or not settings.starts_prefect_server:
        return settings
    path = settings.prefect_auth_path
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(f"phonefarm:{secrets.token_urlsafe(24)}")
    return settings.model_copy(update={"prefect_auth_string": SecretStr(path.read_text().strip())})






def check_database_kind(settings: Settings) -> None:
    """A data directory keeps the database its Prefect runs were stored in: its index points at
    them, and on another database they would all look deleted."""
    home = settings.data_dir / "prefect"
    kind = "external" if settings.prefect_database_url else settings.database
    marker = home / "database"
    before = marker.read_text().strip() if marker.exists() else ("sqlite" if (home / "prefect.db").exists() else None)
    if before is not None and before != kind:
        raise StartupFailed(
            f"the Prefect runs of {settings.data_dir} are in its {before} database, not {kind}: its tasks would all "
            f"look deleted. Start it as before, or use a new data directory for {kind} (README: PostgreSQL)")
    home.mkdir(parents=True, exist_ok=True)
    marker.write_text(kind)


def start_prefect(settings: Settings, logs: Path, children: list[Child]) -> Orchestrator:
    server = None
    if settings.starts_prefect_server:
        check_database_kind(settings)
        database_url = (start_postgres(settings, logs, children).url() if settings.starts_postgres else
                        settings.prefect_database_url.get_secret_value() if settings.prefect_database_url else None)
        server = prefect_server_child(settings, logs, database_url)
        children.append(server)
        server.start()
        if tls_on(settings):
            _, cert, key = ensure_certificates(settings)
            proxy = tls_proxy_child(settings, logs, cert, key)
            children.append(proxy)
            proxy.start()
    wait_until(lambda: prefect_answers(settings.prefect_url, timeout=2), 90, "Prefect server",
               logs / "prefect-server.log" if settings.starts_prefect_server else None)
    if server is not None:
        server.answered = True
    if settings.starts_prefect_server:  # its UI build is copied with site-packages' modes (folders 0755)
        close_to_others(settings.data_dir / "prefect")
    orchestrator = Orchestrator(settings.prefect_url, write_concurrency=settings.prefect_write_concurrency,
                                auth_string=settings.prefect_auth)
    orchestrator.pool.ensure_work_pool(PLANS[settings.plan].device_limit)
    orchestrator.pcs.remove_automations(OLD_AUTOMATIONS)  # dead PCs are told by their silence now (silent_pcs.py)
    # `prefect deploy` is a new interpreter importing Prefect's CLI (~10 s here): skip it when the
    # deployments on this server were applied from these very files.
    stamp, applied = deployment_stamp(settings), settings.data_dir / "prefect" / "deployed.sha256"
    deployed = all(orchestrator.has_deployment(name) for name in (DEPLOYMENT, ACCOUNTS_DEPLOYMENT))
    if not (deployed and applied.exists() and applied.read_text() == stamp):
        deploy(settings, logs)
        applied.parent.mkdir(parents=True, exist_ok=True)
        applied.write_text(stamp)
    orchestrator.pool.cap_task_runs(PLANS[settings.plan].device_limit)
    return orchestrator






def run(settings: Settings) -> None:
    if settings.role == "worker":
        return run_worker_pc(settings)
    data_dir_lock, logs = prepare_pc(settings)
    settings = with_prefect_auth(settings)
    children: list[Child] = []
    disk = DiskSpace(settings.data_dir, settings.min_free_disk_mb)
    supervisor = Supervisor(children, hung_after=settings.hung_after_seconds, room=lambda: not disk.full())
    orchestrator: Optional[Orchestrator] = None
    wired: Optional[Wired] = None
    local_serials = lambda: None  # noqa: E731  (replaced once the phones are known)

    def stop_on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_signal)
    leftovers = kill_leftovers(instance_marker(settings))
    if leftovers:
        log.warning("stopped %d process(es) left behind by an earlier run of the service", leftovers)
    try:
        check_ports(settings, AdbGateway(settings.adb_host, settings.adb_port))
        start_phones(settings, logs, children)  # first: the simulator boots while Prefect does
        orchestrator = start_prefect(settings, logs, children)
        wired = wire(settings, supervisor=supervisor, orchestrator=orchestrator)  # one client, one health watch
        # Runs on a Prefect server of our own are all this PC's; on a shared one, only its phones'.
        local_serials = (lambda: None) if settings.starts_prefect_server else wired.phones.known_serials
        start_worker(settings, logs, supervisor, orchestrator, local_serials)
        supervisor.start()
        wired.tasks.mirror.reconcile_everything()  # the copy may predate a restart: serve what Prefect says
        wired.start_background()
        wait_for_simulated_phones(settings, logs)
        http = serve(wired.app, settings)
        print(f"API:       {settings.api_url}/", flush=True)
        print(f"Prefect UI: {settings.prefect_ui_url}", flush=True)
        if settings.starts_prefect_server:
            print(f"Prefect UI login: the text of {settings.prefect_auth_path.resolve()}", flush=True)
        if tls_on(settings):
            print(f"Worker PCs: https://<this PC>:{settings.prefect_tls_port}/api, trusting "
                  f"{(tls_dir(settings) / 'ca.pem').resolve()} (PHONEFARM_PREFECT_CA_FILE)", flush=True)
        print(f"Logs:      {logs.resolve()}", flush=True)
        first = iter([http])  # bound before the address is printed; made anew if it dies
        http_server.serve_forever(lambda: next(first, None) or serve(wired.app, settings))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if wired:
            wired.stop_background()
        supervisor.stop(
            after_worker_stopped=lambda: orchestrator and orphans.settle_quietly(
                orchestrator, orphans.SERVICE_STOPPED, local_serials())
        )
        if orchestrator:
            orchestrator.close()
        data_dir_lock.close()
        print("stopped", flush=True)
