"""Splits the paper exchange performed, served as Alpaca's ``GET /v1/corporate-actions``:
alpaca-py's own ``CorporateActionsClient`` parses them, and the adapter's
``recent_splits`` reads them page by page. Dates come from the simulator's clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from alpaca.data.enums import CorporateActionsType
from alpaca.data.historical.corporate_actions import CorporateActionsClient
from alpaca.data.requests import CorporateActionsRequest

from adapters.alpaca.corporate_actions import SplitRecord, recent_splits
from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from adapters.sim.market_calendar import local_day
from adapters.sim.testing import RunningSim, running_sim


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:
        await s.control("POST", "/_sim/split", {"symbol": "AGG", "ratio": "2"})
        await s.control("POST", "/_sim/split", {"symbol": "GLD", "ratio": "0.1"})  # 1-for-10
        await s.control("POST", "/_sim/dividend", {"symbol": "SPY", "per_share": "1.5"})
        yield s


@pytest.fixture
async def rest(sim: RunningSim) -> AsyncIterator[AlpacaRest]:
    r = AlpacaRest(Credentials(Secret(sim.key_id), Secret(sim.secret)), base_url=sim.base_url,
                   data_url=sim.base_url, limiter=RateLimiter(200), timeout_seconds=2.0)  # fmt: skip
    yield r
    await r.close()


async def test_alpaca_py_reads_the_splits_and_dividends(sim: RunningSim) -> None:
    client = CorporateActionsClient(sim.key_id, sim.secret, url_override=sim.base_url)
    today = local_day(sim.clock.now())
    got = await asyncio.to_thread(client.get_corporate_actions, CorporateActionsRequest(
        symbols=["AGG", "GLD", "SPY"], start=today - timedelta(days=3), end=today))  # fmt: skip
    fwd, rev, div = got.data["forward_splits"], got.data["reverse_splits"], got.data["cash_dividends"]
    assert [(a.symbol, a.new_rate, a.old_rate, a.ex_date) for a in fwd] == [("AGG", 2, 1, today)]
    assert [(a.symbol, a.new_rate, a.old_rate) for a in rev] == [("GLD", 1, 10)]
    assert [(a.symbol, a.rate) for a in div] == [("SPY", 1.5)]
    only = await asyncio.to_thread(client.get_corporate_actions, CorporateActionsRequest(
        symbols=["AGG"], types=[CorporateActionsType.FORWARD_SPLIT], start=today, end=today))  # fmt: skip
    assert list(only.data) == ["forward_splits"]
    before = await asyncio.to_thread(client.get_corporate_actions, CorporateActionsRequest(
        start=today - timedelta(days=9), end=today - timedelta(days=1)))  # fmt: skip
    assert before.data == {}


async def test_recent_splits_through_the_adapter(sim: RunningSim, rest: AlpacaRest) -> None:
    today = local_day(sim.clock.now())
    splits = await recent_splits(rest, ["AGG", "GLD", "SPY", "VTI"], today=today)
    assert [(s.symbol, s.ratio, s.ex_date) for s in splits] == [
        ("AGG", 2.0, today), ("GLD", pytest.approx(0.1), today)]  # fmt: skip
    assert all(isinstance(s, SplitRecord) and s.id for s in splits)
    again = await recent_splits(rest, ["AGG", "GLD"], today=today)
    assert [s.id for s in again] == [s.id for s in splits]  # stable ids: dedupe by them
    assert await recent_splits(rest, ["VTI"], today=today) == []
    later = today + timedelta(days=30)
    assert await recent_splits(rest, ["AGG"], today=later) == []  # outside the window


async def test_pages_and_bad_requests(sim: RunningSim, rest: AlpacaRest) -> None:
    today = local_day(sim.clock.now())
    for n in range(3):
        await sim.control("POST", "/_sim/split", {"symbol": "VTI", "ratio": str(2 + n)})
    one_page = await rest.split_actions(["AGG", "GLD", "VTI"], start=today, end=today)
    paged = await rest.split_actions(["AGG", "GLD", "VTI"], start=today, end=today, page_limit=2)
    assert len(one_page) == 5 and sorted(a.id for a in paged) == sorted(a.id for a in one_page)
    async with aiohttp.ClientSession() as http:
        url = sim.base_url + "/v1/corporate-actions"
        for params, fragment in (({"types": "spin_off"}, "invalid types"),
                                 ({"limit": "0"}, "invalid limit"),
                                 ({"start": "soon"}, "invalid start")):  # fmt: skip
            async with http.get(url, params=params, headers=sim.auth_headers) as resp:
                assert resp.status == 400
                assert fragment in (await resp.json())["message"]
