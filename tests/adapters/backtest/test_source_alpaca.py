"""``rebalanced backtest --source alpaca`` against the paper exchange on 127.0.0.1 serving
historical bars: the fetched table holds alpaca-py's own adjusted closes and volumes, the
backtest on it equals the same backtest on a file built from alpaca-py's bars, every page is
fetched, a cached request sends nothing (and needs no keys), and without keys the error
names the variables to set. Dates come from the simulator's clock."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame

from adapters.alpaca.bars import bars_between
from adapters.alpaca.credentials import Credentials, Secret
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from adapters.sim.testing import RunningSim, running_sim

ROOT = Path(__file__).resolve().parents[3]
NY = ZoneInfo("America/New_York")


@pytest.fixture
async def sim() -> AsyncIterator[RunningSim]:
    async with running_sim(run_ticker=False) as s:
        yield s


def config(tmp: Path, sim: RunningSim) -> Path:
    cfg = tmp / "c.toml"
    cfg.write_text(
        "[portfolio]\ncash_target = 2\n[portfolio.targets]\nSPY = 58\nAGG = 40\n"
        '[trigger]\nmode = "hybrid"\n[trigger.calendar]\nfrequency = "monthly"\nday = 31\n'
        f'[broker]\nkind = "alpaca"\nfeed = "iex"\nrest_url = "{sim.base_url}"\n'
        f'data_url = "{sim.base_url}"\n'
    )
    return cfg


async def cli(*argv: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "daemon.cli", "backtest", *argv, env={"PATH": "/usr/bin:/bin",
        **env}, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def bars_requests(sim: RunningSim) -> int:
    log = await sim.requests_log(orders_only=False)
    return sum(1 for e in log if e["path"] == "/v2/stocks/bars")


def keys(sim: RunningSim) -> dict[str, str]:
    return {"APCA_API_KEY_ID": sim.key_id, "APCA_API_SECRET_KEY": sim.secret}


async def test_fetched_table_is_alpaca_pys_bars_and_is_cached(
    sim: RunningSim, tmp_path: Path
) -> None:
    today = sim.clock.now().astimezone(NY).date()
    first, last = today - timedelta(days=800), today - timedelta(days=30)
    cfg, cache = config(tmp_path, sim), tmp_path / "cache"
    window = ["--from", first.isoformat(), "--to", last.isoformat()]
    code, out, err = await cli("--config", str(cfg), "--source", "alpaca", *window,
                               "--cache-dir", str(cache), "--json", env=keys(sim))  # fmt: skip
    assert code == 0, err
    fetched = json.loads(out)
    (table,) = cache.glob("bars-*.csv")
    assert str(table) in err

    # the reference: alpaca-py's client on the same host, written as a prices file
    client = StockHistoricalDataClient(sim.key_id, sim.secret, url_override=sim.base_url)
    req = StockBarsRequest(symbol_or_symbols=["SPY", "AGG"], timeframe=TimeFrame.Day,
                           start=pd.Timestamp(first, tz=NY).to_pydatetime(),
                           end=pd.Timestamp(last + timedelta(days=1), tz=NY).to_pydatetime(),
                           adjustment=Adjustment.ALL, feed=DataFeed.IEX)  # fmt: skip
    ref = (await asyncio.to_thread(client.get_stock_bars, req)).df  # type: ignore[union-attr]
    wide = ref.reset_index().assign(date=lambda d: d["timestamp"].dt.tz_convert(NY).dt.date)
    closes = wide.pivot(index="date", columns="symbol", values="close").dropna()
    volumes = wide.pivot(index="date", columns="symbol", values="volume").loc[closes.index]
    got = pd.read_csv(table, index_col="date")
    assert list(got.index) == [d.isoformat() for d in closes.index]
    assert (
        len(got) > 500 and got.index[0] >= first.isoformat() and got.index[-1] <= last.isoformat()
    )
    for s in ("SPY", "AGG"):
        assert (got[s].to_numpy() == closes[s].to_numpy()).all()
        assert (got[f"{s}:volume"].to_numpy() == volumes[s].to_numpy()).all()
    mine = tmp_path / "ref.csv"
    pd.DataFrame({"date": [d.isoformat() for d in closes.index], "SPY": closes["SPY"].to_numpy(),
                  "AGG": closes["AGG"].to_numpy(), "SPY:volume": volumes["SPY"].to_numpy(),
                  "AGG:volume": volumes["AGG"].to_numpy()}).to_csv(mine, index=False)  # fmt: skip
    code, out, err = await cli("--config", str(cfg), "--prices", str(mine), *window, "--json",
                               env={})  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == fetched

    # cached: no request, no keys needed; --refresh fetches again
    before = await bars_requests(sim)
    code, out, err = await cli("--config", str(cfg), "--source", "alpaca", *window,
                               "--cache-dir", str(cache), "--json", env={})  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == fetched and await bars_requests(sim) == before
    code, out, err = await cli("--config", str(cfg), "--source", "alpaca", *window, "--refresh",
                               "--cache-dir", str(cache), "--json", env=keys(sim))  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == fetched and await bars_requests(sim) > before


async def test_every_page_is_fetched(sim: RunningSim) -> None:
    today = sim.clock.now().astimezone(NY).date()
    rest = AlpacaRest(Credentials(Secret(sim.key_id), Secret(sim.secret)), base_url=sim.base_url,
                      data_url=sim.base_url, limiter=RateLimiter(200),
                      data_limiter=RateLimiter(600), timeout_seconds=5.0)  # fmt: skip
    try:
        first, last = today - timedelta(days=400), today - timedelta(days=10)
        whole = await bars_between(rest, ["SPY", "AGG"], first, last, "iex")
        n0 = await bars_requests(sim)
        paged = await bars_between(rest, ["SPY", "AGG"], first, last, "iex", page_limit=37)
        pages = await bars_requests(sim) - n0
    finally:
        await rest.close()
    total = sum(len(v) for v in whole.values())
    assert paged == whole and total > 400
    assert pages == -(-total // 37)
    assert all(first <= b.day <= last for v in whole.values() for b in v)


async def test_without_keys_the_error_names_the_fix(sim: RunningSim, tmp_path: Path) -> None:
    cfg = config(tmp_path, sim)
    code, out, err = await cli("--config", str(cfg), "--source", "alpaca", "--from", "2024-01-02",
                               "--to", "2024-06-28", "--cache-dir", str(tmp_path / "c"),
                               env={})  # fmt: skip
    assert code == 78 and out == ""
    assert "APCA_API_KEY_ID" in err and "APCA_API_SECRET_KEY" in err
    assert not (tmp_path / "c").exists()
    code, _, err = await cli("--config", str(cfg), "--source", "alpaca", env=keys(sim))
    assert code == 64 and "--from" in err


async def test_a_symbol_without_bars_exits_65_and_caches_nothing(
    sim: RunningSim, tmp_path: Path
) -> None:
    cfg = config(tmp_path, sim)
    cfg.write_text(cfg.read_text().replace("AGG = 40", "ZZZZ = 40"))
    today = sim.clock.now().astimezone(NY).date()
    code, out, err = await cli("--config", str(cfg), "--source", "alpaca", "--from",
                               (today - timedelta(days=200)).isoformat(), "--to",
                               (today - timedelta(days=10)).isoformat(), "--cache-dir",
                               str(tmp_path / "c"), "--json", env=keys(sim))  # fmt: skip
    assert code == 65 and out == ""
    assert "no daily bars for ZZZZ" in err and "[portfolio.targets]" in err
    assert list((tmp_path / "c").glob("*")) == []
