"""The Engine's one call of the planner: a round of a run, or a decision that starts none.

Buys are planned from cash on hand (``fund_from_sells=False``): the plan's ``orders`` are
what can go out now, its ``run_orders`` the whole run (sells and the buys they fund), which
the first round's gate judges once (``gate``); later rounds are not judged again.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import datetime
from decimal import Decimal

from daemon.core.config.values import Config
from daemon.core.model import Holdings, Quote
from daemon.core.planning.benefit import MarketCovariance
from daemon.core.planning.plan import Plan
from daemon.core.planning.planner import plan_rebalance
from daemon.core.tax.ledger import LotLedger
from daemon.core.tax.policy import tax_policy

REJECTED = "rejected by the broker earlier in this run"
HALTED = "halted by the venue"


def engine_plan(
    config: Config,
    holdings: Holdings,
    quotes: Mapping[str, Quote],
    now: datetime,
    reasons: tuple[str, ...],
    pending: tuple[Decimal, dict[str, Decimal]],
    *,
    rejected: Set[str],
    halted: Set[str],
    reducing: bool,
    gate: bool,
    triggered: bool,
    covariance: MarketCovariance | None,
    lots: LotLedger | None = None,
    lots_untrusted: str | None = None,
) -> Plan:
    """The plan for a round (``triggered``) or for a recorded non-decision. ``pending``:
    (cash reserved by open buys, signed shares pending per symbol); ``lots_untrusted``: why
    the lots cannot be trusted (``LiveLots.untrusted``; the tax policy then cuts nothing)."""
    return plan_rebalance(
        config,
        holdings,
        quotes,
        now,
        triggered=triggered,
        reasons=reasons,
        reserved_cash=pending[0],
        pending_qty=pending[1],
        halted={
            **dict.fromkeys(sorted(rejected), REJECTED),
            **dict.fromkeys(sorted(halted), HALTED),
        },
        sells_only=reducing,
        fund_from_sells=False,
        gate=gate,
        covariance=covariance,
        tax=None if lots is None else tax_policy(config, lots, now, lots_untrusted),
    )


__all__ = ["engine_plan"]
