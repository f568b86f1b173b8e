"""Saving a screenshot and the last UI dump of a phone when a script fails, for the operator to look at."""

from __future__ import annotations

import logging
import pathlib

from devices import ui
from devices.phone import Phone
from devices.screenshots import take_screenshot

SCREENSHOT_NAME = "screenshot.png"
HIERARCHY_NAME = "hierarchy.xml"
_log = logging.getLogger(__name__)


def save_failure_artifacts(phone: Phone, directory: pathlib.Path) -> None:
    """Best effort: each artifact that cannot be taken is skipped; nothing here ever raises."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _log.warning("cannot create artifacts directory %s: %s", directory, error)
        return
    _save_hierarchy(phone, directory / HIERARCHY_NAME)
    _save_screenshot(phone, directory / SCREENSHOT_NAME)


def _save_hierarchy(phone: Phone, target: pathlib.Path) -> None:
    try:
        # The dump the script last looked at explains its decision; a fresh one is the fallback.
        xml = phone.last_dump or ui.dump_xml(phone, attempts=2, retry_delay=0.1)
        target.write_text(xml, encoding="utf-8")
    except Exception as error:  # noqa: BLE001 - an artifact must never replace the task's own error
        _log.warning("no UI dump saved for %s: %s", phone.serial, error)


def _save_screenshot(phone: Phone, target: pathlib.Path) -> None:
    try:
        target.write_bytes(take_screenshot(phone))
    except Exception as error:  # noqa: BLE001 - see above
        _log.warning("no screenshot saved for %s: %s", phone.serial, error)
