"""The pure decision core: events in, commands out. No I/O, no clocks, no asyncio.

Imports here must stay inside the standard library and ``daemon.core`` (a test enforces it).
"""

from daemon.core.commands import (
    Alert,
    CancelOrder,
    Command,
    Halt,
    LookupOrder,
    PlaceOrder,
    RecordDecision,
    RequestReconcile,
    ScheduleWakeup,
    TradingStateChanged,
)
from daemon.core.config.values import Config
from daemon.core.model import CASH, Holdings, Quote, Side, TradingSession, TradingState
from daemon.core.planning.plan import Plan, PlannedOrder, SkippedSymbol, WeightRow

__all__ = [
    "CASH",
    "Alert",
    "CancelOrder",
    "Command",
    "Config",
    "Halt",
    "Holdings",
    "LookupOrder",
    "PlaceOrder",
    "Plan",
    "PlannedOrder",
    "Quote",
    "RecordDecision",
    "RequestReconcile",
    "ScheduleWakeup",
    "Side",
    "SkippedSymbol",
    "TradingSession",
    "TradingState",
    "TradingStateChanged",
    "WeightRow",
]
