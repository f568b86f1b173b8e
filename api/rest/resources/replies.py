"""How every resource answers: the contract's envelope, and the request body as JSON."""

from __future__ import annotations

import falcon

from api.rest.errors import envelope


def ok(resp: falcon.Response, data) -> None:
    resp.media = envelope(0, "success", data)


def media(req: falcon.Request):
    return req.get_media(default_when_empty=None)
