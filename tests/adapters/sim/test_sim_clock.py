from datetime import UTC, datetime, timedelta

import pytest

from adapters.sim.sim_clock import ClockMode, SimClock

START = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


class FakeWall:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def test_stepped_moves_only_when_told() -> None:
    wall = FakeWall()
    c = SimClock("stepped", START, wall=wall)
    wall.t += 3600
    assert c.now() == START
    assert c.advance(90) == START + timedelta(seconds=90)
    later = START + timedelta(days=1)
    assert c.set(later) == later
    assert c.now().tzinfo is not None


def test_stepped_never_goes_back_and_needs_a_start() -> None:
    c = SimClock("stepped", START)
    with pytest.raises(ValueError, match="forward"):
        c.set(START - timedelta(seconds=1))
    with pytest.raises(ValueError, match="forward"):
        c.advance(-1)
    with pytest.raises(ValueError, match="start"):
        SimClock("stepped")
    with pytest.raises(ValueError, match="naive"):
        SimClock("stepped", datetime(2026, 1, 1))


def test_accelerated_runs_speed_times_faster() -> None:
    wall = FakeWall()
    c = SimClock(ClockMode.ACCELERATED, START, speed=60, wall=wall)
    wall.t += 2
    assert c.now() == START + timedelta(minutes=2)
    c.advance(60)
    assert c.now() == START + timedelta(minutes=3)
    target = START + timedelta(hours=5)
    c.set(target)
    wall.t += 1
    assert c.now() == target + timedelta(seconds=60)


def test_real_follows_the_wall_and_cannot_be_moved() -> None:
    wall = FakeWall()
    c = SimClock("real", wall=wall)
    assert c.now() == datetime.fromtimestamp(wall.t, UTC)
    wall.t += 5
    assert c.now() == datetime.fromtimestamp(wall.t, UTC)
    with pytest.raises(ValueError, match="real-time"):
        c.advance(1)


def test_bad_speed() -> None:
    with pytest.raises(ValueError, match="speed"):
        SimClock("accelerated", START, speed=0)
