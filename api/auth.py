"""The API token: every endpoint but health wants `Authorization: Bearer <token>` when one is set."""

from __future__ import annotations

import hmac
from typing import Optional

from api.errors import ApiError, Code

PUBLIC_PATHS = {"/api/v1/health"}  # monitors read it without a secret; it tells nothing about tasks


class TokenGate:
    """Falcon middleware; a service without a token (loopback only) lets every request through."""

    def __init__(self, token: Optional[str]):
        self.expected = token.encode() if token else None

    def process_request(self, req, resp):
        if self.expected is None or req.path.rstrip("/") in PUBLIC_PATHS:
            return
        scheme, _, given = (req.get_header("Authorization") or "").strip().partition(" ")
        # The scheme is case-insensitive (RFC 7235); the comparison takes constant time, so
        # the time taken never tells how much of a guess was right.
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode("utf-8", "replace"), self.expected):
            raise ApiError(Code.UNAUTHORIZED, "Missing or wrong API token: send the header 'Authorization: Bearer <token>'")
