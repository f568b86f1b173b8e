"""The domain's one error type, with the contract's codes; the REST layer maps it to the envelope."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from pydantic import ValidationError


class Code(IntEnum):
    SUCCESS = 0
    INVALID = 40001
    SCRIPT_NAME_MISSING = 40002
    SCRIPT_NOT_RUNNABLE = 40003
    UNAUTHORIZED = 40101
    PLAN_FORBIDS_API = 40301
    CROSS_SITE_REFUSED = 40302  # ours: a browser request from another site, or to a name not ours
    NOT_FOUND = 40401
    INTERNAL = 50001
    ORCHESTRATOR_UNAVAILABLE = 50301


class ApiError(Exception):
    """A request the service refuses; `message` tells the caller what to fix."""

    def __init__(self, code: Code, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def invalid(message: str, data: Any = None) -> ApiError:
    return ApiError(Code.INVALID, message, data)


def not_found(message: str) -> ApiError:
    return ApiError(Code.NOT_FOUND, message)


def _field_name(prefix: str, loc: tuple) -> str:
    # A check of the whole model (loc empty) names the model itself: "script_config", not "script_config.".
    name = ".".join(str(part) for part in loc)
    return (prefix + name if name else prefix.rstrip(".")) or "body"


def field_errors(error: ValidationError, prefix: str = "") -> list[dict]:
    return [
        {"field": _field_name(prefix, e["loc"]), "message": e["msg"]}
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def validation_failure(error: ValidationError, prefix: str = "") -> ApiError:
    """A pydantic error (request body or script config) as 40001 naming the first bad field."""
    errors = field_errors(error, prefix)
    first = errors[0]
    return invalid(f"Invalid {first['field']}: {first['message']}", {"errors": errors})
