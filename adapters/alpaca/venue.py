"""Build the Alpaca adapter from config + credentials: hosts for paper or live (or the
simulator's overrides), one rate limiter per key, REST, account, gateway and both streams.

    async with build_venue(config.broker, now=clock.now) as venue:
        snapshot = await venue.account.snapshot()
        ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from adapters.alpaca.account import AlpacaAccount
from adapters.alpaca.corporate_actions import SplitsSource
from adapters.alpaca.credentials import Credentials, load_credentials
from adapters.alpaca.data_stream import AlpacaMarketData
from adapters.alpaca.gateway import AlpacaGateway
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from adapters.alpaca.trade_stream import AlpacaTradeUpdates
from adapters.backoff import Backoff
from adapters.ports import AccountSource, MarketDataFeed, OrderGateway, TradeUpdatesFeed
from daemon.core.config.values import BrokerConfig

LIVE_REST = "https://api.alpaca.markets"
PAPER_REST = "https://paper-api.alpaca.markets"
LIVE_TRADE_STREAM = "wss://api.alpaca.markets/stream"
PAPER_TRADE_STREAM = "wss://paper-api.alpaca.markets/stream"
DATA_REST = "https://data.alpaca.markets"
DATA_STREAM = "wss://stream.data.alpaca.markets/v2/{feed}"
FEEDS = ("iex", "sip", "delayed_sip", "test")


@dataclass(frozen=True, slots=True)
class Endpoints:
    rest: str
    data: str
    stream: str
    trade_stream: str


def endpoints(broker: BrokerConfig) -> Endpoints:
    """Paper or live hosts (reference §1.1, §3.1, §4), each replaceable by an override."""
    if broker.feed not in FEEDS:
        raise ValueError(f"broker.feed {broker.feed!r} is not one of {', '.join(FEEDS)}")
    return Endpoints(
        rest=broker.rest_url or (PAPER_REST if broker.paper else LIVE_REST),
        data=broker.data_url or DATA_REST,
        stream=broker.stream_url or DATA_STREAM.format(feed=broker.feed),
        trade_stream=broker.trade_stream_url
        or (PAPER_TRADE_STREAM if broker.paper else LIVE_TRADE_STREAM),
    )


@dataclass
class AlpacaVenue:
    endpoints: Endpoints
    limiter: RateLimiter
    rest: AlpacaRest
    account: AlpacaAccount
    gateway: AlpacaGateway
    market_data: AlpacaMarketData
    trade_updates: AlpacaTradeUpdates
    splits: SplitsSource  # the broker's split records, for the split hold

    def ports(self) -> tuple[OrderGateway, AccountSource, MarketDataFeed, TradeUpdatesFeed]:
        """The four ports the shell drives (mypy checks that each one conforms)."""
        return self.gateway, self.account, self.market_data, self.trade_updates

    async def close(self) -> None:
        await self.rest.close()

    async def __aenter__(self) -> AlpacaVenue:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def build_venue(
    broker: BrokerConfig,
    credentials: Credentials | None = None,
    *,
    reap_window: float = 90.0,
    backoff_base: float = 1.0,
    backoff_cap: float = 60.0,
    now: Callable[[], datetime],
) -> AlpacaVenue:
    """Wire everything for one key pair. Keys come from the environment or systemd
    credentials unless given. ``now`` (required: a library never picks the wall clock)
    stamps the events the venue makes (snapshots, feed lost/restored): the shell passes
    its broker-synced clock. Catch-up windows use the broker's own time whatever ``now``
    says (``AlpacaAccount.broker_time``)."""
    clock = now
    creds = credentials or load_credentials()
    ends = endpoints(broker)
    limiter = RateLimiter(broker.requests_per_minute, broker.rate_headroom)
    rest = AlpacaRest(
        creds,
        base_url=ends.rest,
        data_url=ends.data,
        limiter=limiter,
        timeout_seconds=broker.request_timeout_seconds,
    )
    account = AlpacaAccount(rest, feed=broker.feed, now=clock)
    market_data = AlpacaMarketData(
        ends.stream,
        creds,
        latest_quotes=account.latest_quotes,
        stale_after=broker.stale_after_seconds,
        backoff=Backoff(backoff_base, backoff_cap, reap_window),
        now=clock,
    )
    trade_updates = AlpacaTradeUpdates(
        ends.trade_stream,
        creds,
        changed_orders=account.changed_orders,
        broker_time=account.broker_time,
        resume_hint=lambda: account.last_snapshot_at,
        backoff=Backoff(backoff_base, backoff_cap, reap_window),
        now=clock,
    )
    return AlpacaVenue(
        endpoints=ends,
        limiter=limiter,
        rest=rest,
        account=account,
        gateway=AlpacaGateway(rest, now=clock),
        market_data=market_data,
        trade_updates=trade_updates,
        splits=SplitsSource(rest, account.broker_time, clock),
    )
