"""The victim for test_lots_kill9: trades SPY through the journal until SIGKILLed.

Run as ``python -m tests.adapters.store.kill9_lots_child DB FIRST``. Step ``k`` journals the
durable intent ``o<k>`` (a buy of 1–5 shares, or every third step a sale of 1 share when
the child holds any), then its fill as an ``OrderFilled`` event (twice: the stream repeats
itself), then flushes and prints ``acked <k>``. Prices wander so there are gains, losses
and wash sales. The first step of a run first reads what the journal holds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from adapters.store.journal import SqliteJournal
from daemon.core.commands import PlaceOrder
from daemon.core.events import OrderFilled
from daemon.core.model import Side
from tests.clocks import StepClock

T0 = datetime(2025, 1, 6, 15, tzinfo=UTC)


def held(path: str) -> Decimal:
    try:
        conn = sqlite3.connect(path)
        rows = conn.execute(
            "SELECT i.side, f.qty FROM fills AS f JOIN intents AS i USING (client_order_id)"
        ).fetchall()
        conn.close()
    except sqlite3.Error:
        return Decimal(0)
    return sum((Decimal(q) if s == "buy" else -Decimal(q) for s, q in rows), Decimal(0))


async def run(path: str, first: int) -> None:
    position = held(path)
    journal = await SqliteJournal.open(path, clock=StepClock())
    print("ready", flush=True)
    k = first
    while True:
        at = T0 + timedelta(days=(k % 1_000_000) // 2, minutes=k % 7)
        price = Decimal(100 + (k * 37) % 23 - 11)
        sell = k % 3 == 2 and position >= 1
        qty = Decimal(1) if sell else Decimal(k % 5 + 1)
        side = Side.SELL if sell else Side.BUY
        await journal.record_intent(PlaceOrder(f"o{k}", "SPY", side, qty, None, None))
        fill = OrderFilled(at, f"o{k}", f"e{k}", qty, price, qty)
        journal.record_event(fill)
        journal.record_event(fill)
        await journal.flush()
        position += -qty if sell else qty
        print(f"acked {k}", flush=True)
        k += 1


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], int(sys.argv[2])))
