"""Typing text on a phone: `input text` for plain ASCII, the ADBKeyBoard broadcast for anything else."""

from __future__ import annotations

import base64

import adbutils


def type_text(phone: adbutils.AdbDevice, text: str) -> None:
    if not text:
        return
    if _typeable_by_input(text):
        # `input text` reads %s as a space and cannot take a literal space.
        phone.shell(["input", "text", text.replace(" ", "%s")])
    else:
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        phone.shell(["am", "broadcast", "-a", "ADB_INPUT_B64", "--es", "msg", encoded])


def _typeable_by_input(text: str) -> bool:
    # Non-ASCII is not on the key map, and a literal "%" could be read as the %s escape.
    return text.isascii() and text.isprintable() and "%" not in text
