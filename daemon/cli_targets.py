"""``rebalanced targets``: the model's current target weights, with their inputs.

    rebalanced targets --config C [--prices P | --source sim|alpaca] [--as-of D] [--json]

The weights in force on ``--as-of`` (default: the day after the last price row, or the
broker's today with ``--source``), estimated as the daemon estimates them: from the closes
dated strictly before the first session of that day's schedule period
(``[targets.model] schedule``), the last ``window_days`` returns of them. ``--prices`` is a
wide CSV/Parquet table as for ``rebalanced backtest``; ``--source`` fetches the broker's
daily bars (``[broker]`` of the config, keys from the environment). The turnover penalty
pulls toward the configured ``[portfolio.targets]`` (the CLI keeps no state).

Exit codes: 0 done; 64 bad usage; 65 bad price data, or no estimate from it (too little
history, a NaN close, a singular covariance, infeasible bounds, a solver failure: the
message says which and what to change); 69 the broker's bars cannot be fetched; 78 bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from typing import Any

from daemon.cli_args import iso_date
from daemon.host_clock import utc_now

EX_USAGE = 64
EX_DATAERR = 65
EX_UNAVAILABLE = 69


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rebalanced targets",
        description="Print the model's current target weights ([targets.model]) and its inputs.",
    )
    p.add_argument("--config", required=True, help="the rebalanced TOML config")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--prices", help="CSV or Parquet: date + one total-return close per symbol")
    src.add_argument("--source", choices=("sim", "alpaca"), help="the broker's daily bars")
    p.add_argument("--as-of", type=iso_date, help="the day whose targets to show (YYYY-MM-DD)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else EX_USAGE
    from daemon.config_file import EX_CONFIG, ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"rebalanced targets: bad config:\n{exc}", file=sys.stderr)
        return EX_CONFIG
    static = {a.symbol: a.target for a in config.portfolio.assets}
    cfg = config.targets_model
    if cfg.kind == "static":
        out: dict[str, Any] = {"kind": "static", "targets": static,
                               "cash_target": config.portfolio.cash_target}  # fmt: skip
        _print(args.json, out, "kind static: the configured [portfolio.targets]")
        return 0
    if args.prices is None and args.source is None:
        print("rebalanced targets: give --prices FILE or --source sim|alpaca", file=sys.stderr)
        return EX_USAGE
    try:
        dates, closes, today = _load(args, config)
    except _Failed as exc:
        print(f"rebalanced targets: {exc}", file=sys.stderr)
        return exc.code
    from adapters.models.estimate import targets_for
    from adapters.models.weights import ModelFailure

    try:
        result = targets_for(config, dates, closes, today)
    except ModelFailure as f:
        print(
            f"rebalanced targets: no estimate for {today.isoformat()} ({f.reason}): {f.message}",
            file=sys.stderr,
        )
        return EX_DATAERR
    x = result.inputs
    out = {
        "kind": str(cfg.kind),
        "as_of": today.isoformat(),
        "source": result.source,
        "schedule": str(cfg.schedule),
        "symbols": list(x.symbols),
        "window_days": cfg.window_days,
        "observations": x.observations,
        "inputs_from": x.dates[0].isoformat(),
        "inputs_to": x.dates[-1].isoformat(),
        "covariance": str(cfg.covariance),
        "returns": str(cfg.returns),
        "targets": dict(result.targets),
        "cash_target": config.portfolio.cash_target,
        "static_targets": static,
    }
    _print(args.json, out, "")
    return 0


class _Failed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _load(args: argparse.Namespace, config: Any) -> tuple[Any, Any, date]:
    if args.prices is not None:
        from adapters.backtest.prices import DataError, load_prices

        try:
            s = load_prices(args.prices, config.symbols)
        except DataError as exc:
            raise _Failed(EX_DATAERR, str(exc)) from None
        order = [s.symbols.index(sym) for sym in config.symbols]
        today = args.as_of or s.dates[-1] + timedelta(days=1)
        return s.dates, s.closes[:, order], today
    return _from_broker(args, config)


def _from_broker(args: argparse.Namespace, config: Any) -> tuple[Any, Any, date]:
    import asyncio
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    from adapters.models.estimate import closes_from_bars

    broker = replace(config.broker, kind=args.source)
    sessions = config.targets_model.window_days + 40  # the period's first sessions too
    tz = ZoneInfo(config.trigger.timezone)

    async def fetch() -> tuple[Any, date]:
        from adapters.alpaca.bars import AlpacaDailyBars
        from adapters.alpaca.credentials import (
            Credentials,
            CredentialsError,
            Secret,
            load_credentials,
        )
        from adapters.alpaca.venue import build_venue

        try:
            keys = load_credentials()
        except CredentialsError:
            if broker.kind != "sim":
                raise
            keys = Credentials(Secret("sim-key"), Secret("sim-secret"))  # the sim takes any
        venue = build_venue(broker, keys, now=utc_now)
        try:
            # the broker's today (its /v2/clock), as the daemon has it
            day = args.as_of or (await venue.account.clock()).at.astimezone(tz).date()
            got = await AlpacaDailyBars(venue.rest, broker.feed).daily_bars(
                list(config.symbols), day, sessions
            )
            return got, day
        finally:
            await venue.close()

    try:
        bars, today = asyncio.run(fetch())
    except Exception as exc:
        raise _Failed(
            EX_UNAVAILABLE,
            f"cannot fetch daily bars from {args.source} ({type(exc).__name__}: {exc}): check "
            "[broker] and APCA_API_KEY_ID / APCA_API_SECRET_KEY, or use --prices FILE",
        ) from None
    dates, closes = closes_from_bars(bars, config.symbols)
    return dates, closes, today


def _print(as_json: bool, out: dict[str, Any], note: str) -> None:
    if as_json:
        print(json.dumps(out, indent=2))
        return
    if note:
        print(note)
    else:
        print(f"model     {out['source']}  (schedule {out['schedule']})")
        print(f"as of     {out['as_of']}")
        print(
            f"inputs    {len(out['symbols'])} symbols, {out['observations']} daily returns "
            f"{out['inputs_from']} … {out['inputs_to']} (window {out['window_days']}), "
            f"covariance {out['covariance']}, returns {out['returns']}"
        )
    static = out.get("static_targets", out["targets"])
    print(f"{'symbol':<8} {'target %':>9} {'static %':>9}")
    for sym, w in out["targets"].items():
        print(f"{sym:<8} {w * 100:>9.2f} {static[sym] * 100:>9.2f}")
    cash = out["cash_target"] * 100
    print(f"{'CASH':<8} {cash:>9.2f} {cash:>9.2f}")
