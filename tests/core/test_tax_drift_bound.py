"""The drift bound on the tax in the cost gate (``[tax] max_drift_band_multiple``): inside
N x its band an asset's sale may be vetoed for its tax; outside it the gate judges the run
on its trading costs alone, while never/wait/budget still cut the sells. Hand-computed.

The portfolio of test_tax_planning: VTI 70 shares and BND 30 at $100, no cash
(V = $10,000); targets VTI 60 %, BND 38 %, cash 2 %, bands +-5 pp, so VTI (70 %) is 10 pp
over its target: 2 x its band exactly. Its one lot, 70 shares bought 2026-06-01 for $1,400
($20 a share), is an $80 a share short-term gain. The tax-aware sale stops halfway between
the target and the band edge, 62.5 %: (7,000 - 6,250) / 100 = 7.5 shares, a short-term gain
of 7.5 x $80 = $600, taxed at 32 %: $192.00, which the run's benefit does not cover."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from daemon.core.config.reader import ConfigError, parse_config
from daemon.core.config.tax import AccountKind, TaxConfig
from daemon.core.config.values import Config, CostConfig
from daemon.core.model import Holdings, Quote, Side
from daemon.core.planning.plan import Plan
from daemon.core.planning.planner import plan_rebalance
from daemon.core.planning.valuation import value_portfolio
from daemon.core.tax.ledger import LotLedger, LotsOpened, replay
from daemon.core.tax.lots import Lot
from daemon.core.tax.policy import drift_bound, tax_policy
from tests.core.engine_scenario import make_config

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday, 10:00 New York
HOLD = Holdings(D(0), {"VTI": D(70), "BND": D(30)})
TAX_NOTE = "est. tax $192.00 (short-term gain $600.00, long-term $0.00)"


def quotes() -> dict[str, Quote]:
    return {s: Quote(s, 99.99, 100.01, NOW) for s in ("VTI", "BND")}


def lots() -> LotLedger:
    return replay([LotsOpened((Lot("VTI-0", "VTI", date(2026, 6, 1), D(70), D(1400)),
                               Lot("BND-0", "BND", date(2024, 1, 2), D(30), D(3000))))])


def gated(**kw: Any) -> Config:
    return replace(make_config(), cost=CostConfig(gate=True),
                   tax=TaxConfig(account=AccountKind.TAXABLE, wait_for_long_term_days=0, **kw))


def plan(config: Config, holdings: Holdings = HOLD) -> Plan:
    return plan_rebalance(config, holdings, quotes(), NOW, tax=tax_policy(config, lots(), NOW))


def sold(p: Plan) -> D:
    return sum((o.qty or D(0) for o in p.all_orders if o.symbol == "VTI" and o.side is Side.SELL),
               D(0))


def gate_figures(p: Plan) -> tuple[D, D]:
    """(est. trading cost, benefit) from the gate's note."""
    note = next(r for r in p.reasons if r.startswith("cost gate"))
    cost = re.search(r"est\. cost \$([\d,.]+)", note)
    benefit = re.search(r"benefit \$([\d,.]+)", note)
    assert cost and benefit, note
    return D(cost.group(1).replace(",", "")), D(benefit.group(1).replace(",", ""))


@pytest.mark.parametrize("multiple", [2.5, 2.0])  # the bound 72.5 %; 70 % (at it: inside)
def test_inside_the_bound_the_tax_vetoes_the_run(multiple: float) -> None:
    p = plan(gated(max_drift_band_multiple=multiple))
    assert p.all_orders == (), p.reasons
    note = next(r for r in p.reasons if r.startswith("cost gate on:"))
    assert TAX_NOTE in note and "no trade" in note and "not counted" not in note, note
    cost, benefit = gate_figures(p)
    assert cost <= benefit < cost + D("192.00")  # the tax, and only the tax, vetoes it


def test_outside_the_bound_the_gate_leaves_the_tax_out() -> None:
    p = plan(gated(max_drift_band_multiple=1.5))  # the bound 60 + 1.5 x 5 = 67.5 % < 70 %
    assert sold(p) == D("7.5"), p.reasons  # still the tax-aware sale, not the ~10 to target
    assert any("as far as the band needs" in r for r in p.reasons)
    note = next(r for r in p.reasons if r.startswith("cost gate on:"))
    assert note.endswith(": trade") and "no trade" not in note, note
    assert (f"{TAX_NOTE} not counted: VTI at 70.0% is outside 1.5x its band (55.0%-65.0%; "
            "the bound 67.5%) (max_drift_band_multiple)") in note, note
    cost, benefit = gate_figures(p)
    assert cost <= benefit < cost + D("192.00")  # the same run the tax vetoed above


def test_no_bound_keeps_the_tax_in_the_gate() -> None:
    # VTI 90 % (6 x its band over): the sale to 62.5 % is 27.5 shares, a short-term gain of
    # 27.5 x $80 = $2,200, taxed $704.00; counted with no bound, left out with the default
    far = Holdings(D(0), {"VTI": D(90), "BND": D(10)})
    tax = "est. tax $704.00 (short-term gain $2,200.00, long-term $0.00)"
    for c, counted in ((gated(max_drift_band_multiple=None), True), (gated(), False)):
        p = plan_rebalance(c, far, quotes(), NOW, tax=tax_policy(c, lots_of(90), NOW))
        note = next(r for r in p.reasons if r.startswith("cost gate"))
        assert tax in note and ("not counted" not in note) is counted, note


def lots_of(vti: int) -> LotLedger:
    return replay([LotsOpened((Lot("VTI-0", "VTI", date(2026, 6, 1), D(vti), D(20 * vti)),
                               Lot("BND-0", "BND", date(2024, 1, 2), D(100 - vti),
                                   D(100 * (100 - vti)))))])


def test_never_means_never_outside_the_bound_too() -> None:
    p = plan(gated(max_drift_band_multiple=1.5, never_realize_short_term_gains=True))
    assert sold(p) == 0 and p.all_orders == (), p.reasons
    assert any("never_realize_short_term_gains" in r for r in p.reasons), p.reasons


def test_the_budget_still_caps_the_gain_outside_the_bound() -> None:
    # $100 of budget at $80 a share of short-term gain: 1.25 shares at most
    p = plan(gated(max_drift_band_multiple=1.5, annual_gain_budget=D(100)))
    assert abs(sold(p) - D("1.25")) <= D("1e-8"), p.reasons
    assert any("not counted" in r for r in p.reasons), p.reasons  # the bound, but cut
    assert any("annual gain budget $100.00 is used up" in r for r in p.reasons), p.reasons


def test_the_bound_on_either_side_of_the_target() -> None:
    # VTI 62 %, BND 27 %, cash $1,100: BND is 11 pp under its 38 % target, band 33-43 %
    config = make_config()
    pf = value_portfolio(config, Holdings(D(1100), {"VTI": D(62), "BND": D(27)}), quotes(), NOW)
    assert pf.value == pytest.approx(10_000)
    assert drift_bound(pf.rows, pf.value, 2.0) == (
        "BND at 27.0% is outside 2x its band (33.0%-43.0%; the bound 28.0%)")
    assert drift_bound(pf.rows, pf.value, 2.5) is None  # the bound 38 - 12.5 = 25.5 %
    assert drift_bound(pf.rows, pf.value, None) is None
    assert drift_bound(pf.rows, 0.0, 1.0) is None


def problems(tax: dict[str, Any]) -> list[str]:
    doc = {"portfolio": {"cash_target": 2, "targets": {"VTI": 60, "BND": 38}}, "tax": tax}
    with pytest.raises(ConfigError) as info:
        parse_config(doc)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def test_the_key_parses_and_its_range_is_checked() -> None:
    doc: dict[str, Any] = {"portfolio": {"cash_target": 2, "targets": {"VTI": 60, "BND": 38}}}
    assert parse_config(doc).tax.max_drift_band_multiple == 2.0
    tax = {"account": "taxable"}
    assert parse_config({**doc, "tax": tax}).tax.max_drift_band_multiple == 2.0
    assert parse_config({**doc, "tax": {**tax, "max_drift_band_multiple": 3}}
                        ).tax.max_drift_band_multiple == 3.0
    assert parse_config({**doc, "tax": {**tax, "max_drift_band_multiple": False}}
                        ).tax.max_drift_band_multiple is None
    for bad, words in ((0.5, "≥ 1"), (25, "≤ 20"), ("2", "without quotes"), (True, "")):
        found = problems({**tax, "max_drift_band_multiple": bad})
        assert any(p.startswith("tax.max_drift_band_multiple:") and words in p
                   for p in found), found
