"""Stream answers classified: only refused keys (unauthorized, HTTP 401/403) are "bad keys";
a 406 connection limit or an HTTP 429 backs off and retries, and a stream refused past its
retry budget gives up with ``StreamUnavailable`` (the daemon exits 69, which systemd
restarts). Against the paper exchange, which allows one trade_updates session per key."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.reconnect import StreamRejected, StreamUnavailable
from adapters.alpaca.trade_stream import AlpacaTradeUpdates
from adapters.backoff import Backoff
from adapters.sim.testing import RunningSim, default_sim_config, running_sim
from daemon.core.events import Event, FeedRestored
from tests.adapters.alpaca.fake_streams import FakeTradeStream, serving, until

STAMP = datetime(2026, 11, 23, 14, 35, tzinfo=UTC)  # the feed's event stamps: an anchor


def _feed(url: str, creds: Credentials, max_refusals: int = 50) -> AlpacaTradeUpdates:
    return AlpacaTradeUpdates(url, creds, backoff=Backoff(0.01, 0.05, 0.05, rng=random.Random(1)),
                              handshake_timeout=2.0, max_refusals=max_refusals,
                              now=lambda: STAMP)


@contextlib.asynccontextmanager
async def _sim() -> AsyncIterator[tuple[RunningSim, Credentials]]:
    async with running_sim(default_sim_config()) as sim:
        yield sim, Credentials(Secret(sim.key_id), Secret(sim.secret))


@contextlib.asynccontextmanager
async def _running(feed: AlpacaTradeUpdates, events: list[Event]) -> AsyncIterator[asyncio.Task]:  # type: ignore[type-arg]
    task = asyncio.create_task(feed.run(events.append))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


async def test_406_connection_limit_backs_off_and_connects_once_the_slot_is_free() -> None:
    async with _sim() as (sim, creds):
        first_events: list[Event] = []
        second_events: list[Event] = []
        first = _feed(sim.trade_ws_url, creds)
        second = _feed(sim.trade_ws_url, creds)
        async with _running(first, first_events) as first_task:
            await until(lambda: FeedRestored in map(type, first_events))
            async with _running(second, second_events) as second_task:
                await until(lambda: second.supervisor.refusals >= 2)
                assert not second_task.done(), "a 406 is not bad keys: keep retrying"
                assert "406" in second.supervisor.last_error
                assert not second.supervisor.connected
                first_task.cancel()
                await until(lambda: FeedRestored in map(type, second_events), 10)
                assert second.supervisor.refusals_in_a_row == 0


async def test_refused_past_the_retry_budget_raises_unavailable() -> None:
    async with _sim() as (sim, creds):
        events: list[Event] = []
        holder = _feed(sim.trade_ws_url, creds)
        async with _running(holder, events):
            await until(lambda: FeedRestored in map(type, events))
            loser = _feed(sim.trade_ws_url, creds, max_refusals=3)
            with pytest.raises(StreamUnavailable, match="refused 4 times in a row"):
                await asyncio.wait_for(loser.run(lambda e: None), 10)
            assert loser.supervisor.refusals == 4


async def test_wrong_keys_are_rejected_not_retried() -> None:
    async with _sim() as (sim, _):
        feed = _feed(sim.trade_ws_url, Credentials(Secret("PKNOPE"), Secret("nope")))
        with pytest.raises(StreamRejected, match="unauthorized"):
            await asyncio.wait_for(feed.run(lambda e: None), 10)
        assert feed.supervisor.refusals == 0


async def test_http_401_at_the_upgrade_is_bad_keys() -> None:
    server = FakeTradeStream(modes=["http401"])
    async with serving(server) as url:
        feed = _feed(url, Credentials(Secret("PKTEST"), Secret("secret-value-1")))
        with pytest.raises(StreamRejected, match="401") as err:
            await asyncio.wait_for(feed.run(lambda e: None), 5)
    assert "secret-value-1" not in str(err.value)


@pytest.mark.parametrize("mode", ["error406", "http429"])
async def test_market_data_refused_past_the_budget_raises_unavailable(mode: str) -> None:
    from adapters.alpaca.data_stream import AlpacaMarketData
    from tests.adapters.alpaca.fake_streams import KEY, SECRET, FakeDataStream

    server = FakeDataStream(modes=[mode] * 10)
    async with serving(server) as url:
        md = AlpacaMarketData(url, Credentials(Secret(KEY), Secret(SECRET)), stale_after=5.0,
                              handshake_timeout=2.0, max_refusals=2,
                              backoff=Backoff(0.01, 0.05, 0.02, rng=random.Random(1)),
                              now=lambda: STAMP)
        with pytest.raises(StreamUnavailable, match="refused 3 times in a row"):
            await asyncio.wait_for(md.run(["AAPL"], lambda e: None), 10)
    assert md.supervisor.refusals == 3
