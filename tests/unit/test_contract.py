"""The API and the flows share one contract: the parameters the API sends are the flows' signatures."""

from __future__ import annotations

import dataclasses
import inspect

from contract.names import TaskParameters, run_name, tag_value, task_tags
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
