"""Strict JSON request bodies: size, nesting, numbers and string hygiene are refused as 40001 before any responder runs."""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import falcon

from api.domain.errors import invalid

MAX_DEPTH = 32
# SQLite, Prefect and most JSON clients stop at signed 64 bits; a bigger number is never a valid value here.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_INT_MAX_DIGITS = len(str(INT_MAX))


def _int(text: str) -> int:
    # Checked before int(): Python refuses > 4300 digits with a ValueError of its own.
    if len(text.lstrip("-")) > _INT_MAX_DIGITS or not INT_MIN <= int(text) <= INT_MAX:
        raise invalid(f"A number in the request body is out of range (integers must fit in 64 bits): {text[:40]}")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise invalid(f"A number in the request body is out of range: {text[:40]}")
    return value


def _constant(name: str) -> Any:
    raise invalid(f"{name} is not valid JSON; send a number or null")


def _field(path: list) -> str:
    # Same spelling as the pydantic field errors (serials.0); odd characters escaped so the message stays readable.
    return ".".join(json.dumps(str(p))[1:-1] for p in path) or "body"


def _check_string(text: str, path: list) -> None:
    if "\x00" in text:
        field = _field(path)
        raise invalid(f"Invalid {field}: text must not contain NUL characters (\\u0000)", {"field": field})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # JSON lets "\ud800" through, but a lone surrogate cannot be stored or passed on as UTF-8.
        field = _field(path)
        raise invalid(f"Invalid {field}: text contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not a character",
                      {"field": field}) from None


def check_tree(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Walk the parsed body without recursion: depth, and every key and string value."""
    stack = [(value, [], 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth >= max_depth:
                raise invalid(f"The request body is nested too deep (at most {max_depth} levels of objects and arrays)")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str):
                    _check_string(key, path + [key])
                stack.append((child, path + [key], depth + 1))
        elif isinstance(node, str):
            _check_string(node, path)


def parse(data: bytes, max_depth: int = MAX_DEPTH) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise invalid(f"The request body is not valid UTF-8 (bad byte at offset {error.start}); send JSON encoded as UTF-8") from None
    # RFC 8259 lets a parser ignore a leading byte order mark; some Windows tools write one.
    text = text.removeprefix("\ufeff")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as error:
        raise invalid(f"The request body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise invalid(f"The request body is nested too deep (at most {max_depth} levels of objects and arrays)") from None
    check_tree(value, max_depth)
    return value


class StrictJSONHandler(falcon.media.BaseHandler):
    """Parses bodies as JSON whatever their declared type; reads at most max_bytes of them."""

    def __init__(self, max_bytes: int, max_depth: int = MAX_DEPTH):
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    def _too_large(self) -> Exception:
        return invalid(f"The request body is too large (at most {self.max_bytes} bytes)")

    def deserialize(self, stream, content_type: Optional[str], content_length: Optional[int]) -> Any:
        if content_length is not None and content_length > self.max_bytes:
            raise self._too_large()
        # A chunked body has no Content-Length: never read more than the limit and one byte.
        data = stream.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise self._too_large()
        if not data.strip():
            raise falcon.MediaNotFoundError("JSON")
        return parse(data, self.max_depth)

    def serialize(self, media: object, content_type: str) -> bytes:
        try:
            return json.dumps(media, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            # Text echoed from a URL can hold a lone surrogate: escaped, it is still valid JSON.
            return json.dumps(media).encode()
