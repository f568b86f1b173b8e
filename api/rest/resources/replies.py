"""How every resource answers: the contract's envelope, and the request body as JSON."""

from __future__ import annotations

import falcon

from api.rest.answers import Answer, answer
from api.rest.errors import envelope


def ok(resp: falcon.Response, model: type[Answer], data) -> None:
    """The success envelope around `data`, written through its answer model."""
    resp.media = envelope(0, "success", answer(model, data))


def media(req: falcon.Request):
    return req.get_media(default_when_empty=None)
