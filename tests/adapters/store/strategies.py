"""Hypothesis strategies for every core event and command, derived from their type hints
(independently of the codec), so a new event type is covered the day it is added."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from daemon.core import commands, events, model
from daemon.core.config import values as config
from daemon.core.planning import plan as plan

_NS: dict[str, Any] = {}
for _m in (model, config, plan, events, commands):
    _NS.update(vars(_m))

_TZ = st.sampled_from(
    [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)

names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ.-_0123456789", min_size=1, max_size=8)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(a) for a in args))
    if tp is type(None):
        return st.none()
    if tp is Decimal:
        return st.decimals(allow_nan=False, allow_infinity=False)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=True)
    if tp is str:
        return st.text(max_size=12)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers()
    if tp is datetime:
        return st.datetimes(timezones=_TZ)
    if tp is date:
        return st.dates()
    if tp is time:
        return st.times()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp, globalns=_NS)
        fields = {
            f.name: st.deferred(lambda t=hints[f.name]: strategy_for(t))
            for f in dataclasses.fields(tp)
            if f.init
        }
        return st.builds(tp, **fields)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy_for(a) for a in args))
    if origin is frozenset:
        return st.frozensets(strategy_for(args[0]), max_size=3)
    if origin in (Mapping, dict):
        key = names if args[0] is str else strategy_for(args[0])
        return st.dictionaries(key, strategy_for(args[1]), max_size=3)
    raise TypeError(f"no strategy for {tp!r}")
