"""TLS between PCs, forced on over loopback: the API PC's Prefect server is reached only through TLS
signed by the farm's own CA, and a worker PC given that CA runs its phone's task through it."""

from __future__ import annotations

import ssl
import stat
import socket

import pytest
import requests

from tests.harness import free_port, start_adb_server
from tests.service import Service, WorkerPc


@pytest.fixture(scope="module")
def tls_farm(tmp_path_factory, prefect_database):
    adb = start_adb_server(tmp_path_factory.mktemp("tls-api-adb"))
    tls_port = free_port()
    api = Service(tmp_path_factory.mktemp("tls-api"), adb.server.port, prefect_template=prefect_database,
                  env={"PHONEFARM_PREFECT_TLS": "on", "PHONEFARM_PREFECT_TLS_PORT": str(tls_port)})
    worker = None
    try:
        api.start()
        worker = WorkerPc("pc-tls", tmp_path_factory.mktemp("pc-tls"), api, phones=1)
        worker.extra_env.update({"PHONEFARM_PREFECT_API_URL": f"https://127.0.0.1:{tls_port}/api",
                                 "PHONEFARM_PREFECT_CA_FILE": str(api.data_dir / "prefect" / "tls" / "ca.pem")})
        worker.start()
        yield api, worker, tls_port
    finally:
        if worker:
            worker.close()
        api.stop()
        adb.stop()


def test_a_worker_pc_runs_its_task_through_tls_signed_by_the_farms_ca(tls_farm):
    api, worker, tls_port = tls_farm
    [serial] = worker.farm.phones
    [task_id] = api.create([serial], targets=["over-tls"])
    assert api.wait_for(task_id)["status"] == 2
    assert "over-tls" in worker.farm.phones[serial].following("tiktok")
    ca = api.data_dir / "prefect" / "tls" / "ca.pem"
    for key in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((ca.parent / key).stat().st_mode) == 0o600
    # The TLS port speaks nothing else, and a client that does not trust the farm's CA is refused.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_port}/api/health", timeout=5)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{tls_port}/api/health", timeout=5)
    assert requests.get(f"https://127.0.0.1:{tls_port}/api/health", verify=str(ca), timeout=5).status_code == 200
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", tls_port)) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
