"""Venue wiring: paper vs live hosts, simulator overrides, config errors, and no key in
any log line even at DEBUG."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.venue import build_venue, endpoints
from daemon.core.config.values import BrokerConfig
from daemon.core.events import Event, FeedRestored
from tests.adapters.alpaca.fake_streams import FakeDataStream, FakeTradeStream, serving, until


def anchor() -> datetime:
    """The venue's injected clock in these tests: a fixed anchor, never today's date."""
    return datetime(2026, 11, 23, 14, 35, tzinfo=UTC)


def test_paper_hosts() -> None:
    e = endpoints(BrokerConfig(kind="alpaca", paper=True, feed="iex"))
    assert e.rest == "https://paper-api.alpaca.markets"
    assert e.trade_stream == "wss://paper-api.alpaca.markets/stream"
    assert e.data == "https://data.alpaca.markets"
    assert e.stream == "wss://stream.data.alpaca.markets/v2/iex"


def test_live_hosts_and_sip() -> None:
    e = endpoints(BrokerConfig(kind="alpaca", paper=False, feed="sip"))
    assert e.rest == "https://api.alpaca.markets"
    assert e.trade_stream == "wss://api.alpaca.markets/stream"
    assert e.stream == "wss://stream.data.alpaca.markets/v2/sip"


def test_overrides_for_the_simulator() -> None:
    e = endpoints(
        BrokerConfig(
            rest_url="http://127.0.0.1:1",
            data_url="http://127.0.0.1:2",
            stream_url="ws://127.0.0.1:3/v2/iex",
            trade_stream_url="ws://127.0.0.1:4/stream",
        )
    )
    assert (e.rest, e.data, e.stream, e.trade_stream) == (
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
        "ws://127.0.0.1:3/v2/iex",
        "ws://127.0.0.1:4/stream",
    )


def test_bad_feed_is_named() -> None:
    with pytest.raises(ValueError, match=r"broker\.feed 'bats' is not one of iex, sip"):
        endpoints(BrokerConfig(feed="bats"))


async def test_build_venue_from_config_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", "PKENV")
    monkeypatch.setenv("APCA_API_SECRET_KEY", "envsecret")
    broker = BrokerConfig(
        kind="alpaca",
        requests_per_minute=100,
        rate_headroom=0.2,
        request_timeout_seconds=3.0,
        stale_after_seconds=12.0,
        feed="test",
    )
    async with build_venue(broker, now=anchor) as venue:
        gateway, _, _, trade_updates = venue.ports()
        assert venue.limiter.capacity == 80
        assert venue.rest.timeout.total == 3.0
        assert venue.market_data.stale_after == 12.0
        assert venue.account.feed == "iex"  # the REST latest-quotes endpoint has no test feed
        assert venue.market_data.url.endswith("/v2/test")
        assert gateway is venue.gateway and trade_updates is venue.trade_updates


async def test_no_key_reaches_a_log_line_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    creds = Credentials(Secret("PKTEST"), Secret("test-secret-value"))
    data, trade = FakeDataStream(), FakeTradeStream()
    events: list[Event] = []
    with caplog.at_level(logging.DEBUG):
        async with serving(data) as data_url, serving(trade) as trade_url:
            broker = BrokerConfig(
                rest_url="http://127.0.0.1:9",
                data_url="http://127.0.0.1:9",
                stream_url=data_url,
                trade_stream_url=trade_url,
            )
            async with build_venue(broker, creds, now=anchor) as venue:
                tasks = [
                    asyncio.create_task(venue.market_data.run(["AAPL"], events.append)),
                    asyncio.create_task(venue.trade_updates.run(events.append)),
                ]
                await until(lambda: sum(isinstance(e, FeedRestored) for e in events) == 2)
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    server_lines = [r for r in caplog.records if r.name.startswith("websockets.server")]
    assert any("test-secret-value" in r.getMessage() for r in server_lines)  # DEBUG was live
    ours = "\n".join(r.getMessage() for r in caplog.records if r not in server_lines)
    assert "test-secret-value" not in ours and "PKTEST" not in ours


async def test_injected_clock_stamps_venue_events() -> None:
    from datetime import UTC, datetime

    from daemon.core.commands import PlaceOrder
    from daemon.core.model import Side

    fixed = datetime(2030, 1, 2, 15, 0, tzinfo=UTC)
    creds = Credentials(Secret("k"), Secret("s"))
    async with build_venue(BrokerConfig(), creds, now=lambda: fixed) as venue:
        ev = await venue.gateway.submit(PlaceOrder("c", "X", Side.BUY, None, None, None))
        assert ev.at == fixed
        assert venue.market_data.supervisor._now() == fixed
        assert venue.trade_updates.supervisor._now() == fixed and venue.trade_updates._now() == fixed
        assert venue.account._now() == fixed
