"""``rebalanced backtest --models KINDS``: model targets against static ones on the same rows.

Static targets first, then each kind (``[targets.model]`` of the config with ``kind``
replaced; bounds and the turnover penalty are kept for the kinds that take them), every
model walk-forward (``adapters.backtest.models``). Prints a table, or with ``--json`` a list
of ``{kind, result}`` (``result`` as a single backtest's, with ``model``: estimates and
failures by reason).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from decimal import Decimal
from typing import Any

EX_USAGE = 64


def kinds(text: str) -> list[Any]:
    from daemon.core.config.model_targets import ModelKind

    names = [k.strip() for k in text.split(",") if k.strip()]
    if names == ["all"]:
        return [k for k in ModelKind if k is not ModelKind.STATIC]
    valid = {k.value: k for k in ModelKind}
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise ValueError(
            f"--models {text!r}: unknown kind {', '.join(bad) or '(none)'}: use 'all' or a "
            "comma list of " + ", ".join(valid)
        )
    return [valid[n] for n in names]


def compare(
    args: argparse.Namespace,
    config: Any,
    history: Any,
    series: Any,
    flows: tuple[tuple[date, Decimal], ...],
) -> int:
    from adapters.backtest.models import compare_models, comparison_table

    try:
        wanted = kinds(args.models)
    except ValueError as exc:
        print(f"rebalanced backtest: {exc}", file=sys.stderr)
        return EX_USAGE
    runs = compare_models(config, wanted, history, series, args.initial_value,
                          cash_flows=flows, spread_bps=args.spread_bps)  # fmt: skip
    if args.json:
        print(json.dumps([{"kind": r.kind, "result": r.result} for r in runs], indent=2))
    else:
        print(comparison_table(runs))
    return 0
