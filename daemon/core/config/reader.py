"""The configuration file (TOML) → ``Config``, with strict validation.

Every problem is collected (``ConfigProblem(path, message)``) and raised together as one
``ConfigError``. The file speaks percent where a person would (targets, cash, bands,
``min_trade_percent``, ``participation_cap``) and basis points for ``limit_offset_bps``;
``Config`` holds fractions. Money (``commission_per_order``, ``min_trade_dollars``,
``min_order_notional``) is ``Decimal`` parsed from ``str(number)``, so 0.1 stays 0.1.

Decisions: a zero target is allowed and means "hold none: sell it all"; a band width of
``false`` disables that width; in ``[bands]`` an omitted width is disabled too, while
``[bands.overrides.SYM]`` and ``[portfolio.cash_band]`` inherit omitted keys from ``[bands]``.
The covariance table is stored under both orders of each pair.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from daemon.core.config.backtest import BACKTEST_KEYS, backtest_section
from daemon.core.config.fields import ConfigError, ConfigProblem, Reader, fmt_num, type_name
from daemon.core.config.model_targets import TARGETS_KEYS, targets_section
from daemon.core.config.sections import (
    BROKER_KEYS,
    COST_KEYS,
    DAEMON_KEYS,
    EXECUTION_KEYS,
    MARKET_STATS_KEYS,
    PLANNER_KEYS,
    TRIGGER_KEYS,
    broker_section,
    cost_section,
    daemon_section,
    execution_section,
    market_stats_section,
    planner_section,
    trigger_section,
)
from daemon.core.config.tax import TAX_KEYS, tax_section
from daemon.core.config.values import (
    AssetConfig,
    Band,
    BandRule,
    Config,
    NotInTargets,
    PortfolioConfig,
)
from daemon.core.model import CASH
from daemon.core.tax.policy import widen_bands

__all__ = ["ConfigError", "ConfigProblem", "parse_config", "parse_config_text"]

TOP_KEYS = (
    *("portfolio", "bands", "assets", "trigger", "cost"),
    *("planner", "execution", "broker", "daemon", "market_stats"),
    "tax",
    "targets",
    "backtest",
)
PORTFOLIO_KEYS = (*(f.name for f in fields(PortfolioConfig) if f.name != "assets"), "targets")
BAND_KEYS = tuple(f.name for f in fields(Band))
BANDS_KEYS = (*BAND_KEYS, "overrides")
_ASSET_TOML = {"max_spread": "max_spread_bps"}
ASSET_KEYS = tuple(
    _ASSET_TOML.get(f.name, f.name)
    for f in fields(AssetConfig)
    if f.name not in ("symbol", "target", "band")
)
WEIGHT_TOLERANCE = 1e-6  # percent points
TICKER = re.compile(r"^[A-Z0-9][A-Z0-9./]{0,14}$")


def parse_config_text(text: str) -> Config:
    """Parse TOML text; a syntax error is a ``ConfigError`` naming the line."""
    too_deep = "arrays or tables are nested far too deeply to be a configuration"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem("<toml>", toml_syntax_message(exc))]) from None
    except RecursionError:
        raise ConfigError([ConfigProblem("<toml>", too_deep)]) from None
    try:
        return parse_config(data)
    except RecursionError:
        raise ConfigError([ConfigProblem("<toml>", too_deep)]) from None


def toml_syntax_message(exc: tomllib.TOMLDecodeError) -> str:
    return f"TOML syntax error: {exc}: fix the file at that line"


def parse_config(data: Mapping[str, Any]) -> Config:
    """Validate a decoded TOML document and build the ``Config``; raise ``ConfigError``
    listing every problem found."""
    r = Reader()
    root = r.check_table(data, "", TOP_KEYS)
    if "portfolio" not in root:
        r.problem("portfolio", "missing: add a [portfolio] table with [portfolio.targets]")
    bands_tbl = r.table(root, "bands", "bands", BANDS_KEYS)
    widths_given = any(k in bands_tbl for k in BAND_KEYS)  # [bands.overrides] alone: default
    default_band = _band(r, bands_tbl, "bands", Band(), inherit=not widths_given)
    portfolio = _portfolio(
        r, r.table(root, "portfolio", "portfolio", PORTFOLIO_KEYS), bands_tbl, root, default_band
    )
    targets = {a.symbol for a in portfolio.assets}
    trigger = trigger_section(r, r.table(root, "trigger", "trigger", TRIGGER_KEYS))
    cost = cost_section(r, r.table(root, "cost", "cost", COST_KEYS), targets)
    planner = planner_section(r, r.table(root, "planner", "planner", PLANNER_KEYS))
    execution = execution_section(r, r.table(root, "execution", "execution", EXECUTION_KEYS))
    broker = broker_section(r, r.table(root, "broker", "broker", BROKER_KEYS))
    daemon = daemon_section(r, r.table(root, "daemon", "daemon", DAEMON_KEYS))
    market_stats = market_stats_section(
        r, r.table(root, "market_stats", "market_stats", MARKET_STATS_KEYS)
    )
    tax = tax_section(r, r.table(root, "tax", "tax", TAX_KEYS), present="tax" in root)
    targets_model = targets_section(
        r, r.table(root, "targets", "targets", TARGETS_KEYS), targets, portfolio.cash_target
    )
    backtest = backtest_section(
        r, r.table(root, "backtest", "backtest", BACKTEST_KEYS), data, parse_config
    )
    if r.problems:
        raise ConfigError(r.problems)
    return widen_bands(Config(
        portfolio=portfolio,
        bands=default_band,
        trigger=trigger,
        cost=cost,
        planner=planner,
        execution=execution,
        broker=broker,
        daemon=daemon,
        market_stats=market_stats,
        tax=tax,
        targets_model=targets_model,
        backtest=backtest,
    ))


# --- bands --------------------------------------------------------------------------------


def _band(r: Reader, tbl: Mapping[str, Any], path: str, base: Band, *, inherit: bool) -> Band:
    """Widths in the file are percent; ``inherit`` → omitted keys come from ``base``,
    else an omitted width is disabled (None)."""
    before = len(r.problems)
    absolute = _width(r, tbl, "absolute", path, base.absolute if inherit else None)
    relative = _width(r, tbl, "relative", path, base.relative if inherit else None)
    rule = r.member(tbl, "rule", path, base.rule)
    if len(r.problems) > before:
        return Band(absolute=absolute, relative=relative, rule=rule)  # no follow-up noise
    if absolute is not None and absolute > 1.0:
        r.problem(
            f"{path}.absolute",
            f"is {fmt_num(absolute * 100)} percentage points; "
            "a band wider than 100 points never triggers: use at most 100",
        )
    if rule is BandRule.ABSOLUTE and absolute is None:
        r.problem(
            f"{path}.rule",
            'is "absolute" but no absolute width is set: '
            "add absolute = <percentage points> or change the rule",
        )
    elif rule is BandRule.RELATIVE and relative is None:
        r.problem(
            f"{path}.rule",
            'is "relative" but no relative width is set: '
            "add relative = <percent of target> or change the rule",
        )
    elif rule is BandRule.EITHER and absolute is None and relative is None:
        r.problem(
            path,
            "the band has neither an absolute nor a relative width: "
            "set absolute and/or relative (e.g. absolute = 5, relative = 25)",
        )
    return Band(absolute=absolute, relative=relative, rule=rule)


def _width(
    r: Reader, tbl: Mapping[str, Any], key: str, path: str, default: float | None
) -> float | None:
    if key not in tbl:
        return default
    if tbl[key] is False:
        return None
    value = r.raw_number(tbl[key], f"{path}.{key}", allow_false=True)
    if value is None:
        return default
    if value <= 0:
        r.problem(
            f"{path}.{key}",
            f"is {fmt_num(value)}; a band width must be > 0: "
            "give a positive percent, or false to disable this width",
        )
        return default
    return value / 100.0


# --- portfolio ----------------------------------------------------------------------------


def _symbol_ok(r: Reader, symbol: str, path: str) -> bool:
    if TICKER.match(symbol) and symbol != CASH:
        return True
    if symbol == CASH:
        r.problem(path, f"{CASH!r} is reserved for the cash line: set cash_target instead")
    elif TICKER.match(symbol.upper()):
        r.problem(
            path, f"{symbol!r} is not a valid ticker: write it in uppercase, {symbol.upper()!r}"
        )
    else:
        r.problem(
            path,
            f"{symbol!r} is not a valid ticker: use 1–15 uppercase letters, "
            "digits, '.' or '/' (e.g. BRK.B)",
        )
    return False


def _targets(r: Reader, tbl: Mapping[str, Any]) -> tuple[dict[str, float], list[float] | None]:
    """(symbol → percent, every number given or None when one is not a number); problems
    for bad tickers, duplicates, wrong types and negatives."""
    targets: dict[str, float] = {}
    amounts: list[float] | None = []
    seen: dict[str, str] = {}
    for symbol, raw in tbl.items():
        path = f"portfolio.targets.{symbol}"
        key = symbol.upper()
        if key in seen:
            r.problem(
                path,
                f"duplicate symbol: {seen[key]!r} is already a target "
                "(symbols are case-insensitive): keep one entry",
            )
            amounts = None  # the sum would only repeat this problem
            continue
        seen[key] = symbol
        valid = _symbol_ok(r, symbol, path)
        value = r.raw_number(raw, path)
        if value is None:
            amounts = None
            continue
        if amounts is not None:
            amounts.append(value)
        if value < 0:
            r.problem(
                path,
                f"is {fmt_num(value)} %; a target weight cannot be negative: "
                "use 0 to sell the position, or a positive percent",
            )
            continue
        if value > 100:
            r.problem(path, f"is {fmt_num(value)} %; a target weight is at most 100 %")
            continue
        if valid:
            targets[symbol] = value
    return targets, amounts


def _excluded(r: Reader, raw: object, targets: Mapping[str, float]) -> frozenset[str]:
    path = "portfolio.excluded"
    if not isinstance(raw, list):
        r.problem(path, f'expected an array of symbols like ["TSLA"], got {type_name(raw)}')
        return frozenset()
    out: set[str] = set()
    upper_targets = {s.upper() for s in targets}
    for i, item in enumerate(raw):
        p = f"{path}[{i}]"
        if not isinstance(item, str):
            r.problem(p, f"expected a symbol in quotes, got {type_name(item)}")
            continue
        if not _symbol_ok(r, item, p):
            continue
        if item in out:
            r.problem(p, f"{item!r} is listed twice: keep one")
        elif item.upper() in upper_targets:
            r.problem(
                p,
                f"{item!r} is both a target and excluded: remove it from one of "
                "portfolio.targets or portfolio.excluded",
            )
        out.add(item)
    return frozenset(out)


def _portfolio(
    r: Reader,
    tbl: Mapping[str, Any],
    bands_tbl: Mapping[str, Any],
    root: Mapping[str, Any],
    default_band: Band,
) -> PortfolioConfig:
    p = "portfolio"
    before = len(r.problems)
    cash = r.number(tbl, "cash_target", p, 0.0, minimum=0.0, maximum=100.0, unit="%")
    cash_ok = len(r.problems) == before
    buffer = r.number(tbl, "cash_buffer", p, 0.0, minimum=0.0, maximum=100.0, unit="%")
    if cash + buffer > 100.0:
        r.problem(
            f"{p}.cash_buffer",
            f"cash_target {fmt_num(cash)} % + cash_buffer "
            f"{fmt_num(buffer)} % exceeds 100 %: lower one of them",
        )
    not_in_targets = r.member(tbl, "not_in_targets", p, NotInTargets.HOLD)
    targets_tbl = tbl.get("targets", {})
    if "targets" not in tbl and tbl:
        r.problem(f"{p}.targets", "missing: add [portfolio.targets] with symbol = percent")
    if not isinstance(targets_tbl, Mapping):
        r.problem(
            f"{p}.targets", f"expected a table of symbol = percent, got {type_name(targets_tbl)}"
        )
        targets_tbl = {}
    elif "targets" in tbl and not targets_tbl:
        r.problem(f"{p}.targets", "is empty: list at least one symbol = percent")
    targets, amounts = _targets(r, targets_tbl)
    if amounts and cash_ok:
        _check_sum(r, amounts, cash)
    excluded = _excluded(r, tbl["excluded"], targets) if "excluded" in tbl else frozenset()
    cash_band = default_band
    if "cash_band" in tbl:
        cb = r.check_table(tbl["cash_band"], f"{p}.cash_band", BAND_KEYS)
        cash_band = _band(r, cb, f"{p}.cash_band", default_band, inherit=True)
    if cash_ok and cash == 0.0 and cash_band.absolute is None and cash_band.relative is not None:
        r.problem(
            f"{p}.cash_band",
            "a relative band around a zero cash_target has no width, so any leftover cash "
            "would trigger a rebalance: give the cash band an absolute width "
            "(e.g. [portfolio.cash_band] absolute = 1)",
        )
    overrides = _overrides(r, bands_tbl, targets_tbl, default_band)
    props = _per_symbol(r, root, "assets", "assets", targets_tbl, "[assets.SYM] entries")
    for sym in props.keys() - targets.keys():  # a bad target: still check its properties
        _asset(r, sym, 0.0, default_band, props[sym])
    assets = tuple(
        _asset(r, sym, pct, overrides.get(sym, default_band), props.get(sym, {}))
        for sym, pct in targets.items()
    )
    return PortfolioConfig(
        assets=assets,
        cash_target=cash / 100.0,
        cash_band=cash_band,
        cash_buffer=buffer / 100.0,
        excluded=excluded,
        not_in_targets=not_in_targets,
    )


def _check_sum(r: Reader, amounts: list[float], cash: float) -> None:
    assets = math.fsum(amounts)
    total = assets + cash
    if abs(total - 100.0) > WEIGHT_TOLERANCE:
        r.problem(
            "portfolio.targets",
            f"weights sum to {fmt_num(total)} % (assets "
            f"{fmt_num(assets)} % + cash {fmt_num(cash)} %); they must sum to 100 %: "
            "adjust a target or cash_target",
        )


def _overrides(
    r: Reader, bands_tbl: Mapping[str, Any], targets_tbl: Mapping[str, Any], base: Band
) -> dict[str, Band]:
    out: dict[str, Band] = {}
    tbl = _per_symbol(r, bands_tbl, "overrides", "bands.overrides", targets_tbl, "band overrides")
    for sym, raw in tbl.items():
        path = f"bands.overrides.{sym}"
        out[sym] = _band(r, r.check_table(raw, path, BAND_KEYS), path, base, inherit=True)
    return out


def _per_symbol(
    r: Reader,
    parent: Mapping[str, Any],
    key: str,
    path: str,
    targets_tbl: Mapping[str, Any],
    what: str,
) -> dict[str, Any]:
    """``parent[key]`` as {target symbol: value}; entries for other symbols are problems."""
    raw = parent.get(key, {})
    if not isinstance(raw, Mapping):
        r.problem(path, f"expected a table of [{path}.SYMBOL] sections, got {type_name(raw)}")
        return {}
    out: dict[str, Any] = {}
    for sym, value in raw.items():
        if sym in targets_tbl:
            out[sym] = value
            continue
        close = difflib.get_close_matches(sym.upper(), list(targets_tbl), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        r.problem(
            f"{path}.{sym}",
            f"{sym!r} is not a target: {what} apply only to symbols "
            f"in [portfolio.targets]: {hint}add it as a target or remove this entry",
        )
    return out


def _asset(r: Reader, symbol: str, pct: float, band: Band, raw: object) -> AssetConfig:
    path = f"assets.{symbol}"
    tbl = r.check_table(raw, path, ASSET_KEYS)
    return AssetConfig(
        symbol=symbol,
        target=pct / 100.0,
        band=band,
        fractional=r.boolean(tbl, "fractional", path, True),
        sigma=r.optional_number(tbl, "sigma", path, None, minimum=0.0, exclusive_min=True),
        adv=r.optional_number(
            tbl, "adv", path, None, minimum=0.0, exclusive_min=True, unit="shares/day"
        ),
        expected_return=_percent(
            r, r.optional_number(tbl, "expected_return", path, None, unit="% a year"),
            f"{path}.expected_return", -100.0, 100.0,
        ),
        max_spread=_bps(
            r,
            r.optional_number(
                tbl, "max_spread_bps", path, None, minimum=0.0, exclusive_min=True, unit="bps"
            ),
            f"{path}.max_spread_bps",
        ),
    )


def _percent(r: Reader, x: float | None, path: str, lo: float, hi: float) -> float | None:
    """An optional percent within [lo, hi] as a fraction."""
    if x is None:
        return None
    if not r.in_range(x, path, lo, hi, False, "%"):
        return None
    return x / 100.0


def _bps(r: Reader, x: float | None, path: str) -> float | None:
    """Optional basis points (≤ 10 000) as a fraction."""
    if x is None:
        return None
    if not r.in_range(x, path, None, 10_000.0, False, "bps"):
        return None
    return x / 10_000.0
