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
from daemon.core.engine import Engine
from tests.clocks import StepClock
from tests.core.engine_scenario import RUN, make_config
from tests.core.test_engine_replay import TARGETS, drive


def engine() -> Engine:
    return Engine(make_config(TARGETS, burst=2, orders_per_minute=30.0, max_in_flight=3), RUN)


@pytest.mark.parametrize("policy", ["all", "conflate"])
async def test_replaying_the_journal_gives_the_same_commands(
    tmp_path: Path, policy: QuotePolicy
) -> None:
    recorded, _ = drive(seed=3, seconds=300)
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
    quotes = sum(isinstance(e, ev.QuoteUpdated) for e in recorded)
    kept = sum(isinstance(e, ev.QuoteUpdated) for e in journaled)
    if policy == "all":
        assert journaled == recorded
    else:
        assert kept < quotes / 2  # conflation really dropped most quotes
        assert [e for e in journaled if not isinstance(e, ev.QuoteUpdated)] == [
            e for e in recorded if not isinstance(e, ev.QuoteUpdated)
        ]

    fresh = engine()
    replayed = [c for e in journaled for c in fresh.handle(e)]
    assert [c for _, _, c in journal.commands()] == live_commands
    assert replayed == live_commands
    await journal.close()


def test_quotes_matter_to_the_replay() -> None:
    """Guard for the test above: without any quotes the replay diverges, so its passing
    with conflated quotes means conflation kept what the engine needs."""
    recorded, commands = drive(seed=3, seconds=300)
    fresh = engine()
    without = [c for e in recorded if not isinstance(e, ev.QuoteUpdated) for c in fresh.handle(e)]
    assert without != commands
