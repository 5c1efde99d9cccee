"""End to end against the sim: no POST reaches the exchange before its intent is durable
(committed in the journal, or synced in the intent log beside it that the journal replays
on open), and the orders dispatched together are made durable together (group commit)
before the first of them is sent. The sim's request log is watched as each request arrives
(in this process), and the journal file (through a connection of its own) and the intent
log are read then."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from adapters.sim.testing import running_sim
from adapters.store.intent_log import decode_all, log_path
from adapters.store.journal import journal_path
from tests.runtime.e2e_support import live_daemon, sim_cfg


async def test_every_post_finds_its_intent_committed(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    seen: list[tuple[str, set[str]]] = []  # (client order id, intents committed on arrival)

    async with running_sim(sim_cfg()) as sim:
        log = sim.state.request_log
        add = log.add

        def watching_add(**kw: Any) -> Any:
            if kw["method"] == "POST" and kw["path"] == "/v2/orders" and kw["client_order_id"]:
                with sqlite3.connect(journal_path(state_dir)) as db:
                    ids = {r[0] for r in db.execute("SELECT client_order_id FROM intents")}
                logged = log_path(journal_path(state_dir)).read_bytes()
                ids |= {o.client_order_id for o, _ in decode_all(logged)}
                seen.append((kw["client_order_id"], ids))
            return add(**kw)

        log.add = watching_add  # type: ignore[method-assign]
        async with live_daemon(tmp_path, sim=sim, state_dir=state_dir) as d:
            await d.settled_in_bands()
            await d.journal.flush()
            with sqlite3.connect(journal_path(state_dir)) as db:
                intents = list(db.execute("SELECT client_order_id, decision_id FROM intents"))
            assert await d.stop() == 0

    assert seen, "no order was POSTed"
    late = [c for c, ids in seen if c not in ids]
    assert late == [], f"POSTed before their intent was durable: {late}"
    assert {c for c, _ in seen} == {c for c, _ in intents}
    # the first POST of each round already finds the intents of every order of the round
    # (the pacer's burst sends a round of this size at once): one commit for the group, not
    # one per order just ahead of each POST
    rounds: dict[str, set[str]] = {}
    for coid, decision in intents:
        rounds.setdefault(decision, set()).add(coid)
    groups = list(rounds.values())
    assert max(len(g) for g in groups) >= 2, groups
    for group in groups:
        first = next(ids for c, ids in seen if c in group)
        assert group <= first, (group, first)

