"""``rebalanced backtest``: the live engine on price history, with costs.

    rebalanced backtest --config C (--prices P | --source alpaca [--cache-dir D] [--refresh])
                        [--from D] [--to D] [--initial-value V]
                        [--cash-flows F] [--spread-bps B] [--json] [--report DIR]
                        [--window gfc-2008|covid-2020|inflation-2022]
                        [--sweep SPEC [--sort METRIC] [--jobs N] [--walk-forward TRAIN:TEST]]
                        [--models KINDS|all]

The composition root of a backtest: it reads the config, the price table
(``adapters.backtest.prices``: CSV or Parquet, ``date`` + one total-return close column per
symbol, optional ``SYMBOL:volume``, ``SYMBOL:spread_bps`` and ``SYMBOL:dividend``) and the cash flows, and hands
them to the feeder (``adapters.backtest.feeder``), which drives a fresh ``Engine``. The
summary (``adapters.backtest.metrics``) goes to stdout as one JSON object (``--json``) or a
table; ``--report DIR`` also writes ``DIR/report.html`` with its charts.

``--source alpaca`` fetches the table instead (``daemon.cli_backtest_source``).

Exit codes: 0 done; 64 bad usage; 65 (EX_DATAERR) bad prices or cash flows, with file, row
and column named, and nothing written; 69 --report without matplotlib, or the data host
unreachable; 73 the report cannot be written; 78 (EX_CONFIG) bad configuration, or
``--source alpaca`` without API keys.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal, InvalidOperation

from daemon.cli_args import iso_date
from daemon.core.config.values import Config

EX_USAGE = 64
EX_DATAERR = 65


def _money(text: str) -> Decimal:
    try:
        v = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount of dollars") from None
    if not v.is_finite() or v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the initial value must be > 0")
    return v


def _bps(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of basis points") from None
    if not 0 <= v < 10_000:
        raise argparse.ArgumentTypeError(f"{text!r}: a spread in bp must be in [0, 10000)")
    return v


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rebalanced backtest",
        description="Run the rebalancing engine over price history (see docs/backtest.md).",
    )
    p.add_argument("--config", required=True, help="the rebalanced TOML config")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--prices",
        help="CSV or Parquet: date + one total-return close per symbol "
        "(optional SYMBOL:volume, SYMBOL:spread_bps, SYMBOL:dividend)",
    )
    src.add_argument(
        "--source",
        choices=("alpaca",),
        help="fetch the config's symbols' daily bars (adjustment=all) from [broker]'s data "
        "host with APCA_API_KEY_ID/APCA_API_SECRET_KEY; cached on disk",
    )
    p.add_argument(
        "--cache-dir",
        help="with --source: where fetched tables are kept "
        "(default $XDG_CACHE_HOME/rebalanced/bars or ~/.cache/rebalanced/bars)",
    )
    p.add_argument(
        "--refresh", action="store_true", help="with --source: fetch again, ignoring the cache"
    )
    p.add_argument("--from", dest="start", type=iso_date, help="first date (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", type=iso_date, help="last date (YYYY-MM-DD)")
    p.add_argument(
        "--initial-value",
        type=_money,
        default=Decimal(100_000),
        help="starting cash, invested on the first row (default 100000)",
    )
    p.add_argument("--cash-flows", help="CSV of date,amount (deposits > 0, withdrawals < 0)")
    p.add_argument(
        "--spread-bps",
        type=_bps,
        default=None,
        help="full bid-ask spread in bp where the data has no SYMBOL:spread_bps column "
        "(default: twice cost.default_half_spread_bps)",
    )
    p.add_argument(
        "--window",
        help="a named regime instead of --from/--to: gfc-2008, covid-2020, inflation-2022",
    )
    p.add_argument(
        "--sweep",
        metavar="SPEC",
        nargs="?",
        const="",
        help="a grid of config values, e.g. 'trigger.mode=calendar,hybrid;cost.gate=true,false'; "
        "--sweep alone: the config's [backtest.sweep] table",
    )
    p.add_argument(
        "--sort",
        default="sharpe",
        help="metric to rank a sweep by: sharpe, annual_return, annual_volatility, "
        "max_drawdown, turnover, costs (default sharpe)",
    )
    p.add_argument("--jobs", type=int, default=2, help="worker processes for a sweep (default 2)")
    p.add_argument(
        "--walk-forward",
        metavar="TRAIN:TEST",
        help="with --sweep: choose on TRAIN years, report on the next TEST years, rolling",
    )
    p.add_argument(
        "--models",
        metavar="KINDS",
        help="compare model targets with static ones on the same rows: a comma list of "
        "[targets.model] kinds (mean_variance, max_sharpe, min_volatility, "
        "inverse_volatility, risk_parity, hrp) or 'all'; each walk-forward",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--report", metavar="DIR", help="also write DIR/report.html with charts")
    return p


def _with_substitutes(config: Config) -> tuple[str, ...]:
    """The targets, and the harvest's substitutes when it may buy them (their prices)."""
    tax = config.tax
    if not (tax.taxable and tax.harvest.enabled):
        return config.symbols
    subs = sorted({s for ss in tax.harvest.substitutes.values() for s in ss} - set(config.symbols))
    return (*config.symbols, *subs)


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else EX_USAGE
    if args.start and args.end and args.start > args.end:
        print("rebalanced backtest: --from is after --to", file=sys.stderr)
        return EX_USAGE
    from adapters.backtest.sweep import METRICS, WINDOWS, SweepError

    if args.window is not None:
        if args.start or args.end:
            print("rebalanced backtest: give --window or --from/--to, not both", file=sys.stderr)
            return EX_USAGE
        if args.window not in WINDOWS:
            print(
                f"rebalanced backtest: unknown --window {args.window!r}: use one of "
                + ", ".join(WINDOWS),
                file=sys.stderr,
            )
            return EX_USAGE
        args.start, args.end, _ = WINDOWS[args.window]
    if args.sort not in METRICS:
        print(
            f"rebalanced backtest: --sort {args.sort!r}: use one of {', '.join(METRICS)}",
            file=sys.stderr,
        )
        return EX_USAGE
    if args.walk_forward and args.sweep is None:
        print(
            "rebalanced backtest: --walk-forward needs --sweep (the grid to choose from)",
            file=sys.stderr,
        )
        return EX_USAGE
    if (args.sweep is not None or args.walk_forward) and args.report:
        print(
            "rebalanced backtest: --report is for a single backtest, not a sweep", file=sys.stderr
        )
        return EX_USAGE

    from adapters.backtest.cash_flows import load_cash_flows
    from adapters.backtest.feeder import Feeder
    from adapters.backtest.metrics import summary, table
    from adapters.backtest.prices import DataError, load_prices
    from daemon.config_file import EX_CONFIG, ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"rebalanced backtest: bad config:\n{exc}", file=sys.stderr)
        return EX_CONFIG
    if args.source:
        from adapters.backtest.alpaca_source import SourceError
        from daemon.cli_backtest_source import resolve_prices

        try:
            args.prices = str(resolve_prices(args, config))
        except SourceError as exc:
            print(f"rebalanced backtest: {exc}", file=sys.stderr)
            return exc.code
    try:
        history = load_prices(args.prices, _with_substitutes(config))
        series = history.window(args.start, args.end)
        flows = load_cash_flows(args.cash_flows) if args.cash_flows else []
    except DataError as exc:
        print(f"rebalanced backtest: {exc}", file=sys.stderr)
        return EX_DATAERR
    if len(series.dates) < 2:
        print(
            f"rebalanced backtest: {args.prices}: {len(series.dates)} row(s) between --from and "
            "--to: a backtest needs at least 2",
            file=sys.stderr,
        )
        return EX_DATAERR
    if args.models:
        from daemon.cli_backtest_models import compare

        return compare(args, config, history, series, tuple(flows))
    if args.sweep is not None:
        from adapters.backtest.sweep import grid, parse_grid
        from daemon.cli_backtest_compare import sweep, walk_forward

        try:
            if args.sweep:
                args.grid = parse_grid(args.sweep)
            elif config.backtest.sweep:
                args.grid = grid(config.backtest.axes())
            else:
                raise SweepError(
                    f"--sweep without a SPEC needs a [backtest.sweep] table in {args.config} "
                    "(e.g. bands.absolute = [3, 5]), or give the grid: --sweep 'bands.absolute=3,5'"
                )
            if args.walk_forward:
                return walk_forward(args, history, series, tuple(flows))
            return sweep(args, history, series, tuple(flows))
        except SweepError as exc:
            print(f"rebalanced backtest: {exc}", file=sys.stderr)
            return EX_USAGE
    if config.targets_model.kind != "static":  # walk-forward model targets
        from adapters.backtest.models import run_model

        model_run = run_model(config, history, series, args.initial_value, cash_flows=flows,
                              spread_bps=args.spread_bps)  # fmt: skip
        run, result = model_run.run, model_run.result
    else:
        run = Feeder(
            config,
            series,
            args.initial_value,
            cash_flows=flows,
            spread_bps=args.spread_bps,
            history=history,
        ).run()
        result = summary(run, float(args.initial_value))
    if args.report:
        from adapters.backtest.report import write_report

        try:
            path = write_report(args.report, run, result, config)
        except ImportError as exc:
            print(
                f"rebalanced backtest: --report needs matplotlib ({exc}): pip install matplotlib",
                file=sys.stderr,
            )
            return 69  # EX_UNAVAILABLE
        except OSError as exc:
            print(
                f"rebalanced backtest: cannot write the report in {args.report}: {exc}",
                file=sys.stderr,
            )
            return 73  # EX_CANTCREAT
        if not args.json:
            print(f"report: {path}", file=sys.stderr)
    for d, amount in run.ignored_flows:
        print(
            f"rebalanced backtest: cash flow {amount} on {d.isoformat()} is outside the "
            "series' rows: ignored",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(result))
    return 0
