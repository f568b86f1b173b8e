"""The API and the flows share one contract: the parameters the API sends are the flows' signatures."""

from __future__ import annotations

import dataclasses
import inspect

from contract.names import TaskParameters, run_name, tag_value, task_tags
from contract.script_configs import WarmupConfig, parse_config
from flows.read_accounts import read_accounts
from flows.run_task import run_task


def test_task_parameters_are_the_run_task_signature():
    signature = inspect.signature(run_task.fn)
    fields = {f.name: f.default for f in dataclasses.fields(TaskParameters)}
    assert list(fields) == list(signature.parameters)
    for name, parameter in signature.parameters.items():
        assert fields[name] == parameter.default or (
            fields[name] is dataclasses.MISSING and parameter.default is inspect.Parameter.empty), name


def test_read_accounts_takes_a_serial():
    assert list(inspect.signature(read_accounts.fn).parameters) == ["serial"]


def test_run_names_sort_as_task_ids_and_tags_read_back():
    assert sorted([run_name(10, "follow"), run_name(9, "post")]) == [run_name(9, "post"), run_name(10, "follow")]
    tags = task_tags("127.0.0.1:40001", "follow", "api")
    assert tag_value(tags, "serial") == "127.0.0.1:40001" and tag_value(tags, "source") == "api"


def test_script_configs_keep_the_spec_spellings_and_own_the_defaults():
    assert WarmupConfig.model_validate({"follow_probable": 20}).floow_probable == 20
    assert WarmupConfig.model_validate({"floow_probable": 30}).model_dump()["floow_probable"] == 30
    # What the flow gets back from Prefect's JSON parameters parses to the same model the API stored.
    stored = parse_config("post", {"files": ["/m/a.mp4"]}).model_dump()
    assert parse_config("post", stored).model_dump() == stored
    assert stored["upload_wait_time"] == 30 and stored["add_sound"] == "-1"
