"""The DeviceError classes: which failures are worth an automatic retry, and that they survive pickling."""

from __future__ import annotations

import pickle

import pytest

from devices.errors import (AccountNotLoggedIn, AdbServerUnreachable, AppNotInstalled, DeviceError,
                            InvalidScriptConfig, LoggedOut, PhoneDisconnected, ScreenUnreadable, ScriptFailed,
                            TargetNotFound, UiNotRecognised)


@pytest.mark.parametrize("error_class, transient", [
    (AdbServerUnreachable, True), (PhoneDisconnected, True), (ScreenUnreadable, True),
    (InvalidScriptConfig, False), (AppNotInstalled, False), (AccountNotLoggedIn, False), (LoggedOut, False),
    (TargetNotFound, False), (UiNotRecognised, False), (ScriptFailed, False)])
def test_the_class_says_whether_a_retry_can_help(error_class, transient):
    error = error_class("what happened")
    assert isinstance(error, DeviceError)
    assert (error.remark, error.transient, str(error)) == ("what happened", transient, "what happened")


def test_an_error_keeps_its_class_and_remark_through_pickling():
    # Prefect stores a failed run's exception; run_task reads .transient and .remark from the copy.
    copy = pickle.loads(pickle.dumps(PhoneDisconnected("phone x disconnected during the task: EOF")))
    assert type(copy) is PhoneDisconnected
    assert (copy.remark, copy.transient) == ("phone x disconnected during the task: EOF", True)
