"""The task domain: planning, fan-out, schedule, stop/retry/delete, stats, accounts, idempotency, status."""
