"""The journal codec: every event and command survives JSON exactly."""

from __future__ import annotations

import json
import math
import typing
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings

from adapters.store import codec
from daemon.core.commands import Command, PlaceOrder, RecordDecision
from daemon.core.config.values import AssetConfig, Config, CostConfig, PortfolioConfig
from daemon.core.events import ConfigReloaded, Event, OrderFilled, QuoteUpdated
from daemon.core.model import Side
from daemon.core.planning.plan import Plan, WeightRow
from tests.adapters.store.strategies import strategy_for

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
ALL_TYPES = [*typing.get_args(Event), *typing.get_args(Command)]


def _strict_json(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_registry_holds_every_event_and_command_type() -> None:
    for cls in ALL_TYPES:
        assert codec.REGISTRY[cls.__name__] is cls
    assert set(codec.EVENT_TYPES) == set(typing.get_args(Event))
    assert set(codec.COMMAND_TYPES) == set(typing.get_args(Command))


HEAVY = {"RecordDecision": 8, "ConfigReloaded": 8}  # deep nested values: slow to generate


@pytest.mark.parametrize("cls", ALL_TYPES, ids=lambda c: c.__name__)
def test_round_trip_is_exact(cls: type) -> None:
    @settings(
        max_examples=HEAVY.get(cls.__name__, 25),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(value=strategy_for(cls))
    def check(value: object) -> None:
        text = codec.dumps(value)
        _strict_json(text)  # standard JSON: no NaN/Infinity literals
        back = codec.loads(codec.kind_of(value), text)
        assert type(back) is cls
        assert back == value
        # exact, not merely equal: Decimal("1.50") stays "1.50", -0.0 stays -0.0
        assert codec.dumps(back) == text

    check()


def test_decimal_keeps_its_exponent() -> None:
    fill = OrderFilled(T0, "c1", "e1", Decimal("1.50"), Decimal("400.0100"), Decimal("1E+2"))
    back = codec.loads("OrderFilled", codec.dumps(fill))
    assert [str(back.qty), str(back.price), str(back.cum_qty)] == ["1.50", "400.0100", "1E+2"]
    assert json.loads(codec.dumps(fill))["qty"] == "1.50"


def test_datetime_is_iso_with_offset() -> None:
    body = json.loads(codec.dumps(QuoteUpdated(T0, "SPY", 1.0, 2.0)))
    assert body["at"] == "2026-03-02T14:30:00+00:00"


def test_non_finite_floats_round_trip_as_strings() -> None:
    q = QuoteUpdated(T0, "SPY", math.nan, math.inf, -math.inf)
    text = codec.dumps(q)
    _strict_json(text)
    back = codec.loads("QuoteUpdated", text)
    assert math.isnan(back.bid) and back.ask == math.inf and back.bid_size == -math.inf


def test_float_where_decimal_is_declared_is_refused_with_the_field_named() -> None:
    bad = PlaceOrder("c1", "SPY", Side.BUY, 1.5, None, None)  # type: ignore[arg-type]
    with pytest.raises(codec.CodecError, match=r"PlaceOrder\.qty.*Decimal\(str\(x\)\)"):
        codec.dumps(bad)


def test_nested_plan_and_enums_round_trip() -> None:
    plan = Plan(
        at=T0,
        triggered=True,
        reasons=("SPY 31.2% > 30.0%",),
        portfolio_value=Decimal("100000.00"),
        weights={"SPY": WeightRow(0.312, 0.3, 0.25, 0.35), "CASH": WeightRow(0.0, 0.0, 0, 0.05)},
        portfolio_drift=0.012,
        deferred={"SPY": Decimal("12.34")},
    )
    cmd = RecordDecision("d-1", plan)
    body = json.loads(codec.dumps(cmd))
    assert body["plan"]["weights"]["SPY"] == {
        "current": 0.312,
        "target": 0.3,
        "low": 0.25,
        "high": 0.35,
    }
    assert codec.loads("RecordDecision", codec.dumps(cmd)) == cmd
    order = PlaceOrder("c1", "SPY", Side.SELL, Decimal("2"), None, Decimal("1.01"))
    assert json.loads(codec.dumps(order))["side"] == "sell"


def test_config_with_tuple_keys_and_frozensets_is_deterministic() -> None:
    cfg = Config(
        portfolio=PortfolioConfig(assets=(AssetConfig("SPY", 0.6),), excluded=frozenset("ZYX")),
        cost=CostConfig(covariance={("SPY", "BND"): 0.0001}),
    )
    text = codec.dumps(ConfigReloaded(T0, cfg))
    body = json.loads(text)
    assert body["config"]["portfolio"]["excluded"] == ["X", "Y", "Z"]
    assert body["config"]["cost"]["covariance"] == [[["SPY", "BND"], 0.0001]]
    assert codec.loads("ConfigReloaded", text) == ConfigReloaded(T0, cfg)


def test_decoding_tolerates_unknown_keys_and_fills_defaults() -> None:
    old = {"at": T0.isoformat(), "symbol": "SPY", "bid": 1, "ask": 2, "from_the_future": 1}
    assert codec.from_data("QuoteUpdated", old) == QuoteUpdated(T0, "SPY", 1.0, 2.0)


def test_decoding_names_what_is_wrong() -> None:
    with pytest.raises(codec.CodecError, match="missing field 'symbol'"):
        codec.from_data("QuoteUpdated", {"at": T0.isoformat(), "bid": 1, "ask": 2})
    with pytest.raises(codec.CodecError, match=r"OrderFilled\.qty: not a decimal"):
        codec.from_data(
            "OrderFilled",
            {
                "at": T0.isoformat(),
                "client_order_id": "c",
                "execution_id": "e",
                "qty": "lots",
                "price": "1",
                "cum_qty": "1",
            },
        )
    with pytest.raises(codec.CodecError, match="unknown journal kind 'Nope'"):
        codec.loads("Nope", "{}")
    with pytest.raises(codec.CodecError, match="not valid JSON"):
        codec.loads("QuoteUpdated", "{")
    with pytest.raises(codec.CodecError, match="is not a Side"):
        codec.from_data(
            "PlaceOrder",
            {
                "client_order_id": "c",
                "symbol": "S",
                "side": "short",
                "qty": "1",
                "notional": None,
                "limit_price": None,
            },
        )


def test_unregistered_types_are_refused() -> None:
    with pytest.raises(codec.CodecError, match="not a registered"):
        codec.kind_of(WeightRow(0, 0, 0, 0))
