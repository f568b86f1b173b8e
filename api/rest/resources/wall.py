"""The phone wall: its page, the farm overview it polls, and each phone's latest screen."""

from __future__ import annotations

from email.utils import formatdate
from pathlib import Path

import falcon

from api.domain.errors import not_found
from api.domain.farm_view import FarmView
from api.gateways.screens import ScreenCamera
from api.rest import answers
from api.rest.resources.replies import ok

PAGE_DIR = Path(__file__).resolve().parent.parent / "page"


class WallPage:
    """GET / and /farm: one static page (no data in it: it asks the API, with the token if one is set)."""

    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_HTML
        resp.data = (PAGE_DIR / "farm.html").read_bytes()
        resp.cache_control = ["no-cache"]


class FarmOverview:
    def __init__(self, view: FarmView):
        self.view = view

    def on_get(self, req, resp):
        ok(resp, answers.Farm, self.view.overview())


class PhoneScreen:
    """GET /device/{serial}/screen: the latest PNG of one of this PC's phones. Asking is what makes
    the camera take it (within a few seconds, while no run drives the phone): no request waits on one."""

    def __init__(self, camera: ScreenCamera):
        self.camera = camera

    def on_get(self, req, resp, serial: str):
        shot = self.camera.latest(serial)
        if shot is None:
            raise not_found(f"No screen of phone {serial} yet: it is taken within seconds of being asked for, "
                            "while no task drives the phone, and only of the phones on the API's PC")
        resp.content_type = "image/png"
        resp.set_header("Last-Modified", formatdate(shot.taken_at, usegmt=True))
        resp.cache_control = ["no-store"]
        resp.data = shot.png
