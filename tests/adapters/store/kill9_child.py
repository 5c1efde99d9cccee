"""The victim for test_kill9: journals a steady stream until it is SIGKILLed.

Run as ``python -m tests.adapters.store.kill9_child DB FIRST``. Each step ``k`` (from
FIRST) writes, in this order: a TimerFired event ``k``, a quote (conflated), a command,
the durable intent ``o<k>`` and then, for every third ``k``, a FILLED state and a fill
(twice: a duplicate). It prints ``ready`` after opening and ``acked o<k>`` once the intent
is durable, so the parent knows exactly what must survive. With a third argument ``group``
the intents go through ``record_intents`` (the intent log) instead.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from adapters.store.journal import SqliteJournal
from daemon.core.commands import PlaceOrder, ScheduleWakeup
from daemon.core.events import OrderFilled, QuoteUpdated, TimerFired
from daemon.core.model import Side
from tests.clocks import StepClock

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


async def run(path: str, first: int, group: bool = False) -> None:
    journal = await SqliteJournal.open(path, clock=StepClock())
    print("ready", flush=True)
    k = first
    while True:
        t = T0 + timedelta(milliseconds=k)
        journal.record_event(TimerFired(t, f"k{k}"))
        journal.record_event(QuoteUpdated(t, "SPY", 400.0 + k % 7, 400.5))
        journal.record_command(ScheduleWakeup(t + timedelta(seconds=60), f"w{k}"))
        intent = PlaceOrder(f"o{k}", "SPY", Side.BUY, Decimal(k % 97 + 1) / 10, None,
                            Decimal("401.25"))
        if group:  # the order path's group commit: durable in the intent log at once
            await journal.record_intents([intent])[0]
            await asyncio.sleep(0)  # the writer commits behind, at its own pace
        else:
            await journal.record_intent(intent)
        print(f"acked o{k}", flush=True)
        if k % 3 == 0:
            journal.record_order_state(f"o{k}", "FILLED", {"k": k})
            f = OrderFilled(t, f"o{k}", f"e{k}", Decimal("1"), Decimal("401"), Decimal("1"))
            journal.record_fill(f)
            journal.record_fill(f)
        k += 1


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], int(sys.argv[2]), sys.argv[3:] == ["group"]))
