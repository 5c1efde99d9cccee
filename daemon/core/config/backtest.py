"""The ``[backtest]`` section: a sweep grid kept with the config (``[backtest.sweep]``).

Only the backtester reads it (``rebalanced backtest --sweep`` without a SPEC); the daemon
ignores it. Each leaf of ``[backtest.sweep]`` is an axis: its dotted path is a key of this
same file, its value the array of values to try, e.g.

    [backtest.sweep]
    trigger.mode = ["calendar", "threshold", "hybrid"]
    bands.absolute = [3, 5]
    cost.gate = [true, false]

Checked strictly, like every other section: a leaf that is not a non-empty array, and each
value the rest of the file would refuse at that key (an unknown key, a wrong type, a number
out of range), is a problem at ``backtest.sweep.<key>[<index>]``. Each value is checked on
its own against the rest of the file; a combination that fails only together (two axes) is
listed by the sweep with its problem instead of figures.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from daemon.core.config.fields import ConfigError, Reader, type_name

__all__ = ["BACKTEST_KEYS", "MAX_POINTS", "BacktestConfig", "apply_point", "backtest_section"]

BACKTEST_KEYS = ("sweep",)
MAX_POINTS = 10_000  # combinations in one grid

Point = tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """``sweep``: (dotted key, values to try) per axis, in file order; () none. Each value
    is kept as its TOML text (``"calendar"``, ``3``, ``true``), so the config journals as
    exactly as every other section; ``axes()`` gives the values."""

    sweep: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def points(self) -> int:
        return math.prod(len(v) for _, v in self.sweep) if self.sweep else 0

    def axes(self) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        """(dotted key, values) per axis, the values as the file gave them."""
        return tuple((k, tuple(_from_toml(t) for t in texts)) for k, texts in self.sweep)


SCALARS = (str, bool, int, float)


def _to_toml(value: Any) -> str:
    """A scalar as TOML writes it (true, not True; strings JSON-escaped, which TOML reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _from_toml(text: str) -> Any:
    return tomllib.loads(f"v = {text}")["v"]


def apply_point(data: Mapping[str, Any], point: Point) -> dict[str, Any]:
    """A copy of the decoded file with each ``(dotted key, value)`` of ``point`` set; setting
    ``trigger.mode`` to ``threshold`` drops ``[trigger.calendar]`` (that mode has none).
    Raise ``ValueError`` when a key's parent is not a table."""
    out = copy.deepcopy(dict(data))
    for key, value in point:
        *path, last = key.split(".")
        node: Any = out
        for p in path:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key}: {p} is not a table in the config")
        node[last] = value
        if key == "trigger.mode" and value == "threshold":
            out.get("trigger", {}).pop("calendar", None)
    return out


def backtest_section(
    r: Reader,
    tbl: Mapping[str, Any],
    data: Mapping[str, Any],
    parse: Callable[[Mapping[str, Any]], object],
) -> BacktestConfig:
    """Read ``[backtest]``; ``parse`` validates the whole file (each swept value is set in
    ``data`` without its ``[backtest]`` and checked by it)."""
    if "sweep" not in tbl:
        return BacktestConfig()
    raw = tbl["sweep"]
    if not isinstance(raw, Mapping):
        r.problem("backtest.sweep", f"expected a table [backtest.sweep], got {type_name(raw)}")
        return BacktestConfig()
    axes: list[tuple[str, tuple[Any, ...]]] = []
    before = len(r.problems)
    _axes(r, raw, "", axes)
    if not axes and len(r.problems) == before:
        r.problem(
            "backtest.sweep",
            "is empty: give each key to vary with its values, e.g. bands.absolute = [3, 5]",
        )
        return BacktestConfig()
    if not axes:
        return BacktestConfig()
    base = {k: v for k, v in data.items() if k != "backtest"}
    before = len(r.problems)
    for key, values in axes:
        _check_values(r, base, key, values, parse)
    out = BacktestConfig(tuple((k, tuple(_to_toml(x) for x in vs)) for k, vs in axes))
    if len(r.problems) == before and out.points > MAX_POINTS:
        r.problem(
            "backtest.sweep",
            f"{out.points} combinations; at most {MAX_POINTS}: sweep fewer values or keys",
        )
    return out


def _axes(
    r: Reader, tbl: Mapping[str, Any], prefix: str, out: list[tuple[str, tuple[Any, ...]]]
) -> None:
    for k, v in tbl.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            _axes(r, v, key + ".", out)
        elif not isinstance(v, list):
            r.problem(
                f"backtest.sweep.{key}",
                f"expected an array of the values to try (e.g. {key} = [3, 5]), got {type_name(v)}",
            )
        elif not v:
            r.problem(f"backtest.sweep.{key}", "is an empty array: list the values to try")
        elif key.split(".")[0] == "backtest":
            r.problem(f"backtest.sweep.{key}", "the sweep cannot vary [backtest] itself")
        elif any(not isinstance(x, SCALARS) for x in v):
            i = next(i for i, x in enumerate(v) if not isinstance(x, SCALARS))
            r.problem(
                f"backtest.sweep.{key}[{i}]",
                f"is {type_name(v[i])}: a sweep tries strings, numbers or booleans",
            )
        else:
            out.append((key, tuple(v)))


def _check_values(
    r: Reader,
    base: Mapping[str, Any],
    key: str,
    values: Sequence[Any],
    parse: Callable[[Mapping[str, Any]], object],
) -> None:
    for i, value in enumerate(values):
        where = f"backtest.sweep.{key}[{i}]"
        try:
            parse(apply_point(base, ((key, value),)))
        except ValueError as exc:
            problems = exc.problems if isinstance(exc, ConfigError) else None
            if problems is None:
                r.problem(where, str(exc))
                continue
            for p in problems:
                if p.path == key or p.path.startswith(key + ".") or p.path.startswith(key + "["):
                    r.problem(where, f"{_toml(value)}: {p.message}")


def _toml(value: Any) -> str:
    """A value as the file writes it (true, not True)."""
    return _to_toml(value) if isinstance(value, SCALARS) else repr(value)
