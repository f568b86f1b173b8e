"""What a worker runs: only the farm's deployments as this checkout's prefect.yaml applies them, from the locked pool."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

import yaml
from prefect.workers.process import ProcessWorker

from contract.names import ACCOUNTS_DEPLOYMENT, DEPLOYMENT

REPO_DIR = Path(__file__).resolve().parents[1]
FARM_DEPLOYMENTS = (DEPLOYMENT, ACCOUNTS_DEPLOYMENT)
# The one variable prefect.yaml names; the launcher gives `prefect deploy` this checkout's path for it.
_REPO_VARIABLE = re.compile(r"\{\{\s*\$PHONEFARM_REPO_DIR\s*\}\}")


class DeploymentRefused(Exception):
    """A run whose deployment or pool is not what the farm applied: the worker does not start it."""


def locked_job_template() -> dict:
    """The process pool's job template without the variables a run could override to run anything
    as the worker's user (`command`, `env`, `working_dir`): runs get Prefect's engine, the worker's
    environment and the deployment's own directory, whatever their job variables say."""
    template = ProcessWorker.get_default_base_job_template()
    for name, fixed in (("command", None), ("env", {}), ("working_dir", None)):
        template["variables"]["properties"].pop(name, None)
        template["job_configuration"][name] = fixed
    return template


def _resolved(value: Any, repo_dir: str) -> Any:
    if isinstance(value, str):
        return _REPO_VARIABLE.sub(repo_dir, value)
    if isinstance(value, list):
        return [_resolved(each, repo_dir) for each in value]
    if isinstance(value, dict):
        return {key: _resolved(each, repo_dir) for key, each in value.items()}
    return value


class DeploymentGuard:
    """The expected pull steps, entrypoint and job variables of each farm deployment, read from
    prefect.yaml once at the worker's start; a run's deployment, as the worker read it, must match.
    Anyone holding the Prefect auth string can edit a deployment; a pull step or an entrypoint runs
    as this PC's user in every fork, so the worker trusts this checkout, not the server."""

    def __init__(self, prefect_yaml: Path = REPO_DIR / "prefect.yaml", repo_dir: Path = REPO_DIR):
        spec = yaml.safe_load(prefect_yaml.read_text())
        root = str(repo_dir)
        pull = _resolved(spec.get("pull") or [], root)
        self.expected: dict[str, dict[str, Any]] = {}
        for deployment in spec["deployments"]:
            entrypoint = deployment["entrypoint"]
            flow_name = next(name.split("/")[0] for name in FARM_DEPLOYMENTS if name.endswith("/" + deployment["name"]))
            self.expected[f"{flow_name}/{deployment['name']}"] = {
                "pull steps": _resolved(deployment.get("pull", pull), root),
                "entrypoint": entrypoint,
                "job variables": _resolved((deployment.get("work_pool") or {}).get("job_variables") or {}, root),
                "storage block": None,
            }
        self.template = locked_job_template()

    def check_run(self, flow_name: Optional[str], deployment: Any) -> None:
        """Raises DeploymentRefused with the reason unless the run's deployment is the farm's, as applied."""
        if deployment is None:
            raise DeploymentRefused("refused: the run has no deployment; this worker runs only the farm's")
        name = f"{flow_name}/{deployment.name}"
        expected = self.expected.get(name)
        if expected is None:
            raise DeploymentRefused(f"refused: deployment {name} is not one of the farm's ({', '.join(self.expected)})")
        actual = {"pull steps": deployment.pull_steps or [], "entrypoint": deployment.entrypoint,
                  "job variables": deployment.job_variables or {}, "storage block": deployment.storage_document_id}
        for what, value in expected.items():
            if actual[what] != value:
                raise DeploymentRefused(
                    f"refused: deployment {deployment.name}'s {what} {'differ' if what.endswith('s') else 'differs'} from prefect.yaml "
                    f"(found {actual[what]!r}, expected {value!r}); apply it again with the API PC's launcher")

    def template_tampered(self, work_pool: Any) -> Optional[str]:
        """Why the pool's job template is not the locked one (a run could then choose its command), or None."""
        if work_pool is None or work_pool.base_job_template == self.template:
            return None
        return (f"refused: work pool {work_pool.name}'s base job template differs from the locked one; "
                f"no run starts until the API PC's launcher applies it again (restart the service there)")
