"""The planner pauses the cyclic collector for one plan and leaves it as it found it."""

import gc

import pytest

from daemon.core.planning.collector import collector_paused


@collector_paused
def _state() -> bool:
    return gc.isenabled()


@collector_paused
def _fails() -> None:
    raise ValueError("boom")


def test_paused_during_the_call_and_running_after() -> None:
    assert gc.isenabled()
    assert _state() is False
    assert gc.isenabled()


def test_resumed_after_an_exception() -> None:
    with pytest.raises(ValueError, match="boom"):
        _fails()
    assert gc.isenabled()


def test_a_collector_turned_off_stays_off() -> None:
    gc.disable()
    try:
        assert _state() is False
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_plan_rebalance_runs_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    import daemon.core.planning.planner as planner

    seen: list[bool] = []
    real = planner.value_portfolio

    def spy(*a: object, **k: object) -> object:
        seen.append(gc.isenabled())
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(planner, "value_portfolio", spy)
    from tests.bench.bench_planner import NOW, build

    config, holdings, quotes = build(5)
    planner.plan_rebalance(config, holdings, quotes, NOW)
    assert seen == [False]
    assert gc.isenabled()
