"""The one place where every error (domain, gateway, device, Falcon) becomes an envelope."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

import falcon

from api.domain.errors import ApiError, Code
from api.gateways.disk import DiskSpace, StorageFull, is_storage_full
from api.gateways.prefect import OrchestratorUnavailable
from devices.errors import DeviceError

log = logging.getLogger(__name__)


def http_status(code: Code) -> str:
    return falcon.code_to_http_status(code.value // 100)


def envelope(code: int, message: str, data: Any = None) -> dict:
    return {"code": int(code), "message": message, "data": data}


def _respond(resp: falcon.Response, code: Code, message: str, data: Any = None) -> None:
    resp.status = http_status(code)
    resp.media = envelope(code, message, data)


def _api_error(req, resp, error: ApiError, params) -> None:
    _respond(resp, error.code, error.message, error.data)


def _orchestrator_down(req, resp, error: OrchestratorUnavailable, params) -> None:
    _respond(resp, Code.ORCHESTRATOR_UNAVAILABLE, f"The Prefect server is unreachable: {error}. Nothing was changed; try again when it is back.")


def _storage_full(req, resp, error: StorageFull, params) -> None:
    # Without the data directory's path: the server's layout is not the caller's to see.
    _respond(resp, Code.ORCHESTRATOR_UNAVAILABLE, f"Not stored: the disk holding the data directory is full: "
             f"{error.free_mb:.0f} MB free, {error.min_free_mb} MB needed. Free some space, then try again.")


def _device_error(req, resp, error: DeviceError, params) -> None:
    _respond(resp, Code.ORCHESTRATOR_UNAVAILABLE, f"The adb server is unreachable: {error.remark}")


def _unexpected(req, resp, error: Exception, params) -> None:
    log.exception("unexpected error on %s %s", req.method, req.path)
    _respond(resp, Code.INTERNAL, "Internal error; the service log has the details.")


# Falcon's own errors (unknown route, wrong method, unreadable body) keep their meaning.
_CODE_BY_HTTP_STATUS = {404: Code.NOT_FOUND, 401: Code.UNAUTHORIZED, 403: Code.PLAN_FORBIDS_API}


def _serialize_http_error(req, resp, error: falcon.HTTPError) -> None:
    status = falcon.http_status_to_code(error.status)
    if status == 404:
        message = f"No such endpoint: {req.method} {req.path}"
    elif status == 405:
        message = f"Method {req.method} is not allowed on {req.path}"
    else:
        message = error.description or error.title or "Invalid request"
    code = _CODE_BY_HTTP_STATUS.get(status, Code.INTERNAL if status >= 500 else Code.INVALID)
    resp.content_type = falcon.MEDIA_JSON
    resp.data = json.dumps(envelope(code, message)).encode()


def install(app: falcon.App, disk: DiskSpace) -> None:
    """Map every error type to the envelope (Falcon picks the most specific handler)."""

    def _database_error(req, resp, error: sqlite3.OperationalError, params) -> None:
        if is_storage_full(error):  # the disk filled up between the guard's look and the write
            return _storage_full(req, resp, disk.refusal(), params)
        _unexpected(req, resp, error, params)

    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(sqlite3.OperationalError, _database_error)
    app.add_error_handler(StorageFull, _storage_full)
    app.set_error_serializer(_serialize_http_error)
    app.add_error_handler(ApiError, _api_error)
    app.add_error_handler(OrchestratorUnavailable, _orchestrator_down)
    app.add_error_handler(DeviceError, _device_error)
