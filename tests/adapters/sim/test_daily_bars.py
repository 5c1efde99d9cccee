"""The paper exchange serves Alpaca's ``GET /v2/stocks/bars`` (daily): alpaca-py's own
``StockHistoricalDataClient`` parses it, pages follow ``next_page_token``, the history is a
pure function of the seed, and splits are applied by ``adjustment``.

The server runs in this loop, so alpaca-py's blocking calls go through ``asyncio.to_thread``.
Dates come from the simulator's clock, never from today's date.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.models import Bar
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from adapters.sim.market_calendar import NEW_YORK, MarketCalendar, local_day
from adapters.sim.testing import RunningSim, default_sim_config, running_sim


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:  # the test moves the clock itself
        yield s


async def get_bars(sim: RunningSim, **params: Any) -> tuple[int, dict[str, Any]]:
    query = {k: str(v) for k, v in params.items()}
    async with aiohttp.ClientSession() as http, http.get(
        sim.base_url + "/v2/stocks/bars", params=query, headers=sim.auth_headers
    ) as resp:
        return resp.status, await resp.json()


def rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def all_pages(sim: RunningSim, **params: Any) -> tuple[dict[str, list[dict[str, Any]]], int]:
    out: dict[str, list[dict[str, Any]]] = {}
    pages, token = 0, None
    while True:
        extra = {"page_token": token} if token else {}
        status, body = await get_bars(sim, **params, **extra)
        assert status == 200, body
        pages += 1
        for s, bars in body["bars"].items():
            out.setdefault(s, []).extend(bars)
        token = body["next_page_token"]
        if token is None:
            return out, pages


async def test_alpaca_py_reads_multi_symbol_daily_bars(sim: RunningSim) -> None:
    client = StockHistoricalDataClient(sim.key_id, sim.secret, url_override=sim.base_url)
    now = sim.clock.now()
    request = StockBarsRequest(
        symbol_or_symbols=["SPY", "AGG", "GLD"],
        timeframe=TimeFrame.Day,
        start=now - timedelta(days=400),
        end=now,
        adjustment=Adjustment.ALL,
        feed=DataFeed.IEX,
    )
    barset = await asyncio.to_thread(client.get_stock_bars, request)
    assert set(barset.data) == {"SPY", "AGG", "GLD"}
    sessions = MarketCalendar.nyse().sessions(local_day(now - timedelta(days=400)), local_day(now))
    expected_days = [s.day for s in sessions if s.open <= now]
    for symbol, bars in barset.data.items():
        assert all(isinstance(b, Bar) for b in bars)
        # one bar per NYSE session (no weekends, no holidays), labelled at midnight New York
        assert [local_day(b.timestamp) for b in bars] == expected_days, symbol
        assert all(b.timestamp.astimezone(NEW_YORK).hour == 0 for b in bars)
        assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
        assert all(b.volume > 0 and b.trade_count and b.trade_count > 0 for b in bars)
    # the last historical close is the price the exchange started at; today's bar is live
    spy = barset.data["SPY"]
    assert spy[-2].close == pytest.approx(600.0, abs=0.01)
    assert local_day(spy[-1].timestamp) == local_day(now)


async def test_pages_follow_next_page_token_across_symbols(sim: RunningSim) -> None:
    now = sim.clock.now()
    params = {"symbols": "VTI,BND,SPY", "timeframe": "1Day", "adjustment": "all",
              "start": rfc3339(now - timedelta(days=30)), "end": rfc3339(now)}  # fmt: skip
    whole, pages_whole = await all_pages(sim, **params)
    paged, pages = await all_pages(sim, **params, limit=7)
    assert pages_whole == 1
    assert paged == whole
    total = sum(len(v) for v in whole.values())
    assert pages == math.ceil(total / 7)
    # sorted by symbol, then time: the first page is all BND
    _, first = await get_bars(sim, **params, limit=7)
    assert list(first["bars"]) == ["BND"] and first["next_page_token"]
    times = [b["t"] for b in whole["BND"]]
    assert times == sorted(times)
    _status, desc = await get_bars(sim, **params, sort="desc")
    assert [b["t"] for b in desc["bars"]["BND"]] == times[::-1]


async def test_history_is_a_function_of_the_seed() -> None:
    async def closes(seed: int, days: int) -> list[float]:
        async with running_sim(default_sim_config(seed=seed), run_ticker=False) as s:
            now = s.clock.now()
            # only closed sessions: today's live bar is not part of the history
            end = datetime.combine(local_day(now), datetime.min.time(), NEW_YORK)
            bars, _ = await all_pages(s, symbols="VTI", timeframe="1Day",
                                      start=rfc3339(now - timedelta(days=days)),
                                      end=rfc3339(end - timedelta(seconds=1)))  # fmt: skip
            return [b["c"] for b in bars["VTI"]]

    wide, narrow, again, other = await asyncio.gather(
        closes(7, 200), closes(7, 30), closes(7, 200), closes(8, 200)
    )
    assert wide == again
    assert wide[-len(narrow) :] == narrow  # a window is a slice of the same history
    assert other != wide and other[-1] == wide[-1]  # both end at the start price


async def test_volume_and_volatility_follow_the_symbol_config() -> None:
    cfg = default_sim_config(symbols={"XYZ": {"price": 50.0, "volatility": 0.32, "adv": 250_000}})
    async with running_sim(cfg, run_ticker=False) as s:
        now = s.clock.now()
        bars, _ = await all_pages(s, symbols="XYZ", timeframe="1Day",
                                  start=rfc3339(now - timedelta(days=5 * 365)),
                                  end=rfc3339(now - timedelta(days=1)))  # fmt: skip
    rows = bars["XYZ"]
    assert len(rows) > 1200
    assert statistics.fmean(b["v"] for b in rows) == pytest.approx(250_000, rel=0.05)
    logret = [math.log(b["c"] / a["c"]) for a, b in itertools.pairwise(rows)]
    assert statistics.stdev(logret) == pytest.approx(0.32 / math.sqrt(252), rel=0.08)


async def test_a_split_is_applied_to_earlier_bars_by_adjustment(sim: RunningSim) -> None:
    now = sim.clock.now()
    window = {"symbols": "AGG", "timeframe": "1Day", "start": rfc3339(now - timedelta(days=20))}
    before, _ = await all_pages(sim, **window, adjustment="raw", end=rfc3339(now))
    await sim.control("POST", "/_sim/split", {"symbol": "AGG", "ratio": "2"})
    await sim.advance(3600)
    end = rfc3339(sim.clock.now())
    raw, _ = await all_pages(sim, **window, adjustment="raw", end=end)
    adjusted, _ = await all_pages(sim, **window, adjustment="all", end=end)
    split_only, _ = await all_pages(sim, **window, adjustment="split", end=end)
    assert adjusted == split_only  # no dividend happened
    old_raw, old_adj = raw["AGG"][:-1], adjusted["AGG"][:-1]  # sessions before the ex-date
    assert old_raw == before["AGG"][:-1]  # raw history is unchanged
    for r, a in zip(old_raw, old_adj, strict=True):
        assert a["c"] == pytest.approx(r["c"] / 2, abs=1e-4)
        assert a["v"] == 2 * r["v"]
    today = adjusted["AGG"][-1]
    assert today == raw["AGG"][-1]  # the ex-date bar is in post-split prices either way
    assert today["o"] == pytest.approx(before["AGG"][-1]["o"] / 2, abs=0.01)
    assert old_adj[-1]["c"] == pytest.approx(today["o"], rel=0.02)  # continuous when adjusted


async def test_no_bar_for_a_session_that_has_not_opened() -> None:
    cfg = default_sim_config(clock={"mode": "stepped", "start": "2026-11-21T15:00:00Z"})  # Sat
    async with running_sim(cfg, run_ticker=False) as s:
        now = s.clock.now()
        bars, _ = await all_pages(s, symbols="SPY", timeframe="1Day",
                                  start=rfc3339(now - timedelta(days=7)),
                                  end=rfc3339(now + timedelta(days=7)))  # fmt: skip
        days = [local_day(datetime.fromisoformat(b["t"])) for b in bars["SPY"]]
        assert days[-1] == date(2026, 11, 20)  # Friday: the weekend has no bar, Monday not yet
        assert bars["SPY"][-1]["c"] == pytest.approx(600.0, abs=0.01)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"timeframe": "1Day"}, "symbols is missing"),
        ({"symbols": "SPY"}, "timeframe is missing"),
        ({"symbols": "SPY", "timeframe": "1Min"}, "1Day bars only"),
        ({"symbols": "SPY", "timeframe": "1Day", "adjustment": "most"}, "invalid adjustment"),
        ({"symbols": "SPY", "timeframe": "1Day", "limit": "0"}, "invalid limit"),
        ({"symbols": "SPY", "timeframe": "1Day", "limit": "10001"}, "invalid limit"),
        ({"symbols": "SPY", "timeframe": "1Day", "feed": "nasdaq"}, "invalid feed"),
        ({"symbols": "SPY", "timeframe": "1Day", "start": "yesterday"}, "invalid start"),
        ({"symbols": "SPY", "timeframe": "1Day", "page_token": "%%%"}, "invalid page_token"),
    ],
)
async def test_bad_requests_say_what_to_fix(
    sim: RunningSim, params: dict[str, str], fragment: str
) -> None:
    status, body = await get_bars(sim, **params)
    assert status == 400
    assert fragment in body["message"]


async def test_unknown_symbols_are_absent_and_auth_is_required(sim: RunningSim) -> None:
    now = sim.clock.now()
    status, body = await get_bars(sim, symbols="SPY,NOPE", timeframe="1D",
                                  start=rfc3339(now - timedelta(days=10)))  # fmt: skip
    assert status == 200 and set(body["bars"]) == {"SPY"}
    async with aiohttp.ClientSession() as http, http.get(
        sim.base_url + "/v2/stocks/bars", params={"symbols": "SPY", "timeframe": "1Day"}
    ) as resp:
        assert resp.status == 401


def _exchange() -> Any:
    from adapters.sim.exchange import SimExchange
    from adapters.sim.sim_clock import SimClock

    cfg = default_sim_config()
    return SimExchange(cfg, SimClock(cfg.clock.mode, cfg.clock.start))


def test_a_dividend_adjusts_earlier_prices_not_volumes() -> None:
    from decimal import Decimal

    ex = _exchange()
    now = ex.clock.now()
    start = now - timedelta(days=30)
    raw_before = ex.daily.bars("SPY", start, now, now, "raw")
    ex.dividend("SPY", Decimal("6"))  # 1 % of the 600 close before the ex-date
    adjusted = ex.daily.bars("SPY", start, now, now, "dividend")
    split_only = ex.daily.bars("SPY", start, now, now, "split")
    assert split_only == raw_before
    factor = 1 - 6 / raw_before[-2].c
    for r, a in zip(raw_before[:-1], adjusted[:-1], strict=True):
        assert a.c == pytest.approx(r.c * factor, abs=1e-4) and a.v == r.v
    assert adjusted[-1] == raw_before[-1]  # the ex-date itself is not adjusted


def test_live_bars_and_actions_survive_snapshot_and_restore() -> None:
    from decimal import Decimal

    ex = _exchange()
    ex.clock.advance(3600)
    ex.step()
    ex.split("AGG", Decimal(2))
    saved = ex.snapshot_state()
    now = ex.clock.now()
    window = (now - timedelta(days=10), now, now, "all")
    twin = _exchange()
    twin.clock.advance(3600)
    twin.restore_state(saved)
    for sym in ("AGG", "SPY"):
        assert twin.daily.bars(sym, *window) == ex.daily.bars(sym, *window)
    assert twin.daily.actions == ex.daily.actions


async def test_correlation_ties_the_history_to_one_market_factor() -> None:
    import numpy as np

    cfg = default_sim_config(symbols={
        "A": {"price": 100.0, "volatility": 0.2, "correlation": 0.9},
        "B": {"price": 50.0, "volatility": 0.1, "correlation": 0.6},
        "C": {"price": 20.0, "volatility": 0.3},
    })  # fmt: skip
    async with running_sim(cfg, run_ticker=False) as s:
        now = s.clock.now()
        bars, _ = await all_pages(s, symbols="A,B,C", timeframe="1Day",
                                  start=rfc3339(now - timedelta(days=5 * 365)),
                                  end=rfc3339(now - timedelta(days=1)))  # fmt: skip
    closes = np.array([[b["c"] for b in bars[sym]] for sym in "ABC"])
    corr = np.corrcoef(np.diff(np.log(closes), axis=1))
    assert corr[0, 1] == pytest.approx(0.9 * 0.6, abs=0.06)
    assert abs(corr[0, 2]) < 0.08 and abs(corr[1, 2]) < 0.08
    vols = np.diff(np.log(closes), axis=1).std(axis=1) * math.sqrt(252)
    np.testing.assert_allclose(vols, [0.2, 0.1, 0.3], rtol=0.08)  # σ kept


def test_correlation_outside_minus_one_to_one_is_refused() -> None:
    from adapters.sim.sim_config import SimConfigError

    with pytest.raises(SimConfigError, match="correlation must be between -1 and 1"):
        default_sim_config(symbols={"A": {"correlation": 1.5}})
