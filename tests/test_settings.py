"""The settings object: defaults from the contract, command line over environment, clear refusals."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.__main__ import parse_args
from api.settings import Settings


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
