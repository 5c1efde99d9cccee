"""``order_terms``: the one copy of an order's terms from record to record (planned order →
command → tracked order → view; a broker's order adopted)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, get_type_hints

import pytest

from daemon.core.commands import PlaceOrder
from daemon.core.engine.view import OpenOrderView
from daemon.core.events import BrokerOrder
from daemon.core.model import OrderState, OrderTerms, Side, order_terms
from daemon.core.orders.lifecycle import TrackedOrder
from daemon.core.planning.plan import PlannedOrder

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TERMS = {"symbol": "VTI", "side": Side.SELL, "qty": Decimal("3.5"), "notional": None,
         "limit_price": Decimal("201.17")}

RECORDS: list[Any] = [
    PlannedOrder(**TERMS, est_cost=Decimal("0.12"), reason="overweight"),
    PlaceOrder("rb-x-1", **TERMS),
    TrackedOrder("rb-x-1", **TERMS, placed_at=AT),
    BrokerOrder("rb-x-1", "b-1", status=OrderState.OPEN, filled_qty=Decimal(0),
                filled_avg_price=None, **TERMS),
]
RECORDS.append(OpenOrderView.of(RECORDS[2]))


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_every_order_record_has_the_terms_with_the_same_types(record: Any) -> None:
    fields = get_type_hints(type(record))
    for name, hint in get_type_hints(OrderTerms).items():
        assert fields[name] == hint, f"{type(record).__name__}.{name}"
    assert order_terms(record) == TERMS


def test_a_notional_market_order_keeps_its_nones() -> None:
    terms = {**TERMS, "qty": None, "notional": Decimal("250.00"), "limit_price": None}
    place = PlaceOrder("rb-x-2", **terms)
    tracked = TrackedOrder(place.client_order_id, **order_terms(place), placed_at=AT)
    assert dataclasses.asdict(tracked) | terms == dataclasses.asdict(tracked)
    assert order_terms(OpenOrderView.of(tracked)) == terms
