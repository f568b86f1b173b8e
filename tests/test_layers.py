"""The folders show the architecture: every import points one way, and there is no import cycle.

The rules are the import-linter contracts of pyproject.toml ([tool.importlinter]); `./run lint`
checks them too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("api", "worker", "flows", "devices", "simulator", "contract")
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "pyproject.toml"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


def test_the_checker_sees_planted_violations(tmp_path):
    """The test above would pass on a checker that finds nothing: show that the same contracts,
    run on a copy of the product with an upward import and a forbidden library planted, fail."""
    for top in PRODUCT:
        shutil.copytree(REPO / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "worker" / "planted_upward.py").write_text("import api.settings\n")
    (tmp_path / "api" / "domain" / "planted_library.py").write_text("import falcon\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout + result.stderr
    assert "worker.planted_upward -> api.settings" in result.stdout, result.stdout
    assert "api.domain.planted_library -> falcon" in result.stdout, result.stdout
