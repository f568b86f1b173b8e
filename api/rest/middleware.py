"""Falcon middleware: the API token (every endpoint but health, when one is set) and the plan gate."""

from __future__ import annotations

import hmac
from typing import Optional

from api.domain.errors import ApiError, Code
from api.domain.plans import Plan

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


class PlanGate:
    """A plan without API access answers 40301 everywhere but the licence check (and health, docs)."""

    def __init__(self, plan: Plan, prefix: str):
        self.plan = plan
        self.ungated = {f"{prefix}/license/check", f"{prefix}/health", f"{prefix}/openapi.json"}

    def process_request(self, req, resp):
        if not self.plan.api_enabled and req.path.rstrip("/") not in self.ungated:
            raise ApiError(Code.PLAN_FORBIDS_API, f"The {self.plan.name} plan has no API access; upgrade to Pro, Team or Business")
