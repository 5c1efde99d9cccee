"""Helpers for Engine tests: a small config, a trading day, and event builders.

The day is Friday 2026-11-20 (New York, UTC−5): session 14:30–21:00 UTC, trading window
09:35–15:45 ET = 14:35–20:45 UTC. ``T0`` = 15:00 UTC, inside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from daemon.core import events as ev
from daemon.core.commands import Command, PlaceOrder, RecordDecision, ScheduleWakeup
from daemon.core.config.values import (
    AssetConfig,
    Band,
    BandRule,
    Config,
    CostConfig,
    ExecutionConfig,
    PortfolioConfig,
    TriggerConfig,
    TriggerMode,
)
from daemon.core.engine.kernel import Engine
from daemon.core.model import Side, TradingSession

T0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DAY = date(2026, 11, 20)
RUN = "test-run"


def sessions() -> tuple[TradingSession, ...]:
    days = [date(2026, 11, 19), DAY, date(2026, 11, 23), date(2026, 11, 24)]
    return tuple(
        TradingSession(
            d,
            datetime(d.year, d.month, d.day, 14, 30, tzinfo=UTC),
            datetime(d.year, d.month, d.day, 21, 0, tzinfo=UTC),
        )
        for d in days
    )


def make_config(
    targets: Mapping[str, float] | None = None,
    cash_target: float = 0.02,
    mode: TriggerMode = TriggerMode.THRESHOLD,
    band: Band | None = None,
    **execution: object,
) -> Config:
    band = band or Band(absolute=0.05, relative=None, rule=BandRule.ABSOLUTE)
    tg = {"VTI": 0.60, "BND": 0.38} if targets is None else targets
    return Config(
        portfolio=PortfolioConfig(
            assets=tuple(AssetConfig(s, w, band) for s, w in tg.items()),
            cash_target=cash_target,
            cash_band=Band(absolute=0.02, relative=None, rule=BandRule.ABSOLUTE),
        ),
        bands=band,
        trigger=TriggerConfig(mode=mode, cooldown_seconds=0.0, max_runs_per_day=50),
        cost=CostConfig(gate=False),
        execution=replace(ExecutionConfig(), **execution),  # type: ignore[arg-type]
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def snapshot(
    t: datetime,
    cash: str,
    positions: Mapping[str, str],
    open_orders: Sequence[ev.BrokerOrder] = (),
) -> ev.AccountSnapshot:
    return ev.AccountSnapshot(
        at=t,
        cash=Decimal(cash),
        positions={s: Decimal(q) for s, q in positions.items()},
        open_orders=tuple(open_orders),
    )


def clock(t: datetime, is_open: bool = True) -> ev.MarketClock:
    if is_open:
        return ev.MarketClock(
            t,
            True,
            datetime(2026, 11, 23, 14, 30, tzinfo=UTC),
            datetime(2026, 11, 20, 21, 0, tzinfo=UTC),
            sessions(),
        )
    return ev.MarketClock(
        t,
        False,
        datetime(2026, 11, 23, 14, 30, tzinfo=UTC),
        datetime(2026, 11, 23, 21, 0, tzinfo=UTC),
        sessions(),
    )


def quote(t: datetime, symbol: str, mid: float, spread: float = 0.02) -> ev.QuoteUpdated:
    return ev.QuoteUpdated(t, symbol, mid - spread / 2, mid + spread / 2, 100.0, 100.0)


def quotes(t: datetime, prices: Mapping[str, float]) -> list[ev.QuoteUpdated]:
    return [quote(t, s, p) for s, p in prices.items()]


def ready_events(
    cash: str = "0",
    positions: Mapping[str, str] | None = None,
    prices: Mapping[str, float] | None = None,
    t: datetime = T0,
) -> list[ev.Event]:
    """Snapshot + clock + a quote per symbol: after these the engine may trade."""
    pos = {"VTI": "70", "BND": "30"} if positions is None else positions
    px = {"VTI": 100.0, "BND": 100.0} if prices is None else prices
    return [snapshot(t, cash, pos), clock(t), *quotes(t, px)]


def feed(engine: Engine, events: Iterable[ev.Event]) -> list[Command]:
    out: list[Command] = []
    for e in events:
        out.extend(engine.handle(e))
    return out


def places(cmds: Iterable[Command]) -> list[PlaceOrder]:
    return [c for c in cmds if isinstance(c, PlaceOrder)]


def decisions(cmds: Iterable[Command]) -> list[RecordDecision]:
    return [c for c in cmds if isinstance(c, RecordDecision)]


def wakeups(cmds: Iterable[Command], prefix: str = "") -> list[ScheduleWakeup]:
    return [c for c in cmds if isinstance(c, ScheduleWakeup) and c.key.startswith(prefix)]


def check(t: datetime) -> ev.TimerFired:
    return ev.TimerFired(t, "check")


def fill_all(
    order: PlaceOrder, t: datetime, exec_id: str, price: str | None = None, broker_id: str = ""
) -> list[ev.Event]:
    """Accept and completely fill ``order`` at its limit price (or ``price``)."""
    assert order.qty is not None
    px = Decimal(price) if price is not None else order.limit_price
    assert px is not None
    bid = broker_id or f"b-{order.client_order_id}"
    return [
        ev.OrderAccepted(t, order.client_order_id, bid),
        ev.OrderFilled(t, order.client_order_id, exec_id, order.qty, px, order.qty, bid),
    ]


def side_of(o: PlaceOrder) -> Side:
    return o.side


PRICES = {"VTI": 100.0, "BND": 100.0}


def started(engine: Engine | None = None, **kw: object) -> Engine:
    """An engine fed a snapshot, the clock and a quote per symbol: ready to decide."""
    engine = engine or Engine(make_config(), RUN)
    cmds = feed(engine, ready_events(**kw))  # type: ignore[arg-type]
    assert wakeups(cmds, "check") == [ScheduleWakeup(at(0), "check")]
    assert places(cmds) == []
    return engine


def sold(engine: Engine | None = None) -> tuple[Engine, PlaceOrder]:
    """A started engine whose first check placed exactly one sell."""
    engine = started(engine)
    [sell] = places(engine.handle(check(at(1))))
    return engine, sell
