"""Daily bars through the Alpaca adapter (``AlpacaRest.stock_bars``, ``AlpacaDailyBars``)
against the paper exchange on 127.0.0.1: every page is fetched through the data limiter,
the window ends before the broker's today, and the closes agree with alpaca-py's own
client. Dates come from the simulator's clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from adapters.alpaca.bars import AlpacaDailyBars, bars_between, bars_window, historical_feed
from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.errors import AlpacaHTTPError
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from adapters.sim.market_calendar import MarketCalendar, local_day
from adapters.sim.testing import RunningSim, running_sim


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:
        yield s


@pytest.fixture
async def rest(sim: RunningSim) -> AsyncIterator[AlpacaRest]:
    r = AlpacaRest(
        Credentials(Secret(sim.key_id), Secret(sim.secret)),
        base_url=sim.base_url,
        data_url=sim.base_url,
        limiter=RateLimiter(200),
        data_limiter=RateLimiter(200),
        timeout_seconds=2.0,
        backoff_base=0.01,
        backoff_cap=0.02,
    )
    yield r
    await r.close()


async def bars_requests(sim: RunningSim) -> list[dict[str, object]]:
    return [e for e in await sim.requests_log(orders_only=False)
            if e["path"] == "/v2/stocks/bars"]  # fmt: skip


async def test_every_page_is_fetched_through_the_data_limiter(
    sim: RunningSim, rest: AlpacaRest
) -> None:
    now = sim.clock.now()
    window = {"start": now - timedelta(days=90), "end": now, "feed": "iex"}
    whole = await rest.stock_bars(["SPY", "AGG", "BND"], **window)  # type: ignore[arg-type]
    acquired = rest.data_limiter.acquired
    paged = await rest.stock_bars(["SPY", "AGG", "BND"], page_limit=25, **window)  # type: ignore[arg-type]
    total = sum(len(v) for v in whole.values())
    pages = -(-total // 25)
    assert paged == whole and set(whole) == {"SPY", "AGG", "BND"}
    assert rest.data_limiter.acquired - acquired == pages
    assert rest.limiter.acquired == 0  # the trading budget is untouched
    log = await bars_requests(sim)
    assert len(log) == 1 + pages and all(e["status"] == 200 for e in log)


async def test_a_page_beyond_max_pages_is_an_error(sim: RunningSim, rest: AlpacaRest) -> None:
    now = sim.clock.now()
    with pytest.raises(RuntimeError, match="more pages"):
        await rest.stock_bars(["SPY"], start=now - timedelta(days=90), end=now, feed="iex",
                              page_limit=10, max_pages=2)  # fmt: skip


def fast_rest(base_url: str, key: str = "PKTEST", secret: str = "test-secret") -> AlpacaRest:
    """A client whose data limiter never waits (hundreds of pages in a test)."""
    return AlpacaRest(Credentials(Secret(key), Secret(secret)),
                      base_url=base_url, data_url=base_url, limiter=RateLimiter(200),
                      data_limiter=RateLimiter(1_000_000), timeout_seconds=5.0,
                      backoff_base=0.01, backoff_cap=0.02)  # fmt: skip


async def test_paging_goes_on_until_the_token_is_null(sim: RunningSim) -> None:
    """A backtest's fetch of many symbols over many years takes more pages than any fixed
    cap (it was 200, and raised): here ~225 sessions at one bar a page, all fetched."""
    today = local_day(sim.clock.now())
    first, last = today - timedelta(days=330), today - timedelta(days=10)
    rest = fast_rest(sim.base_url, sim.key_id, sim.secret)
    try:
        whole = await bars_between(rest, ["SPY"], first, last, "iex")
        n0 = len(await bars_requests(sim))
        paged = await bars_between(rest, ["SPY"], first, last, "iex", page_limit=1)
        pages = len(await bars_requests(sim)) - n0
    finally:
        await rest.close()
    assert pages == len(whole["SPY"]) > 200
    assert paged == whole


async def test_a_repeated_page_token_stops_the_paging() -> None:
    """A host that hands back a token it gave before would be paged for ever: an error."""
    served: list[str | None] = []

    async def bars(request: web.Request) -> web.Response:
        served.append(request.query.get("page_token"))
        token = "b" if request.query.get("page_token") == "a" else "a"  # a, b, a, b, …
        return web.json_response({"bars": {"SPY": [{"t": "2026-01-02T05:00:00Z", "o": 1,
                                                     "h": 1, "l": 1, "c": 1}]},
                                  "next_page_token": token})  # fmt: skip

    app = web.Application()
    app.router.add_get("/v2/stocks/bars", bars)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rest = fast_rest(str(server.make_url("")).rstrip("/"))
    try:
        with pytest.raises(RuntimeError, match="repeats the next_page_token"):
            await bars_between(rest, ["SPY"], date(2026, 1, 2), date(2026, 1, 2), "iex")
    finally:
        await rest.close()
        await server.close()
    assert served == [None, "a", "b"]  # the third page's token "a" was the first's


async def test_daily_bars_end_before_the_brokers_today_and_match_alpaca_py(
    sim: RunningSim, rest: AlpacaRest
) -> None:
    today = local_day(sim.clock.now())
    source = AlpacaDailyBars(rest, "test")
    assert source.feed == "iex"
    got = await source.daily_bars(["SPY", "GLD", "NOPE"], today, 60)
    assert set(got) == {"SPY", "GLD"}
    sessions = [s.day for s in MarketCalendar.nyse().sessions(today - timedelta(days=200), today)]
    closed = [d for d in sessions if d < today]
    for bars in got.values():
        days = [b.day for b in bars]
        assert len(days) >= 60 and days == closed[-len(days) :]  # no gap, no today
    start, end = bars_window(today, 60)
    client = StockHistoricalDataClient(sim.key_id, sim.secret, url_override=sim.base_url)
    request = StockBarsRequest(symbol_or_symbols="SPY", timeframe=TimeFrame.Day, start=start,
                               end=end, adjustment=Adjustment.ALL, feed=DataFeed.IEX)  # fmt: skip
    theirs = await asyncio.to_thread(client.get_stock_bars, request)
    assert [b.close for b in theirs.data["SPY"]] == [b.close for b in got["SPY"]]
    assert [b.volume for b in theirs.data["SPY"]] == [b.volume for b in got["SPY"]]


async def test_split_history_arrives_adjusted(sim: RunningSim, rest: AlpacaRest) -> None:
    await sim.control("POST", "/_sim/split", {"symbol": "VTI", "ratio": "3"})
    tomorrow = local_day(sim.clock.now()) + timedelta(days=1)
    got = await AlpacaDailyBars(rest, "iex").daily_bars(["VTI"], tomorrow, 20)
    closes = [b.close for b in got["VTI"]]
    assert closes[-1] == pytest.approx(100.0, rel=0.02)  # the split day, ≈ 300 / 3
    assert closes[-2] == pytest.approx(100.0, rel=0.02)  # history adjusted, not ≈ 300


async def test_a_failing_endpoint_is_retried_then_raised(sim: RunningSim, rest: AlpacaRest) -> None:
    today: date = local_day(sim.clock.now())
    source = AlpacaDailyBars(rest, "iex")
    await sim.control("POST", "/_sim/faults",
                      {"http": [{"action": "500", "path": "/v2/stocks/bars", "count": 1}]})  # fmt: skip
    assert set(await source.daily_bars(["SPY"], today, 30)) == {"SPY"}  # one retry heals it
    await sim.control("POST", "/_sim/faults",
                      {"http": [{"action": "500", "path": "/v2/stocks/bars", "count": 10}]})  # fmt: skip
    with pytest.raises(AlpacaHTTPError) as err:
        await source.daily_bars(["SPY"], today, 30)
    assert err.value.status == 500


def test_historical_feed_and_window() -> None:
    assert historical_feed("sip") == "sip" and historical_feed("test") == "iex"
    start, end = bars_window(date(2026, 11, 23), 252)
    assert end.isoformat() == "2026-11-22T23:59:59-05:00"
    assert (date(2026, 11, 23) - start.date()).days >= 252 * 7 // 5 + 9


def test_alpacas_documented_page_and_an_empty_one_decode() -> None:
    from datetime import UTC, datetime

    from adapters.alpaca import wire

    page = wire.BARS_PAGE.decode(
        b'{"bars":{"AAPL":[{"c":178.21,"h":178.26,"l":178.21,"n":65,"o":178.26,'
        b'"t":"2022-01-03T09:00:00Z","v":1118,"vw":178.235733}]},'
        b'"next_page_token":"QUFQTHxNfDIwMjItMDEtMDNUMDk6MDA6MDAuMDAwMDAwMDAwWg=="}'
    )  # the example of Alpaca's market-data OpenAPI (StockBars)
    assert page.bars is not None
    bar = page.bars["AAPL"][0]
    assert (bar.t, bar.c, bar.v, bar.n) == (datetime(2022, 1, 3, 9, tzinfo=UTC), 178.21, 1118, 65)
    assert page.next_page_token
    empty = wire.BARS_PAGE.decode(b'{"bars":null,"next_page_token":null}')
    assert empty.bars is None and empty.next_page_token is None
