"""GET /openapi.json describes every route, and schemathesis finds no 5xx and no answer off the schema."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from api.rest import answers
from api.rest.answers import Created, Stats, Task, answer
from api.rest.openapi import build
from tests.inprocess import routes, serve_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


@pytest.fixture(scope="module")
def own_api(service, adb, tmp_path_factory):
    """The session's Prefect and phones behind an app with an index of its own: random deletes and
    retries here cannot touch the tasks of other tests."""
    with serve_app(service, adb, tmp_path_factory.mktemp("openapi")) as served:
        yield served


def test_document_lists_exactly_the_routes_of_the_app(own_api):
    app, base = own_api
    response = requests.get(f"{base}/openapi.json", timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document == build(1024 * 1024)
    assert document["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert documented == routes(app)
    assert ("GET", "/openapi.json") in documented


def test_document_names_the_envelope_limits_and_the_idempotency_key(own_api):
    _, base = own_api
    document = requests.get(f"{base}/openapi.json", timeout=10).json()
    create = document["paths"]["/task"]["post"]
    assert [p["name"] for p in create["parameters"]] == ["Idempotency-Key"]
    assert {"200", "400", "401", "403", "404", "500", "503"} <= set(create["responses"])
    assert create["responses"]["400"]["content"]["application/json"]["schema"]["properties"]["code"]["enum"] == [40001, 40002, 40003]
    assert "1048576 bytes" in document["info"]["description"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/health"]["get"]["security"] == []
    assert "401" not in document["paths"]["/health"]["get"]["responses"]


# Built here rather than fetched: the operations are needed at collection time; the first test
# checks that the service serves this very document. Each operation is a test item of its own
# (schemathesis' own parametrize folds them into one item that runs far fewer cases under xdist).
schema = schemathesis.openapi.from_dict(build(1024 * 1024))
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_api_answers_within_its_schema(operation, own_api):
    _, base = own_api
    # Valid requests and invalid ones, as schemathesis' own defaults generate.
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def answers_within_schema(case):
        if case.path == "/account/match" and not (isinstance(case.body, dict) and case.body.get("serials") is not None):
            # Without serials it opens the apps on every attached phone: slow, and it would disturb
            # phones that other tests' tasks may still be using. An empty list reads no phone.
            case.body = {"serials": []}
        case.call_and_validate(base_url=base, checks=CHECKS, timeout=30)

    answers_within_schema()


def test_answer_schemas_are_the_models_own():
    components = build(1024 * 1024)["components"]["schemas"]
    task = Task.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    assert components["Task"] == task
    assert components["Created"]["required"] == ["task_ids", "created_count"]
    assert components["Farm"]["properties"]["stats"] == {"$ref": "#/components/schemas/Stats"}


def test_an_answer_goes_out_as_the_domain_wrote_it(monkeypatch, caplog):
    created = {"task_ids": [3, 4], "created_count": 2}
    assert answer(Created, created) == created  # no plan keys added as nulls
    stats = {"total": 1, "pending": 0, "running": 0, "completed": 1, "failed": 0}
    assert answer(Stats, stats) == stats
    # A key without its model fails in the tests (strict), rather than going out undocumented; a
    # running service sends the answer as made and logs the drift instead of failing the request.
    drifted = {**stats, "cancelled": 0}
    with pytest.raises(ValidationError):
        answer(Stats, drifted)
    monkeypatch.setattr(answers, "STRICT", False)
    with caplog.at_level("ERROR", logger="api.rest.answers"):
        assert answer(Stats, drifted) == drifted
    assert "drifted from its model Stats" in caplog.text
