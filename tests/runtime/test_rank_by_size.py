from decimal import Decimal as D

from daemon.core.commands import PlaceOrder
from daemon.core.model import Side
from daemon.runtime.venue_calls import rank_by_size


def test_largest_dollar_size_is_served_first_and_ties_keep_engine_order() -> None:
    orders = [
        PlaceOrder("a", "BND", Side.SELL, D("10"), None, D("72.00")),  # $720
        PlaceOrder("b", "VTI", Side.BUY, D("20"), None, D("300.00")),  # $6,000
        PlaceOrder("c", "GLD", Side.BUY, None, D("720.00"), None),  # notional $720
        PlaceOrder("d", "VXUS", Side.BUY, D("3"), None, None),  # market qty: size unknown
    ]
    assert rank_by_size(orders) == {"b": 0, "a": 1, "c": 2, "d": 3}


def test_ranks_stay_below_the_lookup_band() -> None:
    orders = [PlaceOrder(f"o{i}", "X", Side.BUY, D(1), None, D(1)) for i in range(1500)]
    assert max(rank_by_size(orders).values()) == 999
