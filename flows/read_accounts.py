"""The flow that reads which accounts are logged in on a phone, in the phone's own queue and lock."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.states import Failed

from devices.accounts import read_accounts as read_accounts_on_phone
from devices.adb import AdbServer
from devices.errors import DeviceError
from devices.phone_lock import holding_phone
from contract.names import ACCOUNTS_FLOW_NAME, accounts_artifact_rows
from flows.settings import WorkerSettings
from flows.worker_guard import die_with_worker


@flow(name=ACCOUNTS_FLOW_NAME, retries=0, persist_result=False)
def read_accounts(serial: str):
    """Leaves a table artifact (platform, username) on its run; the API records it in its index."""
    die_with_worker()
    settings = WorkerSettings()
    with holding_phone(settings.phone_locks_dir, serial):
        try:
            found = read_accounts_on_phone(AdbServer(settings.adb_host, settings.adb_port), serial,
                                           (settings.selectors_dir,))
        except DeviceError as error:
            return Failed(message=error.remark)
    create_table_artifact(table=accounts_artifact_rows(found), description=f"Accounts logged in on phone {serial}")
    get_run_logger().info("phone %s: %d account(s) logged in", serial, len(found))
    return len(found)
