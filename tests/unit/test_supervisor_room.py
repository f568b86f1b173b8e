"""A dead child is not started while the disk has no room (it could not start, and each refused try
would lengthen the pause after the room is back); with room it is started at once."""

from __future__ import annotations

from pathlib import Path

from api.supervision.children import Child, Supervisor


class CountedChild(Child):
    """Never alive: counts the supervisor's starts instead of starting a process."""

    starts: int = 0

    def start(self) -> None:
        self.starts += 1


def test_a_dead_child_waits_for_room_then_starts_at_once(tmp_path: Path):
    child = CountedChild("postgres", ["postgres"], {}, tmp_path / "postgres.log")
    room = [False]
    supervisor = Supervisor([child], room=lambda: room[0])
    for _ in range(5):
        supervisor.run_once()
    assert (child.starts, child.restarts) == (0, 0)
    room[0] = True
    supervisor.run_once()
    assert (child.starts, child.restarts) == (1, 1)
    supervisor.run_once()  # dead again at once: now the back-off's pause
    assert child.starts == 1
