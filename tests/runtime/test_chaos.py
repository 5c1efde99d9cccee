"""Ten cycles of the chaos script (``make chaos`` runs 100): a random paper-exchange fault,
``kill -9`` at a random moment and a restart, with partial fills on. Every count but the
cycles must be 0: no duplicate POST, no lost or double-journaled fill, books equal to the
exchange, every restart ready."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.chaos import run


def test_ten_chaos_cycles_leave_nothing_wrong(tmp_path: Path) -> None:
    tally = run(10, seed=11, work=tmp_path, say=lambda _line: None)
    report = "\n".join([*tally.lines(), *tally.notes])
    assert tally.cycles == 10, report
    assert tally.clean, report
