"""The break-even drift tables in docs/how-rebalanced-decides.md, recomputed.

Each cell is found again by bisection on the real planner (the smallest stock overweight of a
60/40 portfolio at which the default gate lets the rebalance through) and must match the
published figure within 0.05 pp; the analytic x = 4h / (λ·s²·H) is checked beside it for
the largest account (where cents no longer matter)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from daemon.core.config.values import AssetConfig, Config, CostConfig, PortfolioConfig
from daemon.core.model import Holdings, Quote
from daemon.core.planning.planner import plan_rebalance

DOC = Path(__file__).resolve().parents[2] / "docs" / "how-rebalanced-decides.md"
NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
EXAMPLE_COV = {
    ("VTI", "VTI"): 1e-4,
    ("BND", "BND"): 1e-5,
    ("VTI", "BND"): 4e-6,
    ("BND", "VTI"): 4e-6,
}
VALUES = (10_000.0, 100_000.0, 1_000_000.0)


def tables() -> list[dict[float, list[float]]]:
    """The two tables: half-spread (bp) → break-even drift (pp) per value."""
    text = DOC.read_text(encoding="utf-8")
    out: list[dict[float, list[float]]] = []
    for block in re.findall(r"\| half-spread \|.*?\n((?:\|.*\n)+)", text):
        rows: dict[float, list[float]] = {}
        for line in block.splitlines()[1:]:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[float(cells[0].split()[0])] = [float(c.split()[0]) for c in cells[1:]]
        out.append(rows)
    return out


def trades(drift: float, value: float, half_spread: float, cov: dict[tuple[str, str], float]) -> bool:
    config = Config(
        PortfolioConfig(assets=(AssetConfig("VTI", 0.6), AssetConfig("BND", 0.4))),
        cost=CostConfig(covariance=cov),
    )
    h = half_spread * 100
    quotes = {s: Quote(s, 100 - h, 100 + h, NOW) for s in ("VTI", "BND")}
    holdings = Holdings(
        D(0),
        {
            "VTI": D(repr(round((0.6 + drift) * value / 100, 9))),
            "BND": D(repr(round((0.4 - drift) * value / 100, 9))),
        },
    )
    return bool(plan_rebalance(config, holdings, quotes, NOW).orders)


def break_even(value: float, half_spread: float, cov: dict[tuple[str, str], float]) -> float:
    lo, hi = 0.0, 0.39
    assert trades(hi, value, half_spread, cov) and not trades(lo, value, half_spread, cov)
    for _ in range(24):
        mid = (lo + hi) / 2
        if trades(mid, value, half_spread, cov):
            hi = mid
        else:
            lo = mid
    return hi * 100  # percentage points


@pytest.mark.parametrize(("table", "cov", "s2"), [(0, {}, 2 * 0.015**2), (1, EXAMPLE_COV, 1.02e-4)])
def test_the_published_break_even_drifts_are_the_planners(
    table: int, cov: dict[tuple[str, str], float], s2: float
) -> None:
    published = tables()[table]
    assert sorted(published) == [1.0, 5.0, 20.0]
    for bp, cells in published.items():
        for value, figure in zip(VALUES, cells, strict=True):
            found = break_even(value, bp / 10_000, cov)
            assert abs(found - figure) <= 0.05, (bp, value, found, figure)
        analytic = 4 * (bp / 10_000) / (2 * s2 * 252) * 100
        assert abs(cells[-1] - analytic) <= 0.02 + 0.05 * analytic, (bp, cells[-1], analytic)
