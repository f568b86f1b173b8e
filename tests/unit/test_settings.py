"""The settings object: defaults from the contract, command line over environment, clear refusals,
the API token kept out of sight, the body limit the JSON reader applies."""

from __future__ import annotations

import io
import json
import random

import pytest
from pydantic import ValidationError

from api.__main__ import parse_args
from api.domain.errors import ApiError
from api.rest.json_body import StrictJSONHandler
from api.settings import Settings
from flows.settings import WorkerSettings

TOKEN = "correct-horse-battery-staple-42"


def test_defaults(monkeypatch):
    for name in ("PREFECT_API_URL", "ANDROID_ADB_SERVER_PORT", "PHONEFARM_PORT", "PHONEFARM_PLAN"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.host, settings.port, settings.prefect_port, settings.adb_port) == ("127.0.0.1", 50809, 4200, 5037)
    assert settings.plan == "Pro" and settings.retry_limit == 3 and settings.simulate == 0
    assert settings.starts_prefect_server and settings.prefect_url == "http://127.0.0.1:4200/api"


def test_environment_and_command_line(monkeypatch):
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", "5099")
    monkeypatch.setenv("PHONEFARM_PLAN", "team")
    monkeypatch.setenv("PHONEFARM_PORT", "6000")
    settings = Settings(**parse_args(["--port", "7000", "--simulate", "3"]))
    assert settings.adb_port == 5099 and settings.plan == "Team"
    assert settings.port == 7000 and settings.simulate == 3


def test_external_prefect_server(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.lan:4200/api")
    settings = Settings()
    assert not settings.starts_prefect_server and settings.prefect_ui_url == "http://prefect.lan:4200"


@pytest.mark.parametrize("args", [["--plan", "Gold"], ["--port", "70000"], ["--simulate", "-1"]])
def test_bad_settings_are_refused(args):
    with pytest.raises(ValidationError):
        Settings(**parse_args(args))


def test_a_token_is_accepted_off_loopback_and_never_shown():
    settings = Settings(host="0.0.0.0", api_token=TOKEN)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    with pytest.raises(ValueError, match="api_token"):
        Settings(host="0.0.0.0", api_token="short")


def test_the_limit_is_a_setting(monkeypatch):
    monkeypatch.setenv("PHONEFARM_MAX_BODY_BYTES", "2048")
    handler = StrictJSONHandler(Settings().max_body_bytes)
    body = json.dumps({"x": "y" * 2000}).encode()
    assert handler.deserialize(io.BytesIO(body), "application/json", len(body)) == {"x": "y" * 2000}
    big = json.dumps({"x": "y" * 2100}).encode()
    for length in (len(big), None):  # declared, and chunked (no Content-Length)
        with pytest.raises(ApiError, match="at most 2048 bytes"):
            handler.deserialize(io.BytesIO(big), "application/json", length)


def test_the_automatic_retry_delay_is_a_range_drawn_from_each_time():
    settings = Settings()
    assert (settings.auto_retries, settings.auto_retry_delay_min_seconds, settings.auto_retry_delay_max_seconds) == (1, 5, 60)
    for bad in ({"auto_retry_delay_min_seconds": 61}, {"auto_retry_delay_max_seconds": 601},
                {"auto_retry_delay_min_seconds": -1}, {"auto_retries": 11}):
        with pytest.raises(ValidationError):
            Settings(**bad)
    with pytest.raises(ValidationError, match="PHONEFARM_AUTO_RETRY_DELAY_MIN_SECONDS"):
        WorkerSettings(auto_retry_delay_min_seconds=3, auto_retry_delay_max_seconds=2)
    rng = random.Random(7)
    worker = WorkerSettings(auto_retry_delay_min_seconds=5, auto_retry_delay_max_seconds=60)
    delays = [worker.retry_delay(rng) for _ in range(200)]
    assert all(5 <= d <= 60 for d in delays) and max(delays) - min(delays) > 40
    fixed = WorkerSettings(auto_retry_delay_min_seconds=2, auto_retry_delay_max_seconds=2)
    assert fixed.retry_delay(rng) == 2
