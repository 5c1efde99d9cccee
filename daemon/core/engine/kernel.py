"""The Engine: the single mutator of the decision core. ``handle(event) -> list[Command]``.

Deterministic: the same run id and the same events give the same commands (client order ids
and decision ids come from ``(run_id, sequence)``; "now" is always the event's ``at``).

Timer keys (answered by the shell with ``TimerFired(key=…)``):

- ``"check"``: evaluate the triggers (calendar, threshold, cooldown …); rescheduled every
  ``trigger.check_interval_seconds`` (sooner when the next calendar time comes first). First
  scheduled by the first MarketClock or AccountSnapshot.
- ``"throttle"``: release queued orders once the token bucket has a token again.
- ``"lookup:<coid>"``: an UNKNOWN submit outcome waited ``lookup_delay_seconds`` (doubling
  per attempt, at most ×32): → ``LookupOrder``.
- ``"order-timeout:<coid>"``: an order still unfilled after ``order_timeout_seconds`` →
  ``CancelOrder``, and its deadline ``resolve_grace_seconds`` later.
- ``"order-resolve:<coid>"``: the deadline passed and the order is still not terminal →
  overdue (``/readyz`` not ready) and ``LookupOrder`` (again, doubling the wait, until it
  resolves); see ``OrderDesk.deadline_passed``.

Runs and rounds (one gate per run, follow-up rounds): ``engine/deciding.py``.
Quotes and batches of quotes (one decision per frame): ``engine/quotes.py``.
Order events (fills, cancels, rejects, submit outcomes): ``engine/order_events.py``.
Suspected splits and what is reported once: ``engine/holds.py``.

No ``PlaceOrder`` while (``blockers()``): shutting down, HALTED, no account snapshot, a feed
is lost, a reconcile is awaited after the trade-updates feed came back, no market clock, the
market is closed, outside the trading window; never for a venue-halted symbol; REDUCING
allows sells only. Queued orders are dropped (with an Alert) when a blocker appears.

Other open orders at the broker: ours from an earlier run (client order id prefix ``rb-``)
are adopted; foreign ones count as pending but are never canceled (see ``orders_reconcile``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from daemon.core import events as ev
from daemon.core.commands import (
    Alert,
    Command,
    LookupOrder,
    RequestReconcile,
    ScheduleWakeup,
    TradingStateChanged,
)
from daemon.core.config.values import Config
from daemon.core.engine.deciding import Run
from daemon.core.engine.desk import RESOLVE, THROTTLE, TIMEOUT, OrderDesk
from daemon.core.engine.holds import Holds
from daemon.core.engine.market_data import TRADE_UPDATES, Gates, MarketData
from daemon.core.engine.order_events import LOOKUP, OrderEvents
from daemon.core.engine.target_swap import swap_targets
from daemon.core.engine.view import DecisionInfo, EngineSnapshot, build_snapshot
from daemon.core.model import Holdings, Quote, TradingState
from daemon.core.orders.ids import validate_run_id as _validate_run_id
from daemon.core.orders.lifecycle import OrderBook, OrderState
from daemon.core.tax.live_lots import LiveLots, SeedLots
from daemon.core.triggers.drift import DriftTracker
from daemon.core.triggers.drift_queries import WeightColumns
from daemon.core.triggers.rules import TriggerState, next_wakeup

CHECK = "check"
_ZERO = Decimal(0)


def _split_factor(config: Config) -> float:
    """The one-quote move taken for a split (``planner.split_suspect_ratio``; 0: never)."""
    ratio = config.planner.split_suspect_ratio
    return ratio if ratio > 0 else math.inf


class Engine(OrderEvents):
    def __init__(
        self, config: Config, run_id: str, *, trading_state: TradingState = TradingState.ACTIVE,
        lots: SeedLots | None = None, follow_lots: bool = True,
    ) -> None:
        # follow_lots=False: fills do not reach the live lot ledger (a backtest of a
        # tax-deferred account, where nothing reads it: no tax policy, no harvest)
        if not follow_lots and config.tax.taxable:
            raise ValueError("follow_lots=False is for a tax-deferred account: a taxable "
                             "account's lots decide its sales (drop the argument)")
        self._run_id = _validate_run_id(run_id)
        self._config = self._base_config = config  # the view (engine_harvest) and the base
        self._swaps: dict[str, str] = {}  # harvested primary → its substitute
        self._leaving: set[str] = set()  # substitutes being sold back to their primaries
        self._swaps_derived = False
        self._split_suspect = _split_factor(config)
        self._trading_state = TradingState(trading_state)
        self._decisions = 0
        self._cash: Decimal | None = None  # None until the first AccountSnapshot
        self._positions: dict[str, Decimal] = {}
        self._drift = DriftTracker(config, Holdings(Decimal(0)))
        self._market = MarketData(config)
        self._quotes = self._market.last  # the latest quote event per symbol
        self._gates = Gates()
        self._holds = Holds()  # suspected splits; what was reported once
        self._lots = LiveLots.from_seed(lots) if lots else LiveLots.fresh(config.tax)
        self._follow_lots = follow_lots
        self._desk = OrderDesk(config, self._run_id)
        self._book = self._desk.book
        self._triggers = TriggerState()
        self._run: Run | None = None
        self._follow_up: Run | None = None  # a finished run whose next round is due
        self._last_skipped = False
        self._last_decision: DecisionInfo | None = None
        self._check_scheduled = False
        self._last_at: datetime | None = None
        self._counters = {"ignored_timers": 0}
        self._handlers: dict[type, Callable[[Any], list[Command]]] = {
            ev.QuoteUpdated: self._on_quote,
            ev.QuoteBatch: self._on_batch,
            ev.BarClosed: self._on_nothing,
            ev.MarketStatsUpdated: self._on_stats,
            ev.MarketStatsBatch: self._on_stats_batch,
            ev.CovarianceEstimated: self._on_covariance,
            ev.SplitAnnounced: self._on_split,
            ev.TargetsChanged: self._on_targets,  # swap targets; the bands decide
            ev.TradingStatusChanged: self._on_trading_status,
            ev.AccountSnapshot: self._on_account,
            ev.MarketClock: self._on_clock,
            ev.OrderAccepted: self._on_accepted,
            ev.OrderFilled: self._on_filled,
            ev.OrderCanceled: self._on_canceled,
            ev.OrderRejected: self._on_rejected,
            ev.OrderSubmitFailed: self._on_submit_failed,
            ev.OrderNotFound: self._on_not_found,
            ev.OrderCancelFailed: self._on_cancel_failed,
            ev.TimerFired: self._on_timer,
            ev.FeedLost: self._on_feed_lost,
            ev.FeedRestored: self._on_feed_restored,
            ev.ConfigReloaded: self._on_config,
            ev.TradingStateRequested: self._on_trading_state,
            ev.RebalanceRequested: self._on_rebalance,
            ev.ShutdownRequested: self._on_shutdown,
        }

    # -- the contract -----------------------------------------------------------------------

    def handle(self, event: ev.Event) -> list[Command]:
        """Apply one event; return the commands it calls for, in order."""
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(
                f"Engine.handle got {type(event).__name__}, which is not a core event: "
                "pass one of daemon.core.events.Event"
            )
        self._last_at = event.at
        return handler(event)

    @property
    def run_id(self) -> str:
        return self._run_id

    @property
    def config(self) -> Config:
        return self._config

    @property
    def lots(self) -> LiveLots:
        """The live lot ledger (read it; only the engine changes it)."""
        return self._lots

    @property
    def at_rest(self) -> bool:
        """No run in progress, no follow-up round due and no order queued: what the engine
        does next depends only on the events it is given (a backtest skips quiet rows on
        this, ``adapters/backtest/quiet_rows``)."""
        return self._run is None and self._follow_up is None and not self._desk.queue

    @property
    def book(self) -> OrderBook:
        """The order book (read it; only the engine changes it)."""
        return self._book

    # -- quotes and market state ------------------------------------------------------------

    def _on_nothing(self, e: ev.Event) -> list[Command]:
        return []

    def _on_stats(self, e: ev.MarketStatsUpdated) -> list[Command]:
        self._market.on_stats(e)
        return []

    def _on_stats_batch(self, e: ev.MarketStatsBatch) -> list[Command]:
        self._market.on_stats_batch(e)
        return []

    def _on_covariance(self, e: ev.CovarianceEstimated) -> list[Command]:
        self._market.on_covariance(e)
        return []

    def _on_targets(self, e: ev.TargetsChanged) -> list[Command]:
        config, cmds = swap_targets(self._base_config, e)
        if config is not self._base_config:
            self._rebase(config)
        return cmds

    def quotes(self) -> dict[str, Quote]:
        """The latest quote per symbol, as the planner gets it."""
        return self._market.quotes()

    def _on_trading_status(self, e: ev.TradingStatusChanged) -> list[Command]:
        if e.halted:
            self._gates.halted_symbols.add(e.symbol)
        else:
            self._gates.halted_symbols.discard(e.symbol)
        return []

    def _on_clock(self, e: ev.MarketClock) -> list[Command]:
        self._gates.on_clock(e)
        return [*self._ensure_check(e.at), *self._pump(e.at)]

    def _on_feed_lost(self, e: ev.FeedLost) -> list[Command]:
        self._gates.lost.add(e.feed)
        return self._pump(e.at)

    def _on_feed_restored(self, e: ev.FeedRestored) -> list[Command]:
        self._gates.lost.discard(e.feed)
        if e.feed == TRADE_UPDATES:
            self._gates.await_reconcile = True
            return [RequestReconcile(f"{TRADE_UPDATES} feed restored at {e.at.isoformat()}")]
        return self._pump(e.at)

    # -- the account and reconciliation -----------------------------------------------------

    def _on_account(self, e: ev.AccountSnapshot) -> list[Command]:
        self._cash = e.cash
        self._positions = {s: Decimal(q) for s, q in e.positions.items()}
        self._drift.set_holdings(Holdings(self._cash, dict(self._positions)))
        seeding = not self._lots.seeded
        self._lots.on_snapshot(self._positions, e.avg_entry_prices, e.at)
        self._harvest_positions()
        self._gates.await_reconcile = False
        timeout = timedelta(seconds=self._config.execution.order_timeout_seconds)
        cmds, unsynced = self._desk.reconcile(e, timeout)
        if seeding and self._lots.rebuild_failed is not None and self._config.tax.taxable:
            cmds.append(Alert("warning", f"tax decisions do not trust the lots: "
                                         f"{self._lots.untrusted}"))
        for sym in self._holds.on_snapshot(self._positions):
            cmds.append(Alert("info", f"the account shows the split of {sym}: trading on"))
        for u in unsynced:
            self._apply_to_holdings(u.order, u.qty, u.price)
        if self._trading_state is TradingState.HALTED:
            cmds.extend(self._desk.cancel_all())
        cmds.extend(self._ensure_check(e.at))
        cmds.extend(self._pump(e.at))
        cmds.extend(self._settle_run(e.at))
        return cmds

    # -- timers -----------------------------------------------------------------------------

    def _on_timer(self, e: ev.TimerFired) -> list[Command]:
        key = e.key
        if key == CHECK:
            cmds = self._settle_run(e.at)
            if self._run is None and not cmds:
                cmds = self._decide(e.at, force=False)
            return [*cmds, self._next_check(e.at)]
        if key == THROTTLE:
            self._desk.throttle_fired()
            return self._pump(e.at)
        if key.startswith(LOOKUP):
            order = self._book.get(key[len(LOOKUP) :])
            if order is not None and order.state is OrderState.UNKNOWN:
                order.lookups += 1  # ask again later if no answer comes (the next delay)
                return [LookupOrder(order.client_order_id), self._lookup_wakeup(order, e.at)]
            return []
        if key.startswith((TIMEOUT, RESOLVE)):
            prefix = TIMEOUT if key.startswith(TIMEOUT) else RESOLVE
            order = self._book.get(key[len(prefix) :])
            if order is None:
                return []
            grace = timedelta(seconds=self._config.execution.resolve_grace_seconds)
            if prefix == TIMEOUT:
                return self._desk.timed_out(order, e.at, grace)
            return self._desk.deadline_passed(order, e.at, grace)
        self._counters["ignored_timers"] += 1
        return []

    def _ensure_check(self, now: datetime) -> list[Command]:
        if self._check_scheduled:
            return []
        self._check_scheduled = True
        return [ScheduleWakeup(now, CHECK)]

    def _next_check(self, now: datetime) -> ScheduleWakeup:
        at = now + timedelta(seconds=self._config.trigger.check_interval_seconds)
        if self._gates.sessions:
            cal = next_wakeup(self._config, now, self._gates.sessions, self._triggers)
            if cal is not None and now < cal < at:
                at = cal
        return ScheduleWakeup(at, CHECK)

    # -- operator and lifecycle -------------------------------------------------------------

    def _on_trading_state(self, e: ev.TradingStateRequested) -> list[Command]:
        if e.state is TradingState.ACTIVE:
            self._holds.resume()  # the operator's word clears a suspected split
        if e.state is self._trading_state:
            return []
        self._trading_state = e.state
        cmds: list[Command] = [TradingStateChanged(e.state, e.reason)]
        if e.state is TradingState.HALTED:
            cmds.extend(self._desk.cancel_all())
            if self._desk.foreign:
                cmds.append(
                    Alert(
                        "warning",
                        f"halted: {len(self._desk.foreign)} foreign open "
                        "order(s) left alone (not placed by rebalanced)",
                    )
                )
        cmds.extend(self._pump(e.at))
        return cmds

    def _on_shutdown(self, e: ev.ShutdownRequested) -> list[Command]:
        self._gates.shutdown = True
        cmds = self._pump(e.at)
        if e.cancel_open_orders or self._config.execution.cancel_open_on_shutdown:
            cmds.extend(self._desk.cancel_all())
        return cmds

    def _on_config(self, e: ev.ConfigReloaded) -> list[Command]:
        if not self._follow_lots and e.config.tax.taxable:  # its lots were never kept
            return [Alert("critical", "config reload refused: it makes the account taxable, "
                          "but this engine keeps no lot ledger (follow_lots=False); the "
                          "old config stays")]
        self._rebase(e.config)
        self._split_suspect = _split_factor(e.config)
        self._desk.retune(e.config)
        self._market.load_config(e.config)
        return self._pump(e.at)

    def _on_rebalance(self, e: ev.RebalanceRequested) -> list[Command]:
        if self._run is not None:
            return [Alert("info", "rebalance request ignored: a run is still in progress")]
        blockers = self.blockers(e.at)
        if blockers and not e.record:
            return [Alert("info", "rebalance request not run: " + "; ".join(blockers))]
        cmds = self._decide(e.at, force=e.force, record=e.record)
        if not cmds:
            return [Alert("info", "rebalance request: no trigger fired (use force to override)")]
        return cmds

    # -- deciding ---------------------------------------------------------------------------

    def blockers(self, now: datetime, *, need_quotes: bool = True) -> list[str]:
        """Why no order may be placed at ``now`` (empty when one may)."""
        return [
            *self._gates.blockers(
                now,
                self._config.trigger,
                self._trading_state,
                self._cash is not None,
                self._config.symbols if need_quotes else (),
                self._quotes,
            ),
            *self._holds.blockers(),
        ]

    # -- sending ----------------------------------------------------------------------------

    def _pump(self, now: datetime) -> list[Command]:
        """Send queued orders as far as the pacer and the gates allow."""
        desk = self._desk
        if not desk.queue:
            return []
        blockers = self.blockers(now, need_quotes=False)
        if blockers:
            return [*desk.drop_queue("; ".join(blockers)), *self._settle_run(now)]
        sent: list[str] = []
        cmds = desk.pump(
            now,
            halted=self._gates.halted_symbols,
            reducing=self._trading_state is TradingState.REDUCING,
            timeout=timedelta(seconds=self._config.execution.order_timeout_seconds),
            sent=sent,
        )
        if self._run is not None:
            self._run.add(sent)
        if not desk.queue:
            cmds.extend(self._settle_run(now))
        return cmds

    # -- the view ---------------------------------------------------------------------------

    def weight_columns(self) -> WeightColumns:
        """The snapshot's rows as columns, cheaper (the gauges' read every second)."""
        return self._drift.weight_columns()

    def snapshot(self) -> EngineSnapshot:
        """A frozen view for metrics, health and status."""
        now = self._last_at
        return build_snapshot(
            now=now,
            run_id=self._run_id,
            cash=self._cash,
            positions=self._positions,
            drift=self._drift,
            desk=self._desk,
            gates=self._gates,
            quoted=self._quotes.keys(),
            symbols=self._config.symbols,
            trading_state=self._trading_state,
            last_decision=self._last_decision,
            decisions=self._decisions,
            run_round=self._run.round if self._run is not None else None,
            blockers=tuple(self.blockers(now)) if now is not None else ("no event yet",),
            counters=self._counters,
            lots_untrusted=self._lots.untrusted if self._config.tax.taxable else None,
            lots_state=self._lots.state if self._config.tax.taxable else "ok",
        )


__all__ = ["CHECK", "LOOKUP", "RESOLVE", "THROTTLE", "TIMEOUT", "Engine", "EngineSnapshot"]
