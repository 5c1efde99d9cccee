"""``rebalanced plan``: plan one rebalance for given holdings and quotes, without a broker.

    rebalanced plan --config C --holdings H --quotes Q [--now ISO-8601] [--json] [--force]

Holdings JSON: ``{"cash": "10000.00", "positions": {"VTI": "120", "BND": "85.5"}}``.
Quotes JSON: ``{"VTI": {"bid": "245.10", "ask": "245.14", "adv": 3500000, "sigma": 0.012}}``
(``adv`` in shares/day and ``sigma`` daily volatility are optional; numbers may be strings).
Every quote is taken as fresh (``at = now``). ``--now`` defaults to the current time; a time
without an offset is UTC.

The decision is the daemon's own: the files become events (quotes and market stats, an
account snapshot, an NYSE market clock around ``--now``, then a manual check) fed to a fresh
``Engine``, and the plan printed is the one in its ``RecordDecision``. So the trigger rules
(window, calendar, bands), the hard limits (market closed …), the cost gate on the whole run
and every planning rule are the daemon's, with no previous runs. ``--force`` skips the
trigger rules, not the hard limits, exactly as a forced check in the daemon does.

Every number is 0 or within a range: cash $0.01–1e12, quantities 1e-9–1e12 shares, bid and
ask $0.0001–1e7, adv 1–1e13 shares/day, sigma 1e-6–10, at most 24 significant digits.

Exit codes: 0 whether or not trades are needed; 64 bad usage; 65 (EX_DATAERR) bad holdings
or quotes, with the field named; 78 (EX_CONFIG) bad configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from daemon.core import events as ev
from daemon.core.commands import RecordDecision
from daemon.core.config.values import Config
from daemon.core.engine.kernel import Engine
from daemon.core.model import Holdings, Quote, TradingSession
from daemon.core.planning.plan import Plan, PlannedOrder
from daemon.host_clock import utc_now
from daemon.plan_calendar import market_clock, nyse_sessions

EX_USAGE = 64
EX_DATAERR = 65
PLAN_RUN_ID = "plan"


# --- input: holdings and quotes JSON ------------------------------------------------------


class InputError(ValueError):
    """Bad holdings or quotes: ``field`` names where (``quotes.VTI.bid``), the text says why."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"{field}: {problem}")


def read_json(path: str, what: str) -> object:
    """Read a JSON file, keeping every number exact (Decimal)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise InputError(what, f"cannot read {path!r} ({exc.strerror}): check the path") from None
    except UnicodeDecodeError:
        raise InputError(what, f"{path!r} is not UTF-8 text") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant)
    except InputError as exc:  # NaN / Infinity
        raise InputError(what, str(exc).split(": ", 1)[1]) from None
    except RecursionError:
        raise InputError(
            what, f"{path!r} is nested far too deeply to be {what}: see the format in --help"
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            what, f"{path!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def _no_constant(name: str) -> object:
    raise InputError("json", f"{name} is not a number: write a finite decimal")


# What each input number may be: 0, or between the two bounds (inclusive). Beyond them a
# value is a typo or an attack, and would overflow or vanish in the planner's arithmetic.
RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "cash": (Decimal("0.01"), Decimal("1e12")),  # dollars
    "qty": (Decimal("1e-9"), Decimal("1e12")),  # shares (Alpaca: 9 decimal places)
    "price": (Decimal("0.0001"), Decimal("1e7")),  # dollars per share
    "adv": (Decimal(1), Decimal("1e13")),  # shares per day
    "sigma": (Decimal("1e-6"), Decimal(10)),  # daily volatility, fraction
}
MAX_DIGITS = 24  # significant digits in one number


def _number(
    raw: object, field: str, *, allow_none: bool = False, kind: str = "qty"
) -> Decimal | None:
    """A finite, non-negative number given as a JSON number or a string: 0 or within
    ``RANGES[kind]``, with at most ``MAX_DIGITS`` significant digits."""
    if raw is None and allow_none:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (Decimal, int, float, str)):
        raise InputError(field, f"not a number: {json.dumps(raw, default=str)}")
    try:
        value = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(raw)
    except ArithmeticError:
        raise InputError(field, f"not a number: {json.dumps(raw, default=str)}") from None
    if not value.is_finite():
        raise InputError(field, f"not a finite number: {raw!r}")
    if value < 0:
        raise InputError(field, f"negative: {raw} (must be ≥ 0; short positions are not supported)")
    if value == 0:
        return value
    lo, hi = RANGES[kind]
    if not lo <= value <= hi:
        raise InputError(field, f"{_short(value)} is out of range: use 0 or a value from {lo} to {hi}")
    if len(value.normalize().as_tuple().digits) > MAX_DIGITS:
        raise InputError(field, f"{_short(value)} has more than {MAX_DIGITS} significant digits")
    return value


def _short(value: Decimal) -> str:
    text = f"{value:.6g}" if abs(value.adjusted()) > 12 else str(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _object(raw: object, field: str, example: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InputError(field, f"expected a JSON object like {example}, got {type(raw).__name__}")
    return raw


def _symbol(key: str, field: str) -> str:
    if not key or key != key.strip():
        raise InputError(f"{field}.{key!r}", "symbol must be a non-empty ticker without spaces")
    return key


def parse_holdings(raw: object) -> Holdings:
    """``{"cash": "10000.00", "positions": {"VTI": "120"}}`` → Holdings (exact decimals)."""
    obj = _object(raw, "holdings", '{"cash": "10000.00", "positions": {"VTI": "120"}}')
    unknown = sorted(set(obj) - {"cash", "positions"})
    if unknown:
        raise InputError(f"holdings.{unknown[0]}", "unknown key (expected cash, positions)")
    if "cash" not in obj:
        raise InputError("holdings.cash", 'missing: give the cash balance, e.g. "cash": "0"')
    cash = _number(obj["cash"], "holdings.cash", kind="cash")
    assert cash is not None
    positions: dict[str, Decimal] = {}
    pos = _object(obj.get("positions", {}), "holdings.positions", '{"VTI": "120"}')
    for sym, qty in pos.items():
        field = f"holdings.positions.{_symbol(sym, 'holdings.positions')}"
        q = _number(qty, field)
        assert q is not None
        positions[sym] = q
    return Holdings(cash, positions)


QUOTE_KEYS = ("bid", "ask", "adv", "sigma")


def parse_quotes(raw: object, now: datetime) -> dict[str, Quote]:
    """``{"VTI": {"bid": "245.10", "ask": "245.14", "adv": …, "sigma": …}}`` → Quotes at
    ``now``. Zero or crossed quotes are accepted here: the planner skips them with a reason."""
    obj = _object(raw, "quotes", '{"VTI": {"bid": "245.10", "ask": "245.14"}}')
    out: dict[str, Quote] = {}
    for sym, q in obj.items():
        base = f"quotes.{_symbol(sym, 'quotes')}"
        body = _object(q, base, '{"bid": "245.10", "ask": "245.14"}')
        unknown = sorted(set(body) - set(QUOTE_KEYS))
        if unknown:
            raise InputError(f"{base}.{unknown[0]}", "unknown key (expected bid, ask, adv, sigma)")
        for key in ("bid", "ask"):
            if key not in body:
                raise InputError(f"{base}.{key}", "missing")
        bid = _number(body["bid"], f"{base}.bid", kind="price")
        ask = _number(body["ask"], f"{base}.ask", kind="price")
        adv = _number(body.get("adv"), f"{base}.adv", allow_none=True, kind="adv")
        sigma = _number(body.get("sigma"), f"{base}.sigma", allow_none=True, kind="sigma")
        assert bid is not None and ask is not None
        out[sym] = Quote(
            sym,
            float(bid),
            float(ask),
            now,
            adv=None if adv is None else float(adv),
            sigma=None if sigma is None else float(sigma),
        )
    return out


# --- output: JSON and a table --------------------------------------------------------------


def _dec(x: Decimal | None) -> str | None:
    return None if x is None else format(x, "f")


def _w(x: float) -> str:
    """A weight fraction as a decimal string, 6 places."""
    return format(Decimal(repr(x)).quantize(Decimal("0.000001")), "f")


def _orders_json(orders: tuple[PlannedOrder, ...]) -> list[dict[str, Any]]:
    return [
        {
            "symbol": o.symbol,
            "side": o.side.value,
            "qty": _dec(o.qty),
            "notional": _dec(o.notional),
            "limit_price": _dec(o.limit_price),
            "type": "market" if o.limit_price is None else "limit",
            "est_notional": _dec(o.est_notional),
            "est_cost": _dec(o.est_cost),
            "reason": o.reason,
        }
        for o in orders
    ]


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as one JSON-ready object (decimal strings; ``null`` where unused).
    ``orders`` are the whole run's; ``first_round`` those the daemon places at once (the
    buys that wait for the sells' proceeds follow when they fill)."""
    return {
        "at": plan.at.isoformat(),
        "triggered": plan.triggered,
        "reasons": list(plan.reasons),
        "blocked": list(plan.blocked),
        "portfolio_value": _dec(plan.portfolio_value),
        "portfolio_drift": _w(plan.portfolio_drift),
        "weights": {
            s: {
                "current": _w(r.current),
                "target": _w(r.target),
                "low": _w(r.low),
                "high": _w(r.high),
            }
            for s, r in plan.weights.items()
        },
        "orders": _orders_json(plan.all_orders),
        "first_round": _orders_json(plan.orders),
        "skipped": [{"symbol": s.symbol, "reason": s.reason} for s in plan.skipped],
        "after": {s: _w(w) for s, w in plan.after.items()},
        "gate": {
            "on": plan.gate_on,
            "est_cost": _dec(plan.est_cost),
            "est_benefit": _dec(plan.est_benefit),
            "benefit_risk": _dec(plan.benefit_risk),
            "benefit_cash": _dec(plan.benefit_cash),
        },
        "est_cost": _dec(plan.est_cost),
        "est_benefit": _dec(plan.est_benefit),
        "deferred": {s: _dec(v) for s, v in plan.deferred.items()},
    }


def _pct(x: float) -> str:
    return f"{x * 100:6.2f} %"


def plan_table(plan: Plan) -> str:
    """The plan as a readable report."""
    lines = [f"Rebalance plan at {plan.at.isoformat()}"]
    lines.append(f"Trigger: {'YES' if plan.triggered else 'no'}")
    lines += [f"  - {r}" for r in plan.reasons]
    lines += [f"  - blocked: {b}" for b in plan.blocked]
    lines.append(f"Portfolio value: ${plan.portfolio_value:,}   drift {plan.portfolio_drift:.2%}")
    lines.append("")
    lines.append(f"{'symbol':<8} {'current':>9} {'target':>9} {'band':>19} {'after':>9}")
    for s, r in plan.weights.items():
        flag = "" if r.in_band else "  out of band"
        band = f"{_pct(r.low)}–{_pct(r.high).strip()}"
        after = plan.after.get(s, r.current)
        lines.append(f"{s:<8} {_pct(r.current)} {_pct(r.target)} {band:>19} {_pct(after)}{flag}")
    lines.append("")
    orders = plan.all_orders
    first = {(o.symbol, o.side) for o in plan.orders}
    if orders:
        lines.append("Orders (sells first):")
        lines.append(
            f"  {'side':<4} {'symbol':<8} {'qty':>16} {'notional':>12} {'limit':>10} "
            f"{'est. cost':>10}  reason"
        )
        for o in orders:
            qty = _dec(o.qty) or "-"
            notional = f"${o.notional:,}" if o.notional is not None else f"~${o.est_notional:,}"
            limit = _dec(o.limit_price) or "market"
            later = "" if (o.symbol, o.side) in first else "  (after the sells fill)"
            lines.append(
                f"  {o.side.value:<4} {o.symbol:<8} {qty:>16} {notional:>12} {limit:>10} "
                f"{'$' + str(o.est_cost):>10}  {o.reason}{later}"
            )
    else:
        lines.append("Orders: none")
    gate = "on" if plan.gate_on else "off"
    lines.append(
        f"Cost gate {gate}: estimated cost ${plan.est_cost}, benefit ${plan.est_benefit} "
        f"(risk ${plan.benefit_risk}, cash ${plan.benefit_cash})"
    )
    if plan.deferred:
        lines.append(
            "Deferred by the participation cap: "
            + ", ".join(f"{s} ${v:,}" for s, v in plan.deferred.items())
        )
    if plan.skipped:
        lines.append("Skipped:")
        lines += [f"  {s.symbol:<8} {s.reason}" for s in plan.skipped]
    return "\n".join(lines)


# --- the command ---------------------------------------------------------------------------


def parse_now(text: str | None) -> datetime:
    """``--now``: ISO-8601, ``Z`` allowed; no offset means UTC. None: the real clock."""
    if text is None:
        return utc_now()
    try:
        now = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            "--now", f"not an ISO-8601 time: {text!r} (e.g. 2026-01-05T15:30:00Z)"
        ) from None
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def decide(
    config: Config,
    holdings: Holdings,
    quotes: dict[str, Quote],
    now: datetime,
    force: bool,
    sessions: tuple[TradingSession, ...] | None = None,
) -> Plan:
    """The daemon's decision on this state: the inputs as events through a fresh
    ``Engine``, the plan from its ``RecordDecision``. ``sessions``: the NYSE sessions around
    ``now`` unless given."""
    engine = Engine(config, PLAN_RUN_ID)
    events: list[ev.Event] = []
    for q in quotes.values():
        events.append(ev.QuoteUpdated(now, q.symbol, q.bid, q.ask))
        if q.adv is not None or q.sigma is not None:
            events.append(ev.MarketStatsUpdated(now, q.symbol, q.adv, q.sigma))
    events.append(ev.AccountSnapshot(now, holdings.cash, dict(holdings.positions)))
    events.append(market_clock(now, nyse_sessions(now) if sessions is None else sessions))
    events.append(ev.RebalanceRequested(now, force=force, record=True))
    decision: RecordDecision | None = None
    for e in events:
        for cmd in engine.handle(e):
            if isinstance(cmd, RecordDecision):
                decision = cmd
    if decision is None:  # pragma: no cover - a recording check always records
        raise RuntimeError("the engine recorded no decision for a recording check")
    return decision.plan


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rebalanced plan",
        description="Plan a rebalance for given holdings and quotes (no broker, no orders sent).",
    )
    p.add_argument("--config", required=True, help="the TOML configuration file")
    p.add_argument("--holdings", required=True, help='JSON: {"cash": "…", "positions": {…}}')
    p.add_argument("--quotes", required=True, help='JSON: {"SYM": {"bid": …, "ask": …}}')
    p.add_argument("--now", help="ISO-8601 time to plan at (default: now; no offset = UTC)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--force", action="store_true", help="plan orders even if not triggered")
    return p


def main(argv: list[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return 0 if exc.code == 0 else EX_USAGE
    from daemon.config_file import EX_CONFIG, ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"rebalanced plan: bad configuration:\n{exc}", file=sys.stderr)
        return EX_CONFIG
    try:
        now = parse_now(args.now)
        holdings = parse_holdings(read_json(args.holdings, "holdings"))
        quotes = parse_quotes(read_json(args.quotes, "quotes"), now)
    except InputError as exc:
        print(f"rebalanced plan: {exc}", file=sys.stderr)
        return EX_USAGE if exc.field == "--now" else EX_DATAERR
    plan = decide(config, holdings, quotes, now, args.force)
    if args.json:
        out: dict[str, Any] = plan_json(plan)
        print(json.dumps(out, indent=2))
    else:
        print(plan_table(plan))
    return 0
