"""Falcon middleware: browser guard (cross-site, DNS rebinding, JSON bodies), the API token, the plan gate,
the disk guard, the security headers of every answer."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Iterable, Optional
from urllib.parse import urlsplit

from api.domain.errors import ApiError, Code
from api.domain.plans import Plan
from api.gateways.disk import DiskSpace

# Monitors read it without a secret: the parts' status only; its details need the token.
PUBLIC_PATHS = {"/api/v1/health"}
# The phone wall's page and assets hold no data: the page asks for the token and sends it itself.
PAGE_PATHS = {"", "/farm"}
PAGE_PREFIX = "/page/"


def is_page(path: str) -> bool:
    return path.rstrip("/") in PAGE_PATHS or path.startswith(PAGE_PREFIX)


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
        return True
    except ValueError:
        return False


class BrowserGuard:
    """A web page the operator opens must not drive the farm. Scripts send none of the headers a
    browser adds, so they are not affected.
    - Sec-Fetch-Site other than same-origin/none, or an Origin that is not this service: refused.
    - A Host that is a name other than localhost or an allowed one: refused (DNS rebinding points
      a name the attacker owns at 127.0.0.1; IP literals cannot be rebound).
    - A body that is not application/json: refused (a form POST needs no CORS preflight)."""

    def __init__(self, allowed_hosts: Iterable[str] = ()):
        self.allowed_hosts = {"localhost", *(h.lower() for h in allowed_hosts)}

    def _our_name(self, host: str) -> bool:
        name = (urlsplit(f"//{host}").hostname or "").lower()
        return _is_ip_literal(name) or name in self.allowed_hosts

    def process_request(self, req, resp):
        host = req.get_header("Host") or ""
        if not self._our_name(host):
            raise ApiError(Code.CROSS_SITE_REFUSED, f"Host {host!r} is not a name of this service; add it to "
                           "PHONEFARM_ALLOWED_HOSTS if clients really use it")
        site = req.get_header("Sec-Fetch-Site")
        if site is not None and site.lower() not in ("same-origin", "none"):
            raise ApiError(Code.CROSS_SITE_REFUSED, f"Cross-site requests are refused (Sec-Fetch-Site: {site})")
        origin = req.get_header("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            raise ApiError(Code.CROSS_SITE_REFUSED, f"Requests from another origin ({origin}) are refused")
        has_body = req.content_length or req.get_header("Transfer-Encoding")
        if has_body and (req.content_type or "").split(";")[0].strip().lower() != "application/json":
            raise ApiError(Code.INVALID, "Send the body as JSON with the header 'Content-Type: application/json' "
                           f"(got {req.content_type or 'none'})")


class TokenGate:
    """Falcon middleware; a service without a token (loopback only) lets every request through."""

    def __init__(self, token: Optional[str]):
        self.expected = token.encode() if token else None

    def authenticated(self, req) -> bool:
        if self.expected is None:
            return True
        scheme, _, given = (req.get_header("Authorization") or "").strip().partition(" ")
        # The scheme is case-insensitive (RFC 7235); the comparison takes constant time, so
        # the time taken never tells how much of a guess was right.
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8", "replace"), self.expected)

    def process_request(self, req, resp):
        # Public answers (health) say more to a caller with the token.
        req.context.authenticated = self.authenticated(req)
        if req.context.authenticated or req.path.rstrip("/") in PUBLIC_PATHS or is_page(req.path):
            return
        raise ApiError(Code.UNAUTHORIZED, "Missing or wrong API token: send the header 'Authorization: Bearer <token>'")


class PlanGate:
    """A plan without API access answers 40301 everywhere but the licence check (and health, docs)."""

    def __init__(self, plan: Plan, prefix: str):
        self.plan = plan
        self.ungated = {f"{prefix}/license/check", f"{prefix}/health", f"{prefix}/openapi.json"}

    def process_request(self, req, resp):
        if not self.plan.api_enabled and req.path.rstrip("/") not in self.ungated and not is_page(req.path):
            raise ApiError(Code.PLAN_FORBIDS_API, f"The {self.plan.name} plan has no API access; upgrade to Pro, Team or Business")


class DiskGuard:
    """A write is refused (50301) before it starts when the data directory's disk is nearly full: a
    half-stored create or a stop Prefect could not record would be worse. Reads still answer."""

    READS = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, disk: DiskSpace):
        self.disk = disk

    def process_request(self, req, resp):
        if req.method not in self.READS:
            self.disk.ensure_room()


# The wall's own files only; the phone screens it shows are blob: URLs it makes from the API's PNGs.
PAGE_POLICY = "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'"
# Everything else is data (JSON, a phone's PNG, a phone-supplied dump): never a document that runs anything.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"


class SecurityHeaders:
    """Every answer: no content sniffing, and a Content-Security-Policy (the page's, or none at all)."""

    def process_response(self, req, resp, resource, req_succeeded):
        resp.set_header("X-Content-Type-Options", "nosniff")
        resp.set_header("Content-Security-Policy", PAGE_POLICY if is_page(req.path) else DATA_POLICY)
        resp.set_header("Referrer-Policy", "no-referrer")
