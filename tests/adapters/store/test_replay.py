"""Replay through the journal: the events a live engine consumed, journaled and read back,
drive a fresh engine to the same command stream (DESIGN: "feeding the same event journal to
a fresh engine must give the same command stream").

The live side is the core's deterministic scenario (``tests/core/test_engine_replay.drive``:
a toy broker with acks, partial/duplicate fills, rejects, unknown outcomes, timers and a
random walk of quotes). We journal as the consumer does (event, then the commands it
produced), then replay ``journal.events()`` into a fresh Engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.store.journal import QuotePolicy, SqliteJournal
from daemon.core import events as ev
from daemon.core.commands import PlaceOrder
from daemon.core.engine.kernel import Engine
from tests.clocks import StepClock
from tests.core.engine_scenario import RUN, make_config
from tests.core.test_engine_replay import TARGETS, drive


def engine() -> Engine:
    return Engine(make_config(TARGETS, burst=2, orders_per_minute=30.0, max_in_flight=3), RUN)


def _quote_count(events: list[ev.Event]) -> int:
    return sum(
        1 if isinstance(e, ev.QuoteUpdated) else len(e.quotes)
        for e in events
        if isinstance(e, (ev.QuoteUpdated, ev.QuoteBatch))
    )


def _not_quotes(events: list[ev.Event]) -> list[ev.Event]:
    return [e for e in events if not isinstance(e, (ev.QuoteUpdated, ev.QuoteBatch))]


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("policy", ["all", "conflate"])
async def test_replaying_the_journal_gives_the_same_commands(
    tmp_path: Path, policy: QuotePolicy, batched: bool
) -> None:
    """``batched``: the quotes come as one ``QuoteBatch`` per second (a frame), which the
    journal conflates across batches and journals as one batch before the next write."""
    recorded, _ = drive(seed=3, seconds=300, batched=batched)
    live = engine()
    journal = await SqliteJournal.open(tmp_path / "j.sqlite3", quotes=policy, clock=StepClock())
    live_commands = []
    for event in recorded:
        journal.record_event(event)
        commands = live.handle(event)
        for c in commands:
            journal.record_command(c)
        live_commands.extend(commands)
    await journal.flush()
    assert any(isinstance(c, PlaceOrder) for c in live_commands)

    journaled = [e for _, e in journal.events()]
    quotes, kept = _quote_count(recorded), _quote_count(journaled)
    if policy == "all":
        assert journaled == recorded
    else:
        assert kept < quotes / 2  # conflation really dropped most quotes
        assert _not_quotes(journaled) == _not_quotes(recorded)
        assert batched == any(isinstance(e, ev.QuoteBatch) for e in journaled)

    fresh = engine()
    replayed = [c for e in journaled for c in fresh.handle(e)]
    assert [c for _, _, c in journal.commands()] == live_commands
    assert replayed == live_commands
    await journal.close()


@pytest.mark.parametrize("batched", [False, True])
def test_quotes_matter_to_the_replay(batched: bool) -> None:
    """Guard for the test above: without any quotes the replay diverges, so its passing
    with conflated quotes means conflation kept what the engine needs."""
    recorded, commands = drive(seed=3, seconds=300, batched=batched)
    fresh = engine()
    without = [c for e in _not_quotes(recorded) for c in fresh.handle(e)]
    assert without != commands

