"""The market-data feed against a local msgpack websocket server that misbehaves."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.data_stream import AlpacaMarketData
from adapters.alpaca.reconnect import StreamRejected
from adapters.backoff import Backoff
from adapters.ports import FeedStats
from daemon.core.events import (
    Event,
    FeedLost,
    FeedRestored,
    QuoteBatch,
    QuoteUpdated,
    TradingStatusChanged,
)
from tests.adapters.alpaca import payloads
from tests.adapters.alpaca.fake_streams import FakeDataStream, mp, serving, until

REST_AT = datetime(2024, 7, 24, 19, 59, 59, tzinfo=UTC)


def fixed_now() -> datetime:
    """The feed's stamp for FeedLost/FeedRestored: an anchor, never today's date."""
    return REST_AT


def quote(symbol: str, bid: float, ask: float) -> dict[str, object]:
    return {
        "T": "q",
        "S": symbol,
        "bp": bid,
        "ap": ask,
        "bs": 1,
        "as": 2,
        "bx": "V",
        "ax": "V",
        "c": ["R"],
        "z": "C",
        "t": payloads.timestamp("2024-07-24T13:30:00.000000001Z"),
    }


class RestQuotes:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    async def __call__(self, symbols: Sequence[str]) -> Sequence[QuoteUpdated]:
        self.calls.append(list(symbols))
        if self.fail:
            raise ConnectionError("data REST down")
        return [QuoteUpdated(REST_AT, s, 1.0, 2.0) for s in symbols]


def feed(
    url: str,
    creds: Credentials,
    rest: RestQuotes | None = None,
    *,
    stale_after: float = 5.0,
    reap: float = 0.3,
) -> AlpacaMarketData:
    return AlpacaMarketData(
        url,
        creds,
        latest_quotes=rest,
        stale_after=stale_after,
        backoff=Backoff(base=0.01, cap=0.05, reap_window=reap, rng=random.Random(1)),
        handshake_timeout=2.0,
        now=fixed_now,
    )


@asynccontextmanager
async def running(
    md: AlpacaMarketData, symbols: list[str], events: list[Event]
) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(md.run(symbols, events.append))
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_subscribes_with_msgpack_and_emits_rest_quotes_then_restored_then_stream(
    creds: Credentials,
) -> None:
    server = FakeDataStream(frames=[mp([quote("AAPL", 227.5, 227.53), quote("SPY", 550.0, 550.1)])])
    rest = RestQuotes()
    events: list[Event] = []
    async with serving(server) as url:
        md = feed(url, creds, rest)
        assert md.stats() == FeedStats(False, 0, 0.0, 0, 0, 0)  # before the first connect
        async with running(md, ["AAPL", "SPY", "AAPL"], events):
            await until(lambda: md.quotes == 2)
            live_stats = md.stats()
    assert (live_stats.connected, live_stats.reconnects, live_stats.messages) == (True, 0, 2)
    assert live_stats.last_message_age_seconds >= 0.0 and live_stats.malformed == 0
    assert not md.stats().connected  # cancelled: down again
    assert server.content_types == ["application/msgpack"]
    auth, sub = server.received[0]
    assert auth == {"action": "auth", "key": "PKTEST", "secret": "test-secret-value"}
    assert sub == {"action": "subscribe", "quotes": ["AAPL", "SPY"], "statuses": ["AAPL", "SPY"]}
    assert rest.calls == [["AAPL", "SPY"]]
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["QuoteBatch", "FeedRestored", "QuoteBatch"]  # one queue item per frame
    rest_batch, _, frame = events
    assert isinstance(rest_batch, QuoteBatch) and isinstance(frame, QuoteBatch)
    assert rest_batch.at == REST_AT and len(rest_batch.quotes) == 2  # REST quotes come first
    assert [q.symbol for q in frame.quotes] == ["AAPL", "SPY"]
    live = frame.quotes[0]
    assert frame.at == live.at  # a batch is as late as its newest quote
    assert (live.symbol, live.bid, live.ask, live.bid_size, live.ask_size) == (
        "AAPL",
        227.5,
        227.53,
        1,
        2,
    )
    assert live.at == datetime(2024, 7, 24, 13, 30, tzinfo=UTC)


async def test_halts_become_trading_status_events(creds: Credentials) -> None:
    halt = {
        "T": "s",
        "S": "AAPL",
        "sc": "H",
        "sm": "Trading Halt",
        "rc": "",
        "rm": "",
        "z": "C",
        "t": payloads.timestamp("2024-07-24T13:31:00Z"),
    }
    server = FakeDataStream(frames=[mp([halt])])
    events: list[Event] = []
    async with serving(server) as url, running(feed(url, creds), ["AAPL"], events):
        await until(lambda: any(isinstance(e, TradingStatusChanged) for e in events))
    (ev,) = [e for e in events if isinstance(e, TradingStatusChanged)]
    assert ev.halted and ev.symbol == "AAPL" and ev.reason == "Trading Halt"


async def test_a_status_inside_a_frame_keeps_its_place_between_batches(
    creds: Credentials,
) -> None:
    halt = {"T": "s", "S": "AAPL", "sc": "H", "sm": "Trading Halt", "rc": "", "rm": "",
            "z": "C", "t": payloads.timestamp("2024-07-24T13:31:00Z")}  # fmt: skip
    a, b, c = quote("AAPL", 1.0, 1.1), quote("SPY", 2.0, 2.1), quote("AAPL", 3.0, 3.1)
    server = FakeDataStream(frames=[mp([a, b, halt, c])])
    events: list[Event] = []
    async with serving(server) as url, running(feed(url, creds), ["AAPL", "SPY"], events):
        await until(lambda: len(events) >= 4)
    kinds = [type(e) for e in events]
    assert kinds == [FeedRestored, QuoteBatch, TradingStatusChanged, QuoteBatch]
    before, after = events[1], events[3]
    assert isinstance(before, QuoteBatch) and isinstance(after, QuoteBatch)
    assert [(q.symbol, q.bid) for q in before.quotes] == [("AAPL", 1.0), ("SPY", 2.0)]
    assert [(q.symbol, q.bid) for q in after.quotes] == [("AAPL", 3.0)]


async def test_malformed_frames_are_counted_and_dropped(creds: Credentials) -> None:
    good = quote("AAPL", 1.0, 1.1)
    server = FakeDataStream(
        frames=[
            b"\xc1\xc1 not msgpack",
            mp([{"T": "q", "S": "AAPL", "bp": "oops", "t": 5}, good]),  # one bad item, one good
            mp([{"T": "new-type", "S": "AAPL"}]),  # a type we do not know
            mp({"T": "q"}),  # not an array
            "[1, 2",  # broken JSON text frame
            mp([good]),
        ]
    )
    events: list[Event] = []
    async with serving(server) as url:
        md = feed(url, creds)
        async with running(md, ["AAPL"], events):
            await until(lambda: md.quotes == 2)
            await asyncio.sleep(0.05)
    assert md.malformed == 5 and md.stats().malformed == 5
    assert md.supervisor.connects == 1 and md.supervisor.disconnects == 0  # never crashed or reconnected


async def test_mute_socket_is_reconnected_and_resubscribed(creds: Credentials) -> None:
    server = FakeDataStream(modes=["mute"], frames=[mp([quote("AAPL", 1.0, 1.1)])])
    rest = RestQuotes()
    events: list[Event] = []
    async with serving(server) as url:
        md = feed(url, creds, rest, stale_after=0.2)
        async with running(md, ["AAPL"], events):
            await until(lambda: md.quotes == 1)
    assert md.supervisor.stale_reconnects >= 1 and server.connections >= 2
    assert server.received[1][1]["quotes"] == ["AAPL"]  # resubscribed
    kinds = [type(e) for e in events]
    first_lost = kinds.index(FeedLost)
    assert kinds[:first_lost].count(FeedRestored) == 1
    assert FeedRestored in kinds[first_lost:]
    assert len(rest.calls) >= 2  # latest quotes fetched after every (re)connect


async def test_dropped_socket_reports_lost_then_restored(creds: Credentials) -> None:
    server = FakeDataStream(modes=["drop"], frames=[mp([quote("AAPL", 1.0, 1.1)])])
    events: list[Event] = []
    async with serving(server) as url:
        md = feed(url, creds)
        async with running(md, ["AAPL"], events):
            await until(lambda: md.quotes >= 2)
    kinds = [type(e) for e in events if not isinstance(e, QuoteBatch)]
    assert kinds[:3] == [FeedRestored, FeedLost, FeedRestored]
    assert md.supervisor.disconnects >= 1 and md.supervisor.stale_reconnects == 0


@pytest.mark.parametrize("mode", ["error406", "http429"])
async def test_406_and_http_429_wait_the_reap_window(creds: Credentials, mode: str) -> None:
    server = FakeDataStream(modes=[mode], frames=[mp([quote("AAPL", 1.0, 1.1)])])
    events: list[Event] = []
    async with serving(server) as url:
        md = feed(url, creds, reap=0.3)
        async with running(md, ["AAPL"], events):
            await until(lambda: md.supervisor.refusals == 1)
            assert md.supervisor.last_delay >= 0.3  # never sooner than the reap window
            await until(lambda: md.quotes == 1)
    assert md.supervisor.connects == 1
    assert not any(isinstance(e, FeedLost) for e in events)  # it never was up before


async def test_auth_timeout_reconnects(creds: Credentials) -> None:
    server = FakeDataStream(modes=["no_auth_reply"], frames=[mp([quote("AAPL", 1.0, 1.1)])])
    events: list[Event] = []
    async with serving(server) as url:
        md = AlpacaMarketData(
            url,
            creds,
            stale_after=5.0,
            handshake_timeout=0.2,
            backoff=Backoff(0.01, 0.05, 0.3, rng=random.Random(2)),
            now=fixed_now,
        )
        async with running(md, ["AAPL"], events):
            await until(lambda: md.quotes == 1)
    assert server.connections == 2


async def test_bad_keys_stop_the_feed_with_a_clear_error() -> None:
    server = FakeDataStream()
    wrong = Credentials(Secret("PKTEST"), Secret("nope"))
    async with serving(server) as url:
        with pytest.raises(StreamRejected, match="auth failed: check the API keys") as err:
            await asyncio.wait_for(feed(url, wrong).run(["AAPL"], lambda e: None), 5)
    assert "nope" not in str(err.value)


async def test_rest_catch_up_failure_does_not_block_the_stream(creds: Credentials) -> None:
    server = FakeDataStream(frames=[mp([quote("AAPL", 1.0, 1.1)])])
    events: list[Event] = []
    async with serving(server) as url:
        md = feed(url, creds, RestQuotes(fail=True))
        async with running(md, ["AAPL"], events):
            await until(lambda: md.quotes == 1)
    assert md.catchup_failures == 1
    assert [type(e) for e in events] == [FeedRestored, QuoteBatch]


async def test_frames_read_back_to_back_go_out_as_one_conflated_batch(creds: Credentials) -> None:
    """Under backlog the reader handles frames without yielding (they were buffered in the
    socket): what it read goes out, once it yields, as one batch of each symbol's newest."""
    md = feed("ws://127.0.0.1:9", creds)
    events: list[Event] = []
    frames = [
        mp([quote("AAPL", 1.0, 1.1), quote("SPY", 2.0, 2.1)]),
        mp([quote("AAPL", 3.0, 3.1)]),
        mp([quote("AAPL", 5.0, 5.1), quote("QQQ", 6.0, 6.1)]),
    ]
    for f in frames:
        md._handle(f, events.append)
    assert events == []  # held until the reader yields the loop
    await asyncio.sleep(0)
    (batch,) = events
    assert isinstance(batch, QuoteBatch)
    assert {q.symbol: q.bid for q in batch.quotes} == {"AAPL": 5.0, "SPY": 2.0, "QQQ": 6.0}
    assert batch.conflated == 2 and md.conflated == 2 and md.quotes == 5
    md._handle(frames[1], events.append)  # the consumer kept up: a frame is its own batch
    await asyncio.sleep(0)
    assert len(events) == 2 and isinstance(events[1], QuoteBatch)
    assert [q.bid for q in events[1].quotes] == [3.0] and events[1].conflated == 0


async def test_while_the_consumer_is_busy_quotes_stay_held_and_go_out_when_it_takes(
    creds: Credentials,
) -> None:
    """Backpressure (``hold_quotes_while``): while the consumer has not taken the quotes it
    was handed, frames are conflated in the reader (each symbol's newest); a trading status
    still goes out at once, after the quotes before it; when the consumer takes its quotes
    (the returned callable) what is held goes out."""
    md = feed("ws://127.0.0.1:9", creds)
    busy = [True]
    resume = md.hold_quotes_while(lambda: busy[0])
    events: list[Event] = []
    md._handle(mp([quote("AAPL", 1.0, 1.1), quote("SPY", 2.0, 2.1)]), events.append)
    md._handle(mp([quote("AAPL", 3.0, 3.1)]), events.append)
    await asyncio.sleep(0)
    assert events == []  # the consumer is busy: held, conflated
    halt = {"T": "s", "S": "SPY", "sc": "H", "sm": "Trading Halt", "rc": "", "rm": "",
            "z": "C", "t": payloads.timestamp("2024-07-24T13:31:00Z")}  # fmt: skip
    md._handle(mp([quote("QQQ", 4.0, 4.1), halt, quote("AAPL", 5.0, 5.1)]), events.append)
    assert [type(e) for e in events] == [QuoteBatch, TradingStatusChanged]
    first = events[0]
    assert isinstance(first, QuoteBatch)
    assert {q.symbol: q.bid for q in first.quotes} == {"AAPL": 3.0, "SPY": 2.0, "QQQ": 4.0}
    assert first.conflated == 1
    await asyncio.sleep(0)
    assert len(events) == 2  # AAPL 5.0 waits for the consumer
    busy[0] = False
    resume()
    await asyncio.sleep(0)
    assert len(events) == 3 and isinstance(events[2], QuoteBatch)
    assert [(q.symbol, q.bid) for q in events[2].quotes] == [("AAPL", 5.0)]


async def test_many_held_symbols_go_out_in_parts_one_loop_step_each(
    creds: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most ``MAX_HELD`` quote events are built per loop step (the loop's lag stays
    low with thousands of symbols); the rest stays held and conflating, and what was left
    out is counted once, with the last part."""
    from adapters.alpaca import data_stream

    monkeypatch.setattr(data_stream, "MAX_HELD", 2)
    md = feed("ws://127.0.0.1:9", creds)
    events: list[Event] = []
    md._handle(mp([quote(s, 1.0, 1.1) for s in ("A", "B", "C", "D", "E")]), events.append)
    assert len(events) == 1  # two of them at once (held reached MAX_HELD)
    md._handle(mp([quote("E", 2.0, 2.1)]), events.append)  # conflates into the held E
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    batches = [e for e in events if isinstance(e, QuoteBatch)]
    assert [[q.symbol for q in b.quotes] for b in batches] == [["A", "B"], ["C", "D"], ["E"]]
    assert batches[2].quotes[0].bid == 2.0
    assert [b.conflated for b in batches] == [0, 0, 1] and md.conflated == 1


async def test_quotes_held_before_an_error_in_their_frame_are_counted(creds: Credentials) -> None:
    """A frame's quotes are held as they are read; an error later in the frame (a 406)
    ends the session and the held quotes go out when the session ends: they were read, so
    they count, and the batch never reports a negative number of quotes conflated."""
    from adapters.alpaca.reconnect import StreamRefused

    md = feed("ws://127.0.0.1:9", creds)
    events: list[Event] = []
    frame = mp([quote("AAPL", 1.0, 1.1), quote("SPY", 2.0, 2.1),
                {"T": "error", "code": 406, "msg": "connection limit exceeded"}])
    with pytest.raises(StreamRefused):
        md._handle(frame, events.append)
    md._flush()  # as _consume's finally does
    (batch,) = events
    assert isinstance(batch, QuoteBatch) and len(batch.quotes) == 2
    assert batch.conflated == 0 and md.conflated == 0 and md.quotes == 2


async def test_impossible_prices_are_malformed_and_times_are_utc(creds: Credentials) -> None:
    """A NaN, negative or infinite price never reaches the engine (counted as malformed, the
    frame's good quotes kept); a stamp with an offset arrives in UTC, as the REST path's."""
    nan, inf = float("nan"), float("inf")
    server = FakeDataStream(
        frames=[
            mp([quote("AAPL", nan, 1.1), quote("SPY", 2.0, 2.1)]),
            mp([quote("AAPL", -1.0, 1.1)]),
            mp([quote("AAPL", 1.0, inf)]),
            '[{"T": "q", "S": "QQQ", "bp": 3.0, "ap": 3.1, "t": "2026-11-20T10:00:00-05:00"}]',
        ]
    )
    events: list[Event] = []
    async with serving(server) as url:
        md = feed(url, creds)
        async with running(md, ["AAPL", "SPY", "QQQ"], events):
            await until(lambda: md.quotes == 2)
            await asyncio.sleep(0.05)
    assert md.malformed == 3
    got = [q for e in events if isinstance(e, QuoteBatch) for q in e.quotes]
    assert [(q.symbol, q.bid) for q in got] == [("SPY", 2.0), ("QQQ", 3.0)]
    assert got[1].at == datetime(2026, 11, 20, 15, 0, tzinfo=UTC) and got[1].at.tzinfo is UTC
