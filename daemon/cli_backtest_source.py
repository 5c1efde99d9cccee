"""``rebalanced backtest --source alpaca``: the price table from the broker's daily bars.

The keys are read as the daemon reads them (``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``,
or systemd credentials); the hosts come from the config's ``[broker]`` (``data_url`` for the
bars, ``rest_url`` for the broker's clock when ``--to`` is not given: the last session
before the broker's today). The table is cached on disk (``adapters.backtest.alpaca_source``);
a run whose request is cached sends nothing, and needs no keys.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from adapters.backtest.alpaca_source import (
    SourceError,
    cache_file,
    default_cache_dir,
    prices_from_bars,
)
from daemon.host_clock import utc_now

EX_DATAERR, EX_UNAVAILABLE, EX_CONFIG = 65, 69, 78

__all__ = ["resolve_prices"]


def resolve_prices(args: argparse.Namespace, config: Any) -> Path:
    """The path of the cached table for ``args``' window; raise ``SourceError``."""
    from adapters.alpaca.venue import endpoints

    if args.start is None:
        raise SourceError("--source alpaca needs --from (or --window): the first day to fetch", 64)
    broker = replace(config.broker, kind="alpaca")
    data_url = endpoints(broker).data
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir(os.environ)
    symbols = list(config.symbols)
    if args.end is not None:  # a cached request needs neither keys nor the network
        path = cache_file(cache_dir, data_url, broker.feed, symbols, args.start, args.end)
        if path.is_file() and not args.refresh:
            return path
    return asyncio.run(_fetch(args, broker, cache_dir, data_url, symbols))


async def _fetch(
    args: argparse.Namespace, broker: Any, cache_dir: Path, data_url: str, symbols: list[str]
) -> Path:
    from adapters.alpaca.bars import NEW_YORK, bars_between
    from adapters.alpaca.credentials import CredentialsError, load_credentials
    from adapters.alpaca.venue import build_venue

    try:
        keys = load_credentials()
    except CredentialsError as exc:
        raise SourceError(f"--source alpaca needs API keys: {exc}", EX_CONFIG) from None
    venue = build_venue(broker, keys, now=utc_now)
    try:
        last: date = args.end
        if last is None:  # the last session before the broker's today (its /v2/clock)
            clock = await venue.account.clock()
            last = clock.at.astimezone(NEW_YORK).date() - timedelta(days=1)
        path = cache_file(cache_dir, data_url, broker.feed, symbols, args.start, last)

        async def fetch() -> Any:
            return await bars_between(venue.rest, symbols, args.start, last, broker.feed)

        got, fetched, notes = await prices_from_bars(fetch, path, symbols, refresh=args.refresh)
    except SourceError:
        raise
    except Exception as exc:
        raise SourceError(
            f"cannot fetch daily bars from {data_url} ({type(exc).__name__}: {exc}): check "
            "[broker] data_url/rest_url and the keys, or give --prices FILE",
            EX_UNAVAILABLE,
        ) from None
    finally:
        await venue.close()
    if fetched:
        print(f"rebalanced backtest: fetched daily bars into {got}", file=sys.stderr)
    for note in notes:
        print(f"rebalanced backtest: note: {note}", file=sys.stderr)
    return got
