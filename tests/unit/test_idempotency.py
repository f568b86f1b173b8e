"""The Idempotency-Key store alone: answers older than their TTL are forgotten and purged
(tests/test_idempotency.py covers the keys through the API)."""

from __future__ import annotations

from datetime import timedelta

from api.domain.idempotency import Idempotency
from api.gateways.index import Index


def test_answers_older_than_the_ttl_are_forgotten_and_purged(tmp_path):
    index = Index(tmp_path / "index.db")
    calls = []

    def create():
        calls.append(1)
        return {"task_ids": [len(calls)], "created_count": 1}

    keys = Idempotency(index.answers, ttl=timedelta(seconds=-1))  # every answer is already too old
    assert keys.answer("k", {"a": 1}, create) == ({"task_ids": [1], "created_count": 1}, False)
    assert keys.answer("k", {"a": 1}, create) == ({"task_ids": [2], "created_count": 1}, False)
    assert index.store.db.execute("SELECT count(*) FROM idempotency").fetchone()[0] == 1
    fresh = Idempotency(index.answers)
    assert fresh.answer("k", {"a": 1}, create) == ({"task_ids": [2], "created_count": 1}, True)
    assert fresh.answer("k2", {"a": 1}, create)[1] is False and len(fresh.locks._locks) == 0
