"""docs/operations.md's settings table says what the code reads: every setting's name, environment
variables, command-line option and default, and which settings the flow runs read too.

The table is written by hand; this test fails when it and `api/settings.py` (or `flows/settings.py`,
or the options of `api/__main__.py`) disagree. It reads files and imports the settings classes
only: no process, no network."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from api.settings import Settings
from flows.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations.md"
START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
COLUMNS = ["setting", "environment", "command line", "default", "flow runs", "meaning"]


def table_rows() -> dict[str, dict[str, str]]:
    text = OPERATIONS.read_text()
    assert START in text and END in text, f"{OPERATIONS} lost its settings-table markers"
    lines = [line.strip() for line in text.split(START, 1)[1].split(END, 1)[0].splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == COLUMNS, f"the settings table's columns are {header}, expected {COLUMNS}"
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == len(COLUMNS), f"a row of the settings table has {len(cells)} cells: {line}"
        row = dict(zip(COLUMNS, cells))
        name = row["setting"].strip("`")
        assert name not in rows, f"setting {name} has two rows"
        rows[name] = row
    return rows


def ticked(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def env_names(name: str, field: FieldInfo) -> set[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return {str(choice) for choice in alias.choices}
    return {alias} if isinstance(alias, str) else {f"PHONEFARM_{name.upper()}"}


def shown(value) -> str:
    """A default as the table writes it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, Path):
        return f"`{value}`" if value.is_absolute() else f"`./{value}`"
    if isinstance(value, (list, dict)):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def command_line_options() -> dict[str, str]:
    """Field name -> option, from `python -m api`'s argument parser (read as text, not run)."""
    source = (REPO / "api" / "__main__.py").read_text()
    return {option[2:].replace("-", "_"): option for option in re.findall(r'add_argument\(\s*"(--[a-z][a-z-]*)"', source)}


def test_the_table_has_one_row_per_setting():
    assert sorted(table_rows()) == sorted(Settings.model_fields)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_a_settings_row_matches_the_code(name):
    field = Settings.model_fields[name]
    row = table_rows()[name]
    assert ticked(row["environment"]) == env_names(name, field), f"{name}: environment variables"
    if field.default_factory is not None:
        assert row["default"].startswith("*"), f"{name}: a computed default is described in italics"
    else:
        assert row["default"] == shown(field.default), f"{name}: default"
    option = command_line_options().get(name)
    assert ticked(row["command line"]) == ({option} if option else set()), f"{name}: command-line option"
    assert row["flow runs"] == ("yes" if name in WorkerSettings.model_fields else ""), f"{name}: read by flow runs"
    assert row["meaning"], f"{name}: meaning"


@pytest.mark.parametrize("name", sorted(WorkerSettings.model_fields))
def test_a_flow_runs_setting_is_the_services_setting(name):
    """A worker PC is configured with the same variables as the API's PC, so the two must agree."""
    assert name in Settings.model_fields, f"flows/settings.py has {name}, which api/settings.py lacks"
    ours, theirs = Settings.model_fields[name], WorkerSettings.model_fields[name]
    assert env_names(name, ours) == env_names(name, theirs)
    assert shown(ours.get_default(call_default_factory=True)) == shown(theirs.get_default(call_default_factory=True))


def test_options_that_are_no_setting_are_documented():
    text = OPERATIONS.read_text()
    for name, option in command_line_options().items():
        if name not in Settings.model_fields:
            assert f"`{option}`" in text, f"{option} is not described in {OPERATIONS.name}"
