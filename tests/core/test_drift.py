"""DriftTracker: weights, bands (5/25 rule), portfolio drift, and the O(1) breach test
checked against a brute-force recomputation."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from daemon.core.config.values import AssetConfig, Band, BandRule, Config, PortfolioConfig
from daemon.core.model import CASH, Holdings
from daemon.core.triggers.bands import asset_limits, band_limits
from daemon.core.triggers.drift import DriftTracker

FIVE_25 = Band(absolute=0.05, relative=0.25, rule=BandRule.EITHER)


def make_config(
    targets: dict[str, float],
    band: Band = FIVE_25,
    cash_target: float = 0.0,
    cash_band: Band | None = None,
    overrides: dict[str, Band] | None = None,
    excluded: frozenset[str] = frozenset(),
) -> Config:
    overrides = overrides or {}
    assets = tuple(AssetConfig(s, t, band=overrides.get(s, band)) for s, t in targets.items())
    return Config(
        portfolio=PortfolioConfig(
            assets=assets,
            cash_target=cash_target,
            cash_band=cash_band if cash_band is not None else Band(absolute=1.0, relative=None),
            excluded=excluded,
        ),
        bands=band,
    )


def test_published_example_25_25_25_25_vs_30_20_30_20_is_10_percent() -> None:
    config = make_config({"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25})
    holdings = Holdings(
        cash=Decimal(0),
        positions={"A": Decimal(30), "B": Decimal(20), "C": Decimal(30), "D": Decimal(20)},
    )
    tracker = DriftTracker(config, holdings, {"A": 10.0, "B": 10.0, "C": 10.0, "D": 10.0})
    assert tracker.portfolio_value == pytest.approx(1000.0)
    assert tracker.weight("A") == pytest.approx(0.30)
    assert tracker.weight("B") == pytest.approx(0.20)
    assert tracker.portfolio_drift() == pytest.approx(0.10)
    # 5/25 on a 25 % target: ±5 pp (relative would be ±6.25 pp) → 30 % and 20 % sit on the edge
    assert not tracker.any_out_of_band
    assert tracker.out_of_band() == []
    assert tracker.update_quote("A", 10.1, 10.1) is True  # A rises past 30 %, B/D fall below 20 %
    assert tracker.any_out_of_band
    assert tracker.out_of_band()[0] == "A"
    assert set(tracker.out_of_band()) == {"A", "B", "D"}


@pytest.mark.parametrize(
    ("target", "band", "expected"),
    [
        (0.60, FIVE_25, (0.55, 0.65)),  # large target: absolute 5 pp is narrower
        (0.10, FIVE_25, (0.075, 0.125)),  # small target: relative 25 % (2.5 pp) is narrower
        (0.20, FIVE_25, (0.15, 0.25)),  # tie: both are 5 pp
        (0.10, Band(absolute=0.05, relative=None, rule=BandRule.EITHER), (0.05, 0.15)),
        (0.10, Band(absolute=0.05, relative=0.25, rule=BandRule.ABSOLUTE), (0.05, 0.15)),
        (0.60, Band(absolute=0.05, relative=0.25, rule=BandRule.RELATIVE), (0.45, 0.75)),
        (0.02, Band(absolute=0.05, relative=None, rule=BandRule.ABSOLUTE), (0.0, 0.07)),
    ],
)
def test_five_25_rule_band_limits(target: float, band: Band, expected: tuple[float, float]) -> None:
    lo, hi = band_limits(target, band)
    assert lo == pytest.approx(expected[0])
    assert hi == pytest.approx(expected[1])


def test_five_25_rule_small_asset_breaches_on_relative_band_first() -> None:
    # 10 % asset: relative band is ±2.5 pp, so 13 % is out although it is within 5 pp
    config = make_config({"BIG": 0.90, "SMALL": 0.10})
    holdings = Holdings(cash=Decimal(0), positions={"BIG": Decimal(87), "SMALL": Decimal(13)})
    tracker = DriftTracker(config, holdings, {"BIG": 1.0, "SMALL": 1.0})
    rows = tracker.rows()
    assert rows["SMALL"].high == pytest.approx(0.125)
    assert rows["BIG"].low == pytest.approx(0.85)
    assert not rows["SMALL"].in_band
    assert rows["BIG"].in_band  # 87 % is inside 85–95 %
    assert tracker.out_of_band() == ["SMALL"]


def test_per_asset_override_band() -> None:
    wide = Band(absolute=0.10, relative=None, rule=BandRule.ABSOLUTE)
    config = make_config({"A": 0.5, "B": 0.5}, overrides={"A": wide})
    tracker = DriftTracker(
        config, Holdings(Decimal(0), {"A": Decimal(57), "B": Decimal(43)}), {"A": 1.0, "B": 1.0}
    )
    rows = tracker.rows()
    assert (rows["A"].low, rows["A"].high) == pytest.approx((0.40, 0.60))
    assert (rows["B"].low, rows["B"].high) == pytest.approx((0.45, 0.55))
    assert tracker.out_of_band() == ["B"]  # A at 57 % is inside its wider band


def test_cash_has_its_own_band_and_fills_move_it() -> None:
    config = make_config(
        {"A": 0.9},
        cash_target=0.10,
        cash_band=Band(absolute=0.02, relative=None, rule=BandRule.ABSOLUTE),
    )
    tracker = DriftTracker(config, Holdings(Decimal(100), {"A": Decimal(9)}), {"A": 100.0})
    assert tracker.weight(CASH) == pytest.approx(0.10)
    assert not tracker.any_out_of_band
    tracker.apply_fill("A", Decimal("0.5"), Decimal("-50"))  # cash 50 of 1000 = 5 %
    assert tracker.weight(CASH) == pytest.approx(0.05)
    assert tracker.quantity("A") == Decimal("9.5")
    assert tracker.cash == Decimal(50)
    assert tracker.any_out_of_band
    assert tracker.out_of_band() == [CASH]  # A: 95 % inside 85–95 % (5 pp edge)
    assert CASH in tracker.rows()
    assert tracker.portfolio_drift() == pytest.approx(0.05)


def test_excluded_and_untargeted_holdings_count_in_value_without_a_band() -> None:
    config = make_config({"A": 0.5, "X": 0.5}, excluded=frozenset({"X"}))
    holdings = Holdings(Decimal(0), {"A": Decimal(50), "X": Decimal(30), "OLD": Decimal(20)})
    tracker = DriftTracker(config, holdings, {"A": 1.0, "X": 1.0, "OLD": 1.0})
    assert tracker.portfolio_value == pytest.approx(100.0)
    assert tracker.weight("OLD") == pytest.approx(0.20)
    assert set(tracker.rows()) == {"A", CASH}
    assert tracker.out_of_band() == []  # A is exactly at 50 %; X and OLD have no band
    tracker.update_quote("OLD", 2.0, 2.0)  # OLD doubles: A falls to 50/120 ≈ 41.7 %
    assert tracker.out_of_band() == ["A"]
    assert tracker.any_out_of_band


def test_missing_price_is_valued_at_zero_and_reported() -> None:
    config = make_config({"A": 0.5, "B": 0.5})
    tracker = DriftTracker(
        config, Holdings(Decimal(0), {"A": Decimal(10), "B": Decimal(10)}), {"A": 5.0}
    )
    assert tracker.missing_prices() == ["B"]
    assert tracker.price("B") is None
    assert tracker.portfolio_value == pytest.approx(50.0)
    assert tracker.out_of_band() == ["A", "B"]  # A looks like 100 %, B like 0 %
    assert tracker.update_quote("B", 4.9, 5.1) is False  # the breach clears
    assert tracker.missing_prices() == []
    assert tracker.price("B") == pytest.approx(5.0)
    assert tracker.portfolio_value == pytest.approx(100.0)
    assert not tracker.any_out_of_band


@pytest.mark.parametrize(
    ("bid", "ask"),
    [(10.2, 10.1), (0.0, 10.0), (-1.0, 10.0), (math.nan, 10.0), (10.0, math.inf)],
)
def test_bad_quotes_are_ignored(bid: float, ask: float) -> None:
    config = make_config({"A": 1.0})
    tracker = DriftTracker(config, Holdings(Decimal(0), {"A": Decimal(1)}), {"A": 10.0})
    assert tracker.update_quote("A", bid, ask) is False
    assert tracker.price("A") == 10.0
    assert tracker.portfolio_value == pytest.approx(10.0)


def test_quote_before_holding_is_remembered_for_a_later_fill() -> None:
    config = make_config({"A": 0.5, "B": 0.5})
    tracker = DriftTracker(config, Holdings(Decimal(100)), {})
    assert tracker.update_quote("NEW", 1.99, 2.01) is False
    tracker.apply_fill("NEW", Decimal(10), Decimal(-20))
    assert tracker.portfolio_value == pytest.approx(100.0)
    assert tracker.weight("NEW") == pytest.approx(0.2)


def test_set_holdings_replaces_everything() -> None:
    config = make_config({"A": 0.5, "B": 0.5})
    tracker = DriftTracker(
        config, Holdings(Decimal(0), {"A": Decimal(90), "B": Decimal(10)}), {"A": 1.0, "B": 1.0}
    )
    assert tracker.any_out_of_band
    tracker.set_holdings(Holdings(Decimal(0), {"A": Decimal(50), "B": Decimal(50)}))
    assert not tracker.any_out_of_band
    assert tracker.portfolio_drift() == pytest.approx(0.0)


def test_bad_config_is_named() -> None:
    with pytest.raises(ValueError, match="reserved for cash"):
        DriftTracker(make_config({CASH: 1.0}), Holdings(Decimal(0)))
    with pytest.raises(ValueError, match="reserved for cash"):
        DriftTracker(make_config({"A": 1.0}), Holdings(Decimal(0), {CASH: Decimal(1)}))


def test_zero_value_portfolio_has_no_breach() -> None:
    tracker = DriftTracker(make_config({"A": 1.0}), Holdings(Decimal(0)), {"A": 1.0})
    assert tracker.portfolio_value == 0.0
    assert not tracker.any_out_of_band
    assert tracker.out_of_band() == []
    assert tracker.weight("A") == 0.0


# -- exactness: the O(1) breach test against brute force ---------------------------------

SYMS = ["A", "B", "C", "D", "E", "U"]  # U is held but has no target
BANDS = [
    FIVE_25,
    Band(absolute=0.02, relative=None, rule=BandRule.ABSOLUTE),
    Band(absolute=None, relative=0.10, rule=BandRule.RELATIVE),
]
price_st = st.floats(min_value=0.5, max_value=200.0, allow_nan=False)
factor_st = st.floats(min_value=0.85, max_value=1.18, allow_nan=False)
perturb_st = st.floats(min_value=0.95, max_value=1.05, allow_nan=False)

quote_op = st.tuples(st.just("quote"), st.sampled_from(SYMS), factor_st, st.floats(0.0, 0.02))
op_st = st.one_of(
    # (kind, symbol, price factor or share fraction, spread or fill price factor)
    quote_op,
    quote_op,
    quote_op,
    st.tuples(st.just("fill"), st.sampled_from(SYMS), st.floats(-0.3, 0.3), factor_st),
    st.tuples(st.just("bad"), st.sampled_from(SYMS), factor_st, st.floats(0.01, 1.0)),
)


def brute_force(
    config: Config, qty: dict[str, Decimal], cash: Decimal, px: dict[str, float]
) -> tuple[set[str], set[str]]:
    """(out of band, ambiguous): ambiguous assets sit within rounding of a band edge."""
    mv = {s: float(q) * px.get(s, 0.0) for s, q in qty.items()}
    value = math.fsum([*mv.values(), float(cash)])
    out: set[str] = set()
    near: set[str] = set()
    if value <= 0:
        return out, near
    limits = {a.symbol: (a.target, asset_limits(a)) for a in config.portfolio.assets}
    limits[CASH] = (0.0, band_limits(config.portfolio.cash_target, config.portfolio.cash_band))
    for s, (_t, (lo, hi)) in limits.items():
        m = float(cash) if s == CASH else mv.get(s, 0.0)
        w = m / value
        if w < lo or w > hi:
            out.add(s)
        if m != 0.0 and min(abs(w - lo), abs(w - hi)) <= 1e-9:
            near.add(s)  # a nonzero weight within rounding of an edge: either answer is fair
    return out, near


@settings(max_examples=150, deadline=None)
@given(
    targets=st.lists(st.integers(0, 10), min_size=5, max_size=5),
    cash_weight=st.integers(0, 3),
    bands=st.lists(st.sampled_from(BANDS), min_size=6, max_size=6),
    start_px=st.lists(price_st, min_size=6, max_size=6),
    perturb=st.lists(perturb_st, min_size=7, max_size=7),
    ops=st.lists(op_st, max_size=60),
)
def test_breach_flag_matches_brute_force(
    targets: list[int],
    cash_weight: int,
    bands: list[Band],
    start_px: list[float],
    perturb: list[float],
    ops: list[tuple[str, str, float, float]],
) -> None:
    total = sum(targets) + cash_weight + 1  # + 1: the untargeted holding U
    config = Config(
        portfolio=PortfolioConfig(
            assets=tuple(
                AssetConfig(s, t / total, band=b)
                for s, t, b in zip(SYMS[:5], targets, bands, strict=False)
            ),
            cash_target=cash_weight / total,
            cash_band=bands[5],
        )
    )
    # start near the targets (so bands are crossed both ways), U without a price at first
    value0 = 100_000.0
    weights = [t / total for t in targets] + [1 / total]
    qty = {
        s: Decimal(round(w * value0 / p * k))
        for s, w, p, k in zip(SYMS, weights, start_px, perturb, strict=False)
    }
    cash = Decimal(round(cash_weight / total * value0 * perturb[6]))
    px = dict(zip(SYMS[:5], start_px, strict=False))
    tracker = DriftTracker(config, Holdings(cash, dict(qty)), px)

    def check() -> None:
        out, near = brute_force(config, qty, cash, px)
        got = set(tracker.out_of_band())
        event(f"{len(out)} out of band")
        event(f"{len(near)} near an edge")
        assert got - near == out - near
        if not near:
            assert tracker.any_out_of_band == bool(out)
        assert tracker.portfolio_value == pytest.approx(
            math.fsum([float(q) * px.get(s, 0.0) for s, q in qty.items()] + [float(cash)]),
            rel=1e-9,
            abs=1e-6,
        )

    check()
    for kind, sym, x, y in ops:
        before, near_before = brute_force(config, qty, cash, px)
        last = px.get(sym, start_px[SYMS.index(sym)])
        if kind == "quote":
            mid = last * x
            flagged = tracker.update_quote(sym, mid * (1 - y), mid * (1 + y))
            px[sym] = mid
            after, near_after = brute_force(config, qty, cash, px)
            if not near_before and not near_after:
                if not before and after:
                    event("fresh breach")
                    assert flagged, "a fresh breach must be signalled"
                if not after:
                    assert not flagged
        elif kind == "bad":
            assert tracker.update_quote(sym, last * (1 + y), last) is False  # crossed
        else:
            delta = Decimal(round(float(qty[sym]) * x + x * 10))
            if qty[sym] + delta < 0:
                delta = -qty[sym]
            price = Decimal(str(round(last * y, 2)))
            qty[sym] += delta
            cash -= delta * price
            tracker.apply_fill(sym, delta, -delta * price)
        check()


@settings(max_examples=100, deadline=None)
@given(
    targets=st.lists(st.integers(1, 10), min_size=8, max_size=8),
    band=st.sampled_from(BANDS),
    perturb=st.lists(st.floats(0.9, 1.1), min_size=8, max_size=8),
    quotes=st.lists(  # factor 1.0: the same mid again (a size-only quote)
        st.tuples(st.integers(0, 7), st.one_of(st.floats(0.9, 1.1), st.just(1.0))),
        min_size=50,
        max_size=150,
    ),
)
def test_quote_stream_breach_flag_matches_brute_force(
    targets: list[int], band: Band, perturb: list[float], quotes: list[tuple[int, float]]
) -> None:
    """Quotes only, long streams, every asset starting near target: this is where the
    extreme interval moves inward most often (the rescan path)."""
    syms = [f"S{k}" for k in range(8)]
    total = sum(targets)
    config = Config(
        portfolio=PortfolioConfig(
            assets=tuple(
                AssetConfig(s, t / total, band=band) for s, t in zip(syms, targets, strict=True)
            ),
            cash_band=Band(absolute=1.0, relative=None, rule=BandRule.ABSOLUTE),
        )
    )
    qty = {
        s: Decimal(round(t / total * 1e6 * k))
        for s, t, k in zip(syms, targets, perturb, strict=True)
    }
    px = dict.fromkeys(syms, 1.0)
    tracker = DriftTracker(config, Holdings(Decimal(0), dict(qty)), px)
    for k, f in quotes:
        px[syms[k]] *= f
        tracker.update_quote(syms[k], px[syms[k]], px[syms[k]])
        out, near = brute_force(config, qty, Decimal(0), px)
        if not near:
            assert tracker.any_out_of_band == bool(out)
        assert set(tracker.out_of_band()) - near == out - near


def test_update_quote_signals_a_fresh_breach_and_a_newly_breaching_symbol() -> None:
    band = Band(absolute=0.05, relative=None, rule=BandRule.ABSOLUTE)
    config = make_config({"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}, band=band)
    holdings = Holdings(Decimal(0), {s: Decimal(100) for s in "ABCD"})
    tracker = DriftTracker(config, holdings, dict.fromkeys("ABCD", 1.0))
    assert tracker.update_quote("A", 1.05, 1.05) is False  # A 25.9 %: inside
    assert tracker.update_quote("A", 1.5, 1.5) is True  # A 33 %: the set becomes non-empty
    assert tracker.out_of_band() == ["A"]
    assert tracker.update_quote("A", 1.6, 1.6) is False  # A further out: nothing new
    assert tracker.update_quote("C", 0.6, 0.6) is True  # C itself leaves: newly breaching
    assert tracker.out_of_band() == ["A", "C"]  # A 38.1 % is further off than C 14.3 %
    assert tracker.update_quote("A", 1.0, 1.0) is False
    assert tracker.update_quote("C", 1.0, 1.0) is False  # all back inside
    assert not tracker.any_out_of_band


def test_the_same_mid_again_changes_nothing() -> None:
    band = Band(absolute=0.05, relative=None, rule=BandRule.ABSOLUTE)
    config = make_config({"A": 0.5, "B": 0.5}, band=band)
    tracker = DriftTracker(config, Holdings(Decimal(0), {"A": Decimal(100), "B": Decimal(100)}),
                           {"A": 1.0, "B": 1.0})
    assert tracker.update_quote("A", 1.5, 1.5) is True  # A 60 %: out
    rows = tracker.rows()
    assert tracker.update_quote("A", 1.4, 1.6) is False  # the same mid, wider: no news
    assert tracker.rows() == rows and tracker.out_of_band() == ["A", "B"]
    assert tracker.price("A") == 1.5


def test_weight_columns_hold_the_rows_numbers() -> None:
    config = make_config({"A": 0.5, "B": 0.3}, cash_target=0.2,
                         cash_band=Band(absolute=0.05, relative=None, rule=BandRule.ABSOLUTE))
    tracker = DriftTracker(config, Holdings(Decimal(30), {"A": Decimal(40), "B": Decimal(10),
                                                          "X": Decimal(5)}),
                           {"A": 1.0, "B": 3.0, "X": 2.0})
    for sym, bid in [("A", 1.3), ("B", 2.9), ("X", 4.0), ("A", 1.1)]:
        tracker.update_quote(sym, bid, bid)
        cols = tracker.weight_columns()
        assert cols.symbols == ("A", "B", CASH)  # the targets, then cash; not X (no target)
        assert cols.rows() == tracker.rows()  # the same floats, bit for bit
    empty = DriftTracker(config, Holdings(Decimal(0), {}))
    assert empty.weight_columns().current == (0.0, 0.0, 0.0)
    assert empty.weight_columns().rows() == empty.rows()
