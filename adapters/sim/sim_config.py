"""The paper exchange's configuration, loaded from a TOML file (``rebalanced sim --config``).

See ``examples/sim.toml`` for every key. Errors name the key and the fix.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from adapters.sim.prices import load_csv
from adapters.sim.sim_clock import ClockMode
from adapters.sim.symbol_config import SymbolConfig


class SimConfigError(ValueError):
    """A bad simulator configuration; the message names the key and the fix."""


@dataclass(frozen=True, slots=True)
class StartingPosition:
    qty: Decimal
    avg_entry_price: Decimal


@dataclass(frozen=True, slots=True)
class ClockConfig:
    mode: ClockMode = ClockMode.STEPPED
    start: datetime | None = None
    speed: float = 1.0


@dataclass(slots=True)
class ExchangeFaults:
    """Faults that live in the exchange (the server owns HTTP/websocket faults).
    Mutable: the control plane flips these at run time."""

    reject_next: int = 0  # reject the next N orders (status rejected, event rejected)
    reject_symbols: set[str] = field(default_factory=set)
    stuck_pending_new: bool = False  # orders stay pending_new and never match
    duplicate_fills: bool = False  # each fill/partial_fill event is sent twice
    cancel_races_fill: bool = False  # a cancel on a fillable order loses to the fill
    partial_fill_probability: float = 0.1

    def to_json(self) -> dict[str, Any]:
        return {
            "reject_next": self.reject_next,
            "reject_symbols": sorted(self.reject_symbols),
            "stuck_pending_new": self.stuck_pending_new,
            "duplicate_fills": self.duplicate_fills,
            "cancel_races_fill": self.cancel_races_fill,
            "partial_fill_probability": self.partial_fill_probability,
        }

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply a partial update (control plane); unknown keys are an error."""
        for key, value in values.items():
            if key not in ExchangeFaults.__dataclass_fields__:
                known = ", ".join(ExchangeFaults.__dataclass_fields__)
                raise SimConfigError(f"unknown fault {key!r}; known faults: {known}")
            if key == "reject_symbols":
                value = set(value)
            elif key == "partial_fill_probability":
                value = _probability(value, "faults.partial_fill_probability")
            elif key == "reject_next":
                value = int(value)
                if value < 0:
                    raise SimConfigError("faults.reject_next must be >= 0")
            else:
                value = bool(value)
            setattr(self, key, value)


@dataclass(frozen=True, slots=True)
class SimConfig:
    symbols: Mapping[str, SymbolConfig]
    starting_cash: Decimal = Decimal(100000)
    positions: Mapping[str, StartingPosition] = field(default_factory=dict)
    seed: int = 0
    partial_fill_probability: float = 0.1
    clock: ClockConfig = field(default_factory=ClockConfig)
    api_key_id: str | None = None
    api_secret_key: str | None = field(default=None, repr=False)  # never in logs
    rate_limit_per_minute: int = 200
    data_symbol_cap: int = 30
    faults: Mapping[str, Any] = field(default_factory=dict)  # initial ExchangeFaults values

    def initial_faults(self) -> ExchangeFaults:
        f = ExchangeFaults(partial_fill_probability=self.partial_fill_probability)
        f.update(self.faults)
        return f

    def api_keys(self) -> tuple[str, str] | None:
        """The key pair clients must present: the configured one, else the environment's
        APCA_API_KEY_ID / APCA_API_SECRET_KEY, else None (any non-empty pair is accepted)."""
        if self.api_key_id and self.api_secret_key:
            return self.api_key_id, self.api_secret_key
        key, secret = os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY")
        if key and secret:
            return key, secret
        return None


def load_sim_config(path: str | Path) -> SimConfig:
    """Read and validate a simulator TOML file. Relative CSV paths resolve next to it."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise SimConfigError(
            f"simulator config {p} does not exist; see examples/sim.toml"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise SimConfigError(f"simulator config {p} is not valid TOML: {e}") from None
    return parse_sim_config(raw, base_dir=p.parent)


_TOP_KEYS = {
    "seed", "starting_cash", "partial_fill_probability", "rate_limit_per_minute",
    "data_symbol_cap", "clock", "api", "positions", "symbols", "faults",
}  # fmt: skip
_SYMBOL_KEYS = set(SymbolConfig.__dataclass_fields__) - {"symbol"}


def parse_sim_config(raw: Mapping[str, Any], base_dir: Path | None = None) -> SimConfig:
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise SimConfigError(
            f"unknown simulator config key(s) {sorted(unknown)}; known: {sorted(_TOP_KEYS)}"
        )
    symbols_raw = raw.get("symbols")
    if not isinstance(symbols_raw, Mapping) or not symbols_raw:
        raise SimConfigError(
            "[symbols] is missing: add at least one, e.g. [symbols.SPY] price = 500"
        )
    symbols = {sym: _symbol(sym, spec, base_dir) for sym, spec in symbols_raw.items()}
    positions: dict[str, StartingPosition] = {}
    for sym, spec in dict(raw.get("positions", {})).items():
        if sym not in symbols:
            raise SimConfigError(f"positions.{sym}: {sym} is not under [symbols]; add it there")
        if not isinstance(spec, Mapping):
            raise SimConfigError(f'positions.{sym} must be a table like {{ qty = "10" }}')
        qty = _decimal(spec.get("qty"), f"positions.{sym}.qty")
        avg = spec.get("avg_entry_price", symbols[sym].price)
        positions[sym] = StartingPosition(qty, _decimal(avg, f"positions.{sym}.avg_entry_price"))
    clock_raw = dict(raw.get("clock", {}))
    try:
        mode = ClockMode(clock_raw.get("mode", "stepped"))
    except ValueError:
        raise SimConfigError(
            f"clock.mode {clock_raw.get('mode')!r} is unknown; use real, accelerated or stepped"
        ) from None
    start = _datetime(clock_raw["start"], "clock.start") if "start" in clock_raw else None
    if mode is ClockMode.STEPPED and start is None:
        raise SimConfigError(
            "clock.start is required for a stepped clock (e.g. 2026-11-23T14:30:00Z)"
        )
    speed = float(clock_raw.get("speed", 1.0))
    if speed <= 0:
        raise SimConfigError(f"clock.speed must be > 0, got {speed}")
    api = dict(raw.get("api", {}))
    cash = _decimal(raw.get("starting_cash", "100000"), "starting_cash")
    if cash < 0:
        raise SimConfigError("starting_cash must be >= 0")
    faults = dict(raw.get("faults", {}))
    cfg = SimConfig(
        symbols=symbols,
        starting_cash=cash,
        positions=positions,
        seed=int(raw.get("seed", 0)),
        partial_fill_probability=_probability(
            raw.get("partial_fill_probability", 0.1), "partial_fill_probability"
        ),
        clock=ClockConfig(mode=mode, start=start, speed=speed),
        api_key_id=api.get("key_id") or None,
        api_secret_key=api.get("secret_key") or None,
        rate_limit_per_minute=int(raw.get("rate_limit_per_minute", 200)),
        data_symbol_cap=int(raw.get("data_symbol_cap", 30)),
        faults=faults,
    )
    cfg.initial_faults()  # validate the fault table now, not at start-up
    return cfg


def _symbol(sym: str, spec: Any, base_dir: Path | None) -> SymbolConfig:
    if not isinstance(spec, Mapping):
        raise SimConfigError(f"symbols.{sym} must be a table, e.g. [symbols.{sym}] price = 100")
    unknown = set(spec) - _SYMBOL_KEYS
    if unknown:
        raise SimConfigError(
            f"symbols.{sym}: unknown key(s) {sorted(unknown)}; known: {sorted(_SYMBOL_KEYS)}"
        )
    values = dict(spec)
    for key in ("price", "drift", "volatility", "spread_bps", "quote_rate", "adv", "correlation"):
        if key in values:
            try:
                values[key] = float(values[key])
            except (TypeError, ValueError):
                raise SimConfigError(
                    f"symbols.{sym}.{key} must be a number, got {values[key]!r}"
                ) from None
    cfg = SymbolConfig(symbol=sym, **values)
    if cfg.price <= 0 and cfg.csv is None:
        raise SimConfigError(f"symbols.{sym}.price must be > 0")
    if cfg.volatility < 0 or cfg.spread_bps < 0:
        raise SimConfigError(f"symbols.{sym}: volatility and spread_bps must be >= 0")
    if not -1.0 <= cfg.correlation <= 1.0:
        raise SimConfigError(f"symbols.{sym}.correlation must be between -1 and 1")
    if cfg.quote_rate <= 0:
        raise SimConfigError(f"symbols.{sym}.quote_rate must be > 0 (quotes per second)")
    if cfg.csv is not None:
        if base_dir is not None and not Path(cfg.csv).is_absolute():
            object.__setattr__(cfg, "csv", str(base_dir / cfg.csv))
        try:
            load_csv(cfg)  # fail at load time, not when the exchange starts
        except ValueError as e:
            raise SimConfigError(f"symbols.{sym}.csv: {e}") from None
    return cfg


def _decimal(value: Any, key: str) -> Decimal:
    if value is None:
        raise SimConfigError(f'{key} is missing; give a decimal string like "10"')
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise SimConfigError(
            f'{key} must be a decimal (a string like "10.5"), got {value!r}'
        ) from None
    if not d.is_finite():
        raise SimConfigError(f"{key} must be finite, got {value!r}")
    return d


def _probability(value: Any, key: str) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise SimConfigError(f"{key} must be a number between 0 and 1, got {value!r}") from None
    if not 0.0 <= p <= 1.0:
        raise SimConfigError(f"{key} must be between 0 and 1, got {p}")
    return p


def _datetime(value: Any, key: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise SimConfigError(
                f"{key} {value!r} is not an RFC 3339 time like 2026-11-23T14:30:00Z"
            ) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise SimConfigError(
            f"{key} must be an RFC 3339 time with an offset, like 2026-11-23T14:30:00Z"
        )
    return value.astimezone(UTC)
