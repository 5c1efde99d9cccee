"""The planner gives exactly the plans it gave before its numpy rewrite: every field of the
``Plan`` of ~1,500 seeded inputs and the benchmark's scenarios (``planner_frozen_cases``),
compared by digest with the record in ``planner_frozen.json``. A mismatch names the cases;
``python -m tests.core.planner_frozen_cases --dump FILE`` prints their full plans to diff."""

from __future__ import annotations

import json

from tests.core.planner_frozen_cases import FROZEN, all_cases, digest


def test_every_recorded_input_plans_exactly_as_recorded() -> None:
    frozen: dict[str, str] = json.loads(FROZEN.read_text())
    got = {name: digest(planned()) for name, planned in all_cases()}
    assert got.keys() == frozen.keys(), "the cases changed: re-record (see planner_frozen_cases)"
    wrong = sorted(name for name, d in got.items() if frozen[name] != d)
    assert not wrong, f"{len(wrong)} plans differ from the record: {wrong[:20]}"
