"""The deciding half of the Engine: triggers → plan → a run of rounds.

A decision that yields orders opens a *run*; no new decision starts until every order of the
run is terminal. One gate per run: round 1 judges the whole run (its sells and the buys they
fund) and places the sells and the buys cash on hand pays for (``engine_plans``); when they
are done and something filled, a follow-up round re-plans, not gated again (sell proceeds
are now cash), at most ``execution.max_rounds`` rounds. A symbol whose order was rejected
is not planned again within the run (never retried blindly).

``Deciding`` is a base of ``Engine`` (``engine.py`` holds the event handlers, timers and
sending); the attributes it reads are the engine's, declared below for the type checker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from daemon.core.commands import Command, RecordDecision
from daemon.core.config.values import Config
from daemon.core.engine.desk import OrderDesk
from daemon.core.engine.harvesting import Harvesting
from daemon.core.engine.holds import Holds
from daemon.core.engine.market_data import Gates, MarketData
from daemon.core.engine.rounds import engine_plan
from daemon.core.engine.view import DecisionInfo
from daemon.core.model import Holdings, Quote, Side, TradingState
from daemon.core.orders.ids import decision_id
from daemon.core.orders.lifecycle import OrderBook, TrackedOrder
from daemon.core.planning.plan import Plan
from daemon.core.tax.live_lots import LiveLots
from daemon.core.triggers.drift import DriftTracker
from daemon.core.triggers.rules import TriggerState, evaluate, record_run

_ZERO = Decimal(0)


@dataclass(slots=True)
class Run:
    """One run: its first decision, the round it is in, the orders it sent."""

    decision_id: str
    round: int
    coids: list[str] = field(default_factory=list)
    had_sells: bool = False
    had_fills: bool = False
    rejected: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)  # coids, for O(1) membership
    settled: int = 0  # coids[:settled] are terminal (a terminal state never changes)

    def add(self, sent: list[str]) -> None:
        self.coids.extend(sent)
        self.members.update(sent)

    def all_terminal(self, orders: Mapping[str, TrackedOrder]) -> bool:
        """Whether every order of the run is terminal; each fill asks, so the orders
        already known terminal are not looked at again (O(orders) over a whole run)."""
        coids, k = self.coids, self.settled
        while k < len(coids) and orders[coids[k]].state.terminal:
            k += 1
        self.settled = k
        return k == len(coids)


class Deciding(Harvesting):
    # the Engine's state this half reads and writes (set in Engine.__init__)
    _config: Config
    _run_id: str
    _cash: Decimal | None
    _positions: dict[str, Decimal]
    _drift: DriftTracker
    _market: MarketData
    _gates: Gates
    _holds: Holds
    _lots: LiveLots
    _desk: OrderDesk
    _book: OrderBook
    _triggers: TriggerState
    _trading_state: TradingState
    _decisions: int
    _run: Run | None
    _follow_up: Run | None
    _last_skipped: bool
    _last_decision: DecisionInfo | None

    if TYPE_CHECKING:  # the Engine's, used here

        def blockers(self, now: datetime, *, need_quotes: bool = True) -> list[str]: ...

        def quotes(self) -> dict[str, Quote]: ...

        def _pump(self, now: datetime) -> list[Command]: ...

    def _decide(self, now: datetime, *, force: bool, record: bool = False) -> list[Command]:
        """Start a run if the triggers (or ``force``) and the hard limits allow. ``record``:
        record the decision even when no run starts (not triggered, or blocked)."""
        if self._follow_up is not None:
            return self._try_follow_up(now)
        if self._run is not None:
            return []
        blockers = self.blockers(now)
        cash = self._cash or _ZERO
        minimum = max(self._config.cost.min_trade_dollars, self._config.planner.min_order_notional)
        quiet = not force and self._holds.quiet(minimum, self._drift.portfolio_value)
        if (blockers or quiet) and not record:
            return []  # (quiet: a minimum that can never be met was reported once)
        if not blockers and not record and (harvest := self._harvest(now)) is not None:
            return harvest  # a tax-loss harvest or its return: a run of its own
        out = self._holds.still_out(self._drift.out_of_band(), self._positions, cash)
        rows = self._drift.rows() if out else None  # only the threshold reasons read them
        d = evaluate(self._config, now, out, self._gates.sessions, self._triggers, rows)
        if force:
            reasons: tuple[str, ...] = ("manual request (force)",)
            calendar = False
            blocked: tuple[str, ...] = tuple(blockers)
        else:
            reasons, calendar = d.reasons, d.calendar
            blocked = (*blockers, *(b for b in d.blocked if b not in blockers))
        if blocked or not (force or d.triggered):
            if not record:
                return []
            if not reasons:
                reasons = ("no trigger: every asset is inside its band and no calendar date is due",)
            return self._record_only(now, reasons, blocked)
        self._triggers = record_run(self._triggers, now, self._config.trigger.timezone, calendar)
        return self._start_round(now, reasons, 1, set())

    def _record_only(self, now: datetime, reasons: tuple[str, ...], blocked: tuple[str, ...]) -> list[Command]:  # fmt: skip
        """A decision that starts no run: the weights, what was due and what blocked it."""
        plan = replace(self._plan(now, reasons, set(), gate=True, triggered=False), blocked=blocked)
        did = decision_id(self._run_id, self._decisions)
        self._decisions += 1
        self._last_decision = DecisionInfo(did, now, False, plan.reasons, 0, 1)
        return [RecordDecision(did, plan)]

    def _price(self, symbol: str) -> Decimal | None:
        p = self._drift.price(symbol)
        return None if p is None else Decimal(repr(p))

    def _start_round(
        self, now: datetime, reasons: tuple[str, ...], round_no: int, rejected: set[str]
    ) -> list[Command]:
        # one gate per run: the first round judges the whole run (its sells and the buys
        # they fund); later rounds complete an approved run and are not judged again
        plan = self._plan(now, reasons, rejected, gate=round_no == 1)
        did = decision_id(self._run_id, self._decisions)
        self._decisions += 1
        self._last_decision = DecisionInfo(did, now, True, plan.reasons, len(plan.orders), round_no)
        cmds: list[Command] = [RecordDecision(did, plan)]
        self._holds.note(plan, self._positions, self._cash or _ZERO)
        self._last_skipped = bool(plan.skipped)
        orders = sorted(plan.orders, key=lambda o: o.side is not Side.SELL)  # stable
        if orders:
            self._run = Run(
                did, round_no, rejected=rejected, had_sells=any(o.side is Side.SELL for o in orders)
            )
            self._desk.enqueue(orders, did)
            cmds.extend(self._pump(now))
            cmds.extend(self._settle_run(now))
        return cmds

    def _plan(
        self, now: datetime, reasons: tuple[str, ...], rejected: set[str], *, gate: bool,
        triggered: bool = True,
    ) -> Plan:  # fmt: skip
        return engine_plan(
            self._config, Holdings(self._cash or _ZERO, dict(self._positions)), self.quotes(),
            now, reasons, self._desk.pending(self._price), rejected=rejected,
            halted=self._gates.halted_symbols, reducing=self._trading_state is TradingState.REDUCING,
            gate=gate, triggered=triggered, covariance=self._market.market_covariance(),
            lots=self._lots.ledger, lots_untrusted=self._lots.untrusted,
        )  # fmt: skip

    def _settle_run(self, now: datetime) -> list[Command]:
        """Close the run once its orders are all terminal; maybe plan a follow-up round."""
        run = self._run
        if run is None or self._desk.queue:
            return []
        if not run.all_terminal(self._book.orders):
            return []
        self._run = None
        if (
            run.round < self._config.execution.max_rounds
            and run.had_fills
            and (run.had_sells or self._drift.any_out_of_band)
        ):
            self._follow_up = run
            return self._try_follow_up(now)
        return []

    def _try_follow_up(self, now: datetime) -> list[Command]:
        """Plan the next round of a finished run. If that plan skipped a symbol (a stale
        quote, say) and placed nothing, try again at the next check or breach while rounds
        remain; a blocker ends the run instead."""
        prev = self._follow_up
        self._follow_up = None
        if prev is None or self._run is not None or self.blockers(now):
            return []
        round_no = prev.round + 1
        reason = f"follow-up round {round_no} of run {prev.decision_id}"
        cmds = self._start_round(now, (reason,), round_no, prev.rejected)
        if (
            self._run is None
            and self._last_skipped
            and round_no < self._config.execution.max_rounds
        ):
            self._follow_up = Run(
                prev.decision_id,
                round_no,
                had_fills=True,
                had_sells=prev.had_sells,
                rejected=prev.rejected,
            )
        return cmds


__all__ = ["Deciding", "Run"]
