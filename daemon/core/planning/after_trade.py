"""What a plan leaves behind: the weights once its orders fill, and what the move is worth.

Both walk every row of the portfolio, in numpy (see ``arrays``): each row's shares added in
order from 0 (``np.add.at``), the totals summed one by one (``seq_sum``), the differences
``w − t`` and ``w' − t`` the same float operations row by row as a loop makes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from daemon.core.config.values import Config
from daemon.core.model import CASH
from daemon.core.planning import valuation as F
from daemon.core.planning.arrays import Floats, seq_sum
from daemon.core.planning.benefit import Covariance, MarketCovariance, benefit_parts
from daemon.core.planning.costs import sigma_for
from daemon.core.planning.market_rows import Market
from daemon.core.planning.sizing import Emitted, dollars
from daemon.core.planning.valuation import Portfolio


def weights_after(
    pf: Portfolio, market: Market, orders: Sequence[Emitted], n_sells: int
) -> tuple[dict[str, float], Floats]:
    """Expected weights once every order fills at its limit price (a notional buy: at the
    ask), with estimated costs taken from cash; positions valued at the valuation price.
    ``orders`` are the sells, then the buys. Also the weights per row of ``pf``, an array.
    In numpy: each row's shares added in order from 0 (``np.add.at``), the total summed
    one by one (``seq_sum``), as the loop over a dict did."""
    sells, buys = orders[:n_sells], orders[n_sells:]
    cents = sum([o.notional_cents - o.cost_cents for o in sells]) - sum(
        [o.notional_cents + o.cost_cents for o in buys]
    )
    cash = float(pf.weight_cash_dec + dollars(cents, orders))
    rows = pf.rows
    cols = pf.columns()  # the valuation's figures per row
    if cols is not None:
        values = cols.array(F.VALUE)
    else:
        values = np.array([r.value for r in rows], dtype=np.float64)
    if orders:
        where = market.pf_index
        at = np.array([where[o.draft.row] for o in orders], dtype=np.intp)
        shares = np.array([o.shares for o in orders], dtype=np.float64)
        shares[:n_sells] = -shares[:n_sells]  # 0.0 − shares: the same float as −shares
        delta = np.zeros(len(rows))
        np.add.at(delta, at, shares)
        if cols is not None:
            price = cols.array(F.PRICE)
        else:
            price = np.array([0.0 if r.price is None else r.price for r in rows], dtype=np.float64)
        moved = np.zeros(len(rows), dtype=bool)
        moved[at] = True
        values = np.where(moved, values + delta * price, values)
    total = cash + seq_sum(values)
    symbols = cols[F.SYMBOL] if cols is not None else [r.symbol for r in rows]
    if total <= 0:
        return {**dict.fromkeys(symbols, 0.0), CASH: 0.0}, np.zeros(len(rows))
    weights = values / total
    out = dict(zip(symbols, weights.tolist(), strict=True))
    out[CASH] = cash / total
    return out, weights


def benefit_of_plan(
    config: Config,
    pf: Portfolio,
    market: Market,
    after: Mapping[str, float],
    after_w: Floats,
    covariance: MarketCovariance | None,
) -> tuple[float, float]:
    """(risk, cash drag) gains of moving from the current weights (``pf``'s, value > 0) to
    ``after`` (``benefit``);
    ``after_w``: the weights after, per row of ``pf``. The rows that count in drift, as
    arrays (d = w − t, e = w' − t: the same float operations row by row)."""
    rows = pf.rows
    idx = [k for k, r in enumerate(rows) if r.counts_in_drift and r.price is not None]
    cols = pf.columns()
    if cols is not None and len(idx) == len(rows):  # the valuation's figures (σ by
        # ``market_row``: ``sigma_for``'s rule)
        symbols: Sequence[str] = cols[F.SYMBOL]
        sigmas = dict(zip(symbols, cols[F.SIGMA], strict=True))
        values = cols.array(F.VALUE)
        target = np.where(cols.array(F.LIQUIDATE, bool), 0.0, cols.array(F.TARGET))
    else:
        sigmas = dict(zip([r.symbol for r in market.rows], market.sigma, strict=True))
        symbols = [rows[k].symbol for k in idx]
        for k, sym in zip(idx, symbols, strict=True):
            if sym not in sigmas:
                r = rows[k]
                sigmas[sym] = sigma_for(config, sym, r.quote, r.asset)
        values = np.array([rows[k].value for k in idx], dtype=np.float64)
        target = np.array([0.0 if rows[k].liquidate else rows[k].target for k in idx], dtype=np.float64)
    d = values / pf.value - target  # current[sym] − target
    e = after_w[np.asarray(idx, dtype=np.intp)] - target
    cov = Covariance(config, sigmas, covariance)
    now = pf.weight_cash / pf.value  # Plan.weights[CASH].current
    cash = (now, after.get(CASH, now))
    mean = market.tables.mean_return
    return benefit_parts(config, symbols, d, e, cash, pf.value, cov, mean)
