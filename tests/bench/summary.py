"""One line per headline figure, for ``run_all``'s summary table.

A benchmark calls ``result(measure, figure, aim, met)``; it prints ``RESULT`` and a JSON
object on one line, which ``run_all`` collects (in the order the benchmarks ran) into the
table ``make bench`` ends with: measure, figure, aim, met. ``met`` is None when a figure has
no aim of its own (context for another)."""

from __future__ import annotations

import json

PREFIX = "RESULT "


def result(measure: str, figure: str, aim: str = "", met: bool | None = None) -> None:
    print(PREFIX + json.dumps({"measure": measure, "figure": figure, "aim": aim, "met": met},
                              ensure_ascii=False),
          flush=True)  # fmt: skip


def parse(line: str) -> dict[str, object] | None:
    """The result a ``RESULT`` line carries (None: not one)."""
    if not line.startswith(PREFIX):
        return None
    try:
        data = json.loads(line[len(PREFIX):])
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None
