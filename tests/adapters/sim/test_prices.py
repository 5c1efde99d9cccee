import math
import random
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.sim.prices import (
    MAX_TICKS_PER_ADVANCE,
    TRADING_SECONDS_PER_YEAR,
    CsvReplay,
    GbmPath,
    make_path,
    quote_around,
)
from adapters.sim.sim_config import SymbolConfig

T0 = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


def gbm(seed: int = 1, **kw: float) -> GbmPath:
    cfg = SymbolConfig("SPY", **kw)  # type: ignore[arg-type]
    return GbmPath(cfg, random.Random(seed), T0)


def run(path: GbmPath, steps: int) -> list[tuple[float, float]]:
    out = []
    t = T0
    for _ in range(steps):
        t += timedelta(seconds=1)
        out += [(q.bid, q.ask) for q in path.advance(t - timedelta(seconds=1), t, 1.0)]
    return out


def test_same_seed_same_path_other_seed_other_path() -> None:
    assert run(gbm(3), 200) == run(gbm(3), 200)
    assert run(gbm(3), 200) != run(gbm(4), 200)


def test_make_path_seeds_per_symbol() -> None:
    a = make_path(SymbolConfig("A"), 1, T0)
    b = make_path(SymbolConfig("B"), 1, T0)
    ta = a.advance(T0, T0 + timedelta(seconds=50), 50.0)
    tb = b.advance(T0, T0 + timedelta(seconds=50), 50.0)
    assert [x.mid for x in ta] != [x.mid for x in tb]


def test_gbm_daily_statistics_roughly_right() -> None:
    mu, sigma, days = 0.5, 0.08, 3000
    p = gbm(11, price=100.0, drift=mu, volatility=sigma, quote_rate=0.01)
    day = 6.5 * 3600
    rets = []
    for _ in range(days):
        before = p.mid
        p.advance(T0, T0 + timedelta(hours=1), day)
        rets.append(math.log(p.mid / before))
    dt = day / TRADING_SECONDS_PER_YEAR
    mean, sd = statistics.fmean(rets), statistics.stdev(rets)
    assert sd == pytest.approx(sigma * math.sqrt(dt), rel=0.1)
    assert mean == pytest.approx((mu - sigma**2 / 2) * dt, rel=0.3)


def test_quotes_follow_the_rate_carry_and_cap() -> None:
    p = gbm(quote_rate=2.0)
    assert len(p.advance(T0, T0 + timedelta(seconds=1), 1.0)) == 2
    assert p.advance(T0, T0, 0.25) == []
    assert len(p.advance(T0, T0, 0.25)) == 1  # 0.5 s carried → one quote
    jump = p.advance(T0, T0 + timedelta(days=1), 23400.0)
    assert len(jump) == MAX_TICKS_PER_ADVANCE
    assert jump[-1].at == T0 + timedelta(days=1)


def test_spread_and_rounding() -> None:
    bid, ask = quote_around(600.0, 10.0)
    assert (bid, ask) == (599.7, 600.3)
    bid, ask = quote_around(0.5, 1.0)  # sub-dollar: 4 decimals, never crossed
    assert ask > bid and round(bid, 4) == bid
    for b, a in run(gbm(5, spread_bps=2.0), 100):
        assert a > b > 0


def test_state_round_trip_continues_identically() -> None:
    p = gbm(9)
    run(p, 10)
    q = gbm(123)
    q.load_state(p.state())
    assert run(p, 50) == run(q, 50)


def write(tmp: Path, text: str) -> str:
    f = tmp / "prices.csv"
    f.write_text(text)
    return str(f)


def test_csv_quote_replay_releases_rows_as_time_passes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timestamp,bid,ask,bid_size,ask_size\n"
        "2026-11-23T14:30:00Z,10.00,10.02,300,400\n"
        "2026-11-23T14:31:00Z,10.10,10.12,100,100\n"
        "1795444320,10.20,10.22,100,100\n",  # 2026-11-23T14:32:00Z as Unix seconds
    )
    r = CsvReplay(SymbolConfig("X", csv=path))
    assert r.quote() is None
    first = r.advance(T0 - timedelta(seconds=1), T0, 0)
    assert [(q.bid, q.ask, q.bid_size, q.ask_size) for q in first] == [(10.0, 10.02, 300, 400)]
    assert r.advance(T0, T0 + timedelta(seconds=90), 90) == [r.quote()]
    assert r.quote() is not None and r.quote().bid == 10.10  # type: ignore[union-attr]
    r.scale(0.5, T0 + timedelta(seconds=91))
    last = r.advance(T0, T0 + timedelta(minutes=5), 300)
    assert [(q.bid, q.ask) for q in last] == [(5.1, 5.11)]
    assert r.advance(T0, T0 + timedelta(minutes=10), 300) == []  # past the end: price stays
    assert r.quote() is not None and r.quote().bid == 5.1  # type: ignore[union-attr]


def test_csv_bar_replay_quotes_around_the_close(tmp_path: Path) -> None:
    path = write(
        tmp_path, "timestamp,open,high,low,close,volume\n2026-11-23T14:30:00Z,1,2,0.5,100,10\n"
    )
    r = CsvReplay(SymbolConfig("X", csv=path, spread_bps=10.0))
    (q,) = r.advance(T0, T0, 0)
    assert (q.bid, q.ask) == (99.95, 100.05)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("when,bid,ask\n", "no timestamp column"),
        ("timestamp,foo\n2026-11-23T14:30:00Z,1\n", "need columns"),
        ("timestamp,bid,ask\n2026-11-23T14:30:00,1,2\n", "no offset"),
        ("timestamp,bid,ask\n2026-11-23T14:30:00Z,1,2\n2026-11-23T14:29:00Z,1,2\n", "backwards"),
        ("timestamp,bid,ask\n", "no rows"),
        ("timestamp,bid,ask\n2026-11-23T14:30:00Z,x,2\n", "line 2"),
    ],
)
def test_bad_csv_says_what_is_wrong(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        CsvReplay(SymbolConfig("X", csv=write(tmp_path, text)))


def test_missing_csv_file() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        CsvReplay(SymbolConfig("X", csv="/nonexistent/prices.csv"))


def test_minute_bars_close_when_the_minute_is_over() -> None:
    from adapters.sim.bars import MinuteBars

    b = MinuteBars()
    m0 = T0
    assert b.add("S", m0 + timedelta(seconds=5), 10.0, 100) == []
    assert b.add("S", m0 + timedelta(seconds=20), 12.0, 300) == []
    assert b.add("S", m0 + timedelta(seconds=40), 9.0, 100) == []
    (bar,) = b.add("S", m0 + timedelta(seconds=65), 11.0, 100)
    assert bar == {"T": "b", "S": "S", "o": 10.0, "h": 12.0, "l": 9.0, "c": 9.0, "v": 500,
                   "n": 3, "vw": 11.0, "t": m0}  # fmt: skip
    assert b.flush(m0 + timedelta(seconds=119)) == []
    (nxt,) = b.flush(m0 + timedelta(seconds=120))
    assert nxt["t"] == m0 + timedelta(minutes=1) and nxt["o"] == nxt["c"] == 11.0


def test_exchange_streams_bars_quotes_and_its_trades() -> None:
    from tests.adapters.sim.engine_helpers import make_exchange, order

    ex, clock, rec = make_exchange(start="2026-11-23T14:30:00Z")
    ex.submit_order(order(qty="1"))
    for _ in range(150):
        clock.advance(1)
        ex.step()
    kinds = {m["T"] for m in rec.market}
    assert kinds == {"q", "b", "t"}
    bars = [m for m in rec.market if m["T"] == "b" and m["S"] == "SPY"]
    assert [b["t"] for b in bars] == [T0, T0 + timedelta(minutes=1)]
    assert all(b["l"] <= min(b["o"], b["c"]) <= max(b["o"], b["c"]) <= b["h"] for b in bars)
