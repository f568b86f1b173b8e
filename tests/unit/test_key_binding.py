"""A stored ChatGPT key is bound to its endpoint, model and token budget; a run adopted from the
Prefect UI keeps a reference to its key in the index, not the key."""

from __future__ import annotations

import json

import pytest

from api.domain.secrets import SecretKeeper
from contract.secrets import KeyRefused, is_reference, sealed, unseal
from tests.unit.fakes import FakePrefect, task_service, temp_index

URL = "https://chat.test/v1"


def test_a_key_goes_only_with_the_model_and_budget_it_was_given_for():
    stored = sealed("sk-1", URL, {"model": "gpt-4o-mini", "max_tokens": 100})
    assert unseal(stored, URL, {"model": "gpt-4o-mini", "max_tokens": 100}) == "sk-1"
    assert unseal(stored, URL, {"model": "gpt-4o-mini", "max_tokens": 50}) == "sk-1"  # a smaller budget
    for other in ({"model": "gpt-4o", "max_tokens": 100}, {"model": "gpt-4o-mini", "max_tokens": 1000}):
        with pytest.raises(KeyRefused):
            unseal(stored, URL, other)
    with pytest.raises(KeyRefused):
        unseal(stored, "https://elsewhere.test/v1", {"model": "gpt-4o-mini", "max_tokens": 100})


def test_defaults_are_bound_as_the_flow_uses_them():
    stored = sealed("sk-1", URL, {})
    assert json.loads(stored)["model"] == "gpt-4o-mini" and json.loads(stored)["max_tokens"] == 60
    assert unseal(stored, URL, {}) == "sk-1"
    with pytest.raises(KeyRefused):
        unseal(stored, URL, {"max_tokens": 61})


def test_keys_stored_before_the_binding_keep_to_their_endpoint_only():
    old = json.dumps({"api_key": "sk-0", "base_url": URL})
    assert unseal(old, URL, {"model": "anything"}) == "sk-0"


def test_the_keeper_seals_the_model_and_budget():
    prefect = FakePrefect()
    hidden = SecretKeeper(prefect).hide({"chatgpt_settings": {"api_key": "sk-2", "base_url": URL, "model": "m",
                                                              "max_tokens": 20}})
    [value] = prefect.secrets.values()
    assert json.loads(value) == {"api_key": "sk-2", "base_url": URL, "model": "m", "max_tokens": 20}
    assert is_reference(hidden["chatgpt_settings"]["api_key"])


def test_a_ui_run_adopted_in_place_keeps_no_plain_key(tmp_path):
    prefect, index = FakePrefect(), temp_index(tmp_path)
    tasks = task_service(index, prefect)
    run_id = prefect.add_run("SCHEDULED", parameters={
        "serial": "s1", "script_name": "account_warmup",
        "script_config": {"generate_by_chatgpt": True, "chatgpt_settings": {"api_key": "sk-plain-ui-key"}}})
    task_id = tasks.adopt_in_place(prefect.read_run(run_id))
    stored = index.tasks.get(task_id).script_config
    assert "sk-plain-ui-key" not in json.dumps(stored)
    assert is_reference(stored["chatgpt_settings"]["api_key"])
