import asyncio
from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest

from adapters.ports import FeedStats
from daemon.core.events import TimerFired
from daemon.runtime.clock import ShellClock
from daemon.runtime.metrics import LimiterStats, Metrics
from daemon.runtime.timers import Timers


async def test_timer_fires_once_and_same_key_replaces() -> None:
    fired: list[object] = []
    clock = ShellClock()
    timers = Timers(clock, fired.append)
    timers.schedule(clock.after(5), "check")
    timers.schedule(clock.after(0.02), "check")  # replaces the 5 s one
    timers.schedule(clock.after(0.01), "other")
    await asyncio.sleep(0.1)
    keys = [e.key for e in fired if isinstance(e, TimerFired)]
    assert sorted(keys) == ["check", "other"]
    assert timers.pending == 0


def test_clock_follows_the_broker() -> None:
    clock = ShellClock()
    target = clock.now() - timedelta(days=3)
    offset = clock.sync_to(target)
    assert offset is not None and abs(offset + 3 * 86400) < 1.0
    assert abs((clock.now() - target).total_seconds()) < 1.0
    # a difference under the tolerance is not adopted (quote ages stay steady)
    assert clock.sync_to(clock.now() + timedelta(seconds=0.5)) is None
    assert clock.sync_to(clock.now() + timedelta(days=6)) is not None
    assert abs((clock.now() - (target + timedelta(days=6))).total_seconds()) < 1.0


def test_adapter_totals_become_counters_by_their_increase() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg)
    m.observe_streams({"market_data": FeedStats(True, 2, 0.1, 10, 1)})
    m.observe_streams({"market_data": FeedStats(True, 5, 0.1, 10, 1)})
    m.observe_limiter(LimiterStats(tokens=150, limit_per_minute=180, waits=3, throttled_429=1))
    text = generate_latest(reg).decode()
    assert 'rebalanced_stream_reconnects_total{stream="market_data"} 5.0' in text
    assert 'rebalanced_stream_malformed_messages_total{stream="market_data"} 1.0' in text
    assert "rebalanced_ratelimit_throttled_total 1.0" in text
    assert 'rebalanced_stream_connected{stream="market_data"} 1.0' in text
    m.set_trading_state("halted")
    text = generate_latest(reg).decode()
    assert 'rebalanced_trading_state{state="halted"} 1.0' in text
    assert 'rebalanced_trading_state{state="active"} 0.0' in text


def test_journal_write_errors_reach_the_counter_once() -> None:
    reg = CollectorRegistry()
    m = Metrics(reg)
    m.journal_errors.inc()  # one the shell saw itself
    m.observe_journal(2)
    m.observe_journal(2)  # a repeated reading adds nothing
    m.observe_journal(3)
    assert "rebalanced_journal_write_errors_total 4.0" in generate_latest(reg).decode()


def test_weight_gauges_report_the_last_columns_at_scrape() -> None:
    from daemon.core.triggers.drift_queries import WeightColumns

    reg = CollectorRegistry()
    m = Metrics(reg)
    assert "rebalanced_weight_ratio{" not in generate_latest(reg).decode()  # none yet
    m.observe_weights(WeightColumns(("VTI", "CASH"), (0.6, 0.4), (0.7, 0.3), (0.65, 0.28),
                                    (0.75, 0.32)))
    m.observe_weights(WeightColumns(("VTI", "CASH"), (0.71, 0.29), (0.7, 0.3), (0.65, 0.28),
                                    (0.75, 0.32)))
    assert reg.get_sample_value("rebalanced_weight_ratio", {"symbol": "VTI"}) == 0.71
    assert reg.get_sample_value("rebalanced_weight_ratio", {"symbol": "CASH"}) == 0.29
    assert reg.get_sample_value("rebalanced_target_weight_ratio", {"symbol": "VTI"}) == 0.7
    assert reg.get_sample_value("rebalanced_band_low_ratio", {"symbol": "CASH"}) == 0.28
    assert reg.get_sample_value("rebalanced_band_high_ratio", {"symbol": "VTI"}) == 0.75
    text = generate_latest(reg).decode()
    assert "# TYPE rebalanced_weight_ratio gauge" in text
    assert 'rebalanced_band_high_ratio{symbol="CASH"} 0.32' in text
