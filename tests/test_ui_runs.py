"""Runs started from the Prefect UI on the deployment show up in the API with source "ui"."""

from __future__ import annotations

from contract.names import DEPLOYMENT, device_queue
from tests.harness import until


def wait_for_ui_task(service, serial: str, timeout: float = 30) -> dict:
    tasks = until(lambda: service.ok("GET", "/task", params={"serial": serial, "source": "ui"})["tasks"], timeout,
                  "the UI run in the API", interval=0.3)
    return tasks[0]


def start_from_ui(service, **options):
    """What the UI's "Run" button does: a flow run of the deployment, in its default queue."""
    with service.prefect() as prefect:
        deployment = prefect.read_deployment_by_name(DEPLOYMENT)
        return prefect.create_flow_run_from_deployment(deployment.id, **options)


def test_ui_run_on_the_default_queue_moves_to_its_phone(service, phones):
    [serial] = phones.take()
    ui_run = start_from_ui(service, parameters={
        "serial": serial, "script_name": "follow", "script_config": {"target_users": ["fromui"]},
    })
    task = wait_for_ui_task(service, serial)
    assert task["source"] == "ui" and task["script_config"]["target_users"] == ["fromui"]
    assert service.wait_for(task["id"])["status"] == 2
    assert "fromui" in phones[serial].following("tiktok")
    with service.prefect() as prefect:
        original = prefect.read_flow_run(ui_run.id)
    assert original.state.type.value == "CANCELLED"
    assert str(task["id"]) in original.state.message
    # One UI run makes one task, not one per query that found it.
    assert service.ok("GET", "/task", params={"serial": serial})["total"] == 1


def test_ui_run_on_the_phone_queue_is_indexed_where_it_is(service, phones):
    [serial] = phones.take()
    ui_run = start_from_ui(service, work_queue_name=device_queue(serial), parameters={
        "serial": serial, "script_name": "follow", "script_config": {"target_users": ["direct"]},
    })
    task = wait_for_ui_task(service, serial)
    assert task["flow_run_id"] == str(ui_run.id)
    assert service.wait_for(task["id"])["status"] == 2


def test_ui_run_with_bad_parameters_is_refused_in_prefect(service, phones):
    [serial] = phones.take()
    ui_run = start_from_ui(service, parameters={
        "serial": serial, "script_name": "follow", "script_config": {},
    })
    with service.prefect() as prefect:
        run = until(lambda: prefect.read_flow_run(ui_run.id), 30, lambda run: f"the UI run still {run.state.type.value}",
                    interval=0.3, accept=lambda run: run.state.type.value != "SCHEDULED")
    assert run.state.type.value == "FAILED" and "target_user" in run.state.message
    assert service.ok("GET", "/task", params={"serial": serial})["total"] == 0
