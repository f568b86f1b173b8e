"""Falcon resources of /plan: recurring plans, each a Prefect deployment schedule."""

from __future__ import annotations

from datetime import datetime

from api.domain.errors import invalid
from api.domain.recurring import PlanBook
from api.rest import answers
from api.rest.resources.replies import media, ok
from api.rest.schemas import CreateTaskBody, PlanPatch, parse_body, repeat_text, task_request


class PlanCollection:
    def __init__(self, plans: PlanBook):
        self.plans = plans

    def on_get(self, req, resp):
        plans = self.plans.list()
        ok(resp, answers.Plans, {"plans": plans, "total": len(plans)})

    def on_post(self, req, resp):
        """The same body as POST /task, with `repeat` required."""
        body = parse_body(CreateTaskBody, media(req))
        if body.repeat is None:
            raise invalid("repeat is required for a plan (for example \"daily\" or \"every 4 hours\")", {"field": "repeat"})
        ok(resp, answers.Plan, self.plans.create(task_request(body), datetime.now().astimezone()))


class PlanItem:
    def __init__(self, plans: PlanBook):
        self.plans = plans

    def on_get(self, req, resp, plan_id: str):
        ok(resp, answers.Plan, self.plans.get(plan_id))

    def on_patch(self, req, resp, plan_id: str):
        body = parse_body(PlanPatch, media(req))
        ok(resp, answers.Plan, self.plans.change(plan_id, paused=body.paused, repeat=repeat_text(body.repeat),
                                   start_time=body.start_time, now=datetime.now().astimezone()))

    def on_delete(self, req, resp, plan_id: str):
        self.plans.delete(plan_id)
        ok(resp, answers.Deleted, {"deleted_count": 1})
