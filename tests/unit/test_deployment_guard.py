"""The worker's guard: a deployment runs only as prefect.yaml applies it, from the locked pool."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from worker.deployment_guard import DeploymentGuard, DeploymentRefused, REPO_DIR, locked_job_template

APPLIED = [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO_DIR)}}]


def deployment(**changes):
    values = {"name": "phone-task", "pull_steps": APPLIED, "entrypoint": "flows/run_task.py:run_task",
              "job_variables": {}, "storage_document_id": None, **changes}
    return SimpleNamespace(**values)


def test_the_applied_deployments_run():
    guard = DeploymentGuard()
    guard.check_run("run-task", deployment())
    guard.check_run("read-accounts", deployment(name="phone-accounts", entrypoint="flows/read_accounts.py:read_accounts"))


@pytest.mark.parametrize("flow, changes, reason", [
    ("run-task", {"pull_steps": [{"prefect.deployments.steps.run_shell_script": {"script": "id"}}, *APPLIED]},
     "refused: deployment phone-task's pull steps differ from prefect.yaml"),
    ("run-task", {"entrypoint": "/tmp/evil.py:flow"}, "refused: deployment phone-task's entrypoint differs"),
    ("run-task", {"job_variables": {"stream_output": False}}, "job variables differ"),
    ("run-task", {"pull_steps": []}, "pull steps differ"),
    ("other", {}, "refused: deployment other/phone-task is not one of the farm's"),
])
def test_anything_else_is_refused_with_its_reason(flow, changes, reason):
    with pytest.raises(DeploymentRefused, match=reason.replace("(", r"\(")):
        DeploymentGuard().check_run(flow, deployment(**changes))
    with pytest.raises(DeploymentRefused, match="no deployment"):
        DeploymentGuard().check_run(flow, None)


def test_a_pool_template_without_the_lock_is_refused():
    guard = DeploymentGuard()
    assert guard.template_tampered(SimpleNamespace(name="phone-farm", base_job_template=locked_job_template())) is None
    unlocked = locked_job_template()
    unlocked["job_configuration"]["command"] = "{{ command }}"
    assert "base job template differs" in guard.template_tampered(SimpleNamespace(name="phone-farm", base_job_template=unlocked))
