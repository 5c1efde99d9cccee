"""What the broker says about the configured symbols, folded into the config at start-up:
an asset that is not ``fractionable`` is traded in whole shares (a fractional order would
be rejected), one that is not ``tradable`` is held as excluded (counted, never traded), and
a symbol the broker does not know is a configuration error."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from daemon.core.config.values import Config

Fetch = Callable[[str], Awaitable[tuple[int, bytes]]]


@dataclass(frozen=True, slots=True)
class AssetInfo:
    symbol: str
    tradable: bool
    fractionable: bool
    status: str


class UnknownSymbolsError(ValueError):
    pass


async def fetch_assets(symbols: Iterable[str], fetch: Fetch) -> dict[str, AssetInfo | None]:
    """``fetch(path)`` returns (status, body); 404 → None (unknown at the broker)."""
    out: dict[str, AssetInfo | None] = {}
    for sym in symbols:
        status, body = await fetch(f"/v2/assets/{sym}")
        if status == 404:
            out[sym] = None
            continue
        data: dict[str, Any] = json.loads(body)
        out[sym] = AssetInfo(sym, bool(data.get("tradable", True)),
                             bool(data.get("fractionable", True)), str(data.get("status", "")))
    return out


def apply_assets(config: Config, assets: Mapping[str, AssetInfo | None]) -> tuple[Config, list[str]]:
    """The config with broker facts applied, and human-readable notes of what changed."""
    unknown = sorted(s for s, a in assets.items() if a is None and config.asset(s) is not None)
    if unknown:
        raise UnknownSymbolsError(
            f"the broker does not know {', '.join(unknown)}: check the symbols in "
            "[portfolio.targets] (they are case-sensitive, e.g. 'BRK.B')")
    notes: list[str] = []
    new_assets = []
    excluded = set(config.portfolio.excluded)
    for a in config.portfolio.assets:
        info = assets.get(a.symbol)
        if info is not None and not info.fractionable and a.fractional:
            a = replace(a, fractional=False)
            notes.append(f"{a.symbol}: not fractionable at the broker: whole shares only")
        if info is not None and (not info.tradable or info.status == "inactive"):
            notes.append(f"{a.symbol}: not tradable at the broker: held, never traded")
            excluded.add(a.symbol)
        new_assets.append(a)
    portfolio = replace(config.portfolio, assets=tuple(new_assets), excluded=frozenset(excluded))
    return replace(config, portfolio=portfolio), notes
