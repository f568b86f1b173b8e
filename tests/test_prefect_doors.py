"""The Prefect server is no second, open API: it wants its auth string, answers only its UI's origin,
runs cannot override the worker's command or environment, a deployment edited on the server is not
run, and a run that reaches a phone's queue another way is checked like an API request before it
touches the phone."""

from __future__ import annotations

import uuid

import requests

from contract.names import DEPLOYMENT, WORK_POOL, device_queue
from tests.harness import until
from tests.test_ui_runs import start_from_ui


def test_prefect_wants_its_auth_string(service):
    for path, body in [("/flow_runs/filter", {}), ("/block_documents/filter", {"include_secrets": True}),
                       ("/deployments/filter", {})]:
        assert requests.post(f"{service.prefect_api}{path}", json=body, timeout=10).status_code == 401, path
    wrong = requests.post(f"{service.prefect_api}/flow_runs/filter", json={}, auth=("phonefarm", "guess"), timeout=10)
    assert wrong.status_code == 401
    assert requests.get(f"{service.prefect_api}/health", timeout=10).status_code == 200  # monitors
    with service.prefect() as prefect:  # with it, everything answers
        assert prefect.read_work_pool(WORK_POOL).name == WORK_POOL


def test_prefect_answers_only_its_own_ui_origin(service):
    def preflight(origin: str):
        return requests.options(f"{service.prefect_api}/flow_runs/filter", timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"}).headers.get("access-control-allow-origin")

    ui_origin = service.prefect_api.removesuffix("/api")
    assert preflight("https://evil.example") not in ("*", "https://evil.example")
    assert preflight(ui_origin) == ui_origin


def test_a_run_cannot_override_the_workers_command_or_environment(service, phones, tmp_path):
    with service.prefect() as prefect:
        variables = prefect.read_work_pool(WORK_POOL).base_job_template["variables"]["properties"]
    assert not {"command", "env", "working_dir"} & set(variables)
    [serial] = phones.take()
    marker = tmp_path / "pwned"
    run = start_from_ui(service, work_queue_name=device_queue(serial), parameters={
        "serial": serial, "script_name": "follow", "script_config": {"target_users": ["plain"]}},
        job_variables={"command": f"touch {marker}", "env": {"PYTHONSTARTUP": str(marker)}})
    state = wait_final(service, run.id)
    assert state == "COMPLETED" and "plain" in phones[serial].following("tiktok")
    assert not marker.exists()


def test_a_run_from_outside_is_checked_before_it_touches_the_phone(service, phones):
    [serial] = phones.take()
    run = start_from_ui(service, work_queue_name=device_queue(serial), parameters={
        "serial": serial, "script_name": "post", "script_config": {"files": ["/etc/passwd"], "material_list": ["x"]}})
    assert wait_final(service, run.id) == "FAILED"
    message = service.prefect_get(f"/flow_runs/{run.id}")["state"]["message"]
    assert "/etc/passwd is not a media file inside the material folders" in message
    assert not phones[serial].task_intervals()  # the phone never saw it


def test_a_deployment_edited_on_the_server_is_refused_before_its_pull_step_runs(service, phones, tmp_path):
    [serial] = phones.take()
    marker = tmp_path / "pwned"
    with service.prefect() as prefect:
        deployment = prefect.read_deployment_by_name(DEPLOYMENT)
    applied = deployment.pull_steps
    tampered = [{"prefect.deployments.steps.run_shell_script": {"script": f"touch {marker}"}}, *applied]
    patch_deployment(service, deployment.id, {"pull_steps": tampered})
    try:
        def next_run_state() -> dict:
            # The worker keeps a deployment it read for a few seconds: a run may still get the applied one.
            [task_id] = service.create([serial], targets=["plain"])
            run_id = service.wait_for(task_id)["flow_run_id"]
            return service.prefect_get(f"/flow_runs/{run_id}")["state"]

        state = until(next_run_state, 40, lambda state: f"runs still end {state['type']}",
                      accept=lambda state: state["type"] != "COMPLETED")
        assert state["type"] == "CRASHED"
        assert "refused: deployment phone-task's pull steps differ from prefect.yaml" in state["message"]
        assert not marker.exists()
    finally:
        patch_deployment(service, deployment.id, {"pull_steps": applied})
    [task_id] = service.create([serial], targets=["plain"])
    assert service.wait_for(task_id)["status"] == 2  # restored: the next run runs at once


def patch_deployment(service, deployment_id: uuid.UUID, changes: dict) -> None:
    user, _, password = service.prefect_auth.partition(":")

    def patched() -> requests.Response:
        return requests.patch(f"{service.prefect_api}/deployments/{deployment_id}", json=changes,
                              auth=(user, password), timeout=10)

    # A 503 is SQLite's write lock held by the running farm: tried again, as Prefect's own client does.
    answer = until(patched, 30, "the deployment's PATCH still answered 503", accept=lambda answer: answer.status_code != 503)
    assert answer.status_code == 204, answer.text


def wait_final(service, run_id: uuid.UUID, timeout: float = 60) -> str:
    return until(lambda: service.prefect_get(f"/flow_runs/{run_id}")["state_type"], timeout,
                 lambda state: f"run {run_id} still {state}", interval=0.2,
                 accept=lambda state: state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"))
