"""The order path's I/O tasks (submit, cancel, lookup, reconcile, persist the trading state,
a queue put that waits for room), tracked by what they do.

The drain waits for the kinds that can still change an order at the broker (``SENDING``:
submit, cancel); the periodic reconciliation waits behind every kind but lookups; at exit
whatever is left is cancelled and gathered (``aclose``). A task that fails is logged and
dropped: one order's I/O never takes the daemon down (so not a TaskGroup, whose first
failure would cancel everything).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Collection, Coroutine
from typing import Any

import structlog

log = structlog.get_logger("rebalanced")


class TaskKind(enum.StrEnum):
    SUBMIT = "submit"
    CANCEL = "cancel"
    LOOKUP = "lookup"
    RECONCILE = "reconcile"
    PERSIST = "persist trading state"
    ENQUEUE = "enqueue"  # an event waiting for room on a full queue


SENDING = frozenset({TaskKind.SUBMIT, TaskKind.CANCEL})
"""What the drain waits for: requests whose answer can still change an order."""
ALL_BUT_LOOKUPS = frozenset(TaskKind) - {TaskKind.LOOKUP}
"""What the periodic reconciliation waits behind (a lookup never races a snapshot)."""


class OrderTasks:
    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task[Any], TaskKind] = {}

    def spawn(self, coro: Coroutine[Any, Any, Any], kind: TaskKind, label: str = "") -> None:
        name = f"{kind.value} {label}" if label else kind.value
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks[task] = kind
        task.add_done_callback(self._done)

    def running(self, kinds: Collection[TaskKind]) -> int:
        """How many tasks of these kinds have not finished."""
        return sum(1 for t, k in self._tasks.items() if k in kinds and not t.done())

    def __len__(self) -> int:
        return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel what is left and wait until each task has finished (idempotent)."""
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", task=task.get_name(), error=repr(task.exception()))


__all__ = ["ALL_BUT_LOOKUPS", "SENDING", "OrderTasks", "TaskKind"]
