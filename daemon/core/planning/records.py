"""``PlannedOrder`` and ``WeightRow`` built at the planner's rate (a thousand a plan), and
``Plan.weights`` built when first read (``LazyWeights``).

Both are frozen slotted dataclasses, whose generated ``__init__`` stores each field through
``object.__setattr__(self, name, value)``: about a microsecond per order. These builders
store the same values through the slots' own descriptors (what that call ends in), so the
result is the same object: equal, same hash, same repr, still frozen. The import-time checks
make them refuse to run if either class gains a field, a default they do not set, or a
``__post_init__`` they would skip (``tests/core/test_plan_records.py`` compares them with the
constructors).

``LazyOrder`` is a ``PlannedOrder`` whose figures and reason are computed on first read: a
plan of a thousand orders builds its Decimals and formats its reasons only for the orders
something reads (the engine sends ten at a time; the journal reads them all, later, in the
shell). Reading any of those fields runs the order's builder once and stores every field in
its slot (an unset slot falls back to ``__getattr__``), after which it is a plain
``PlannedOrder``: equal to, hashed and printed as the one the constructor makes. The builder
is pure, so two threads reading a fresh order at once both get the same figures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from decimal import Decimal
from functools import partial
from typing import Any

from daemon.core.model import Side
from daemon.core.planning.plan import PlannedOrder, WeightRow

_ORDER_FIELDS = (
    "symbol",
    "side",
    "qty",
    "notional",
    "limit_price",
    "est_cost",
    "reason",
    "est_notional",
)
_WEIGHT_FIELDS = ("current", "target", "low", "high")


def _setters(cls: type, names: tuple[str, ...]) -> list[Any]:
    if tuple(f.name for f in dataclasses.fields(cls)) != names:
        raise TypeError(f"{cls.__name__} changed its fields: update daemon/core/planning/records.py")
    if hasattr(cls, "__post_init__") or "__slots__" not in cls.__dict__:
        raise TypeError(
            f"{cls.__name__} is no longer a plain slotted dataclass: update plan_records"
        )
    return [cls.__dict__[n].__set__ for n in names]


_o = _setters(PlannedOrder, _ORDER_FIELDS)
_o_lazy = _o[2:]  # the fields a LazyOrder's builder makes (symbol and side are set at once)

OrderFigures = tuple[Decimal | None, Decimal | None, Decimal | None, Decimal, str, Decimal]
"""(qty, notional, limit_price, est_cost, reason, est_notional): what a builder returns."""
_w = _setters(WeightRow, _WEIGHT_FIELDS)
_new = object.__new__


def weight_row(current: float, target: float, low: float, high: float) -> WeightRow:
    """``WeightRow(current, target, low, high)``, quicker."""
    s = _w
    w: WeightRow = _new(WeightRow)
    s[0](w, current)
    s[1](w, target)
    s[2](w, low)
    s[3](w, high)
    return w


class LazyOrder(PlannedOrder):
    """A ``PlannedOrder`` with its figures built on first read (see the module docstring)."""

    __slots__ = ("_build",)

    def __getattr__(self, name: str) -> Any:
        # only reached for a slot not set yet (or a name no PlannedOrder has)
        if name not in _LAZY:
            raise AttributeError(name)
        build = _get_build(self)
        if build is not None:
            for setter, value in zip(_o_lazy, build[0](*build[1:]), strict=True):
                setter(self, value)
            # let the builder (and the plan's market it holds) go only once every field is
            # set: a reader in another thread (the journal's writer encodes the plan while
            # the engine reads its orders) finds them set, or builds the same values too
            _set_build(self, None)
        return object.__getattribute__(self, name)


_LAZY = frozenset(_ORDER_FIELDS[2:])
_get_build = LazyOrder.__dict__["_build"].__get__
_set_build = LazyOrder.__dict__["_build"].__set__


def lazy_order(
    symbol: str, side: Side, build: Callable[..., OrderFigures], *args: Any
) -> PlannedOrder:
    """A ``PlannedOrder`` for ``symbol`` and ``side`` whose other fields are
    ``build(*args)``, called on first read."""
    o: LazyOrder = _new(LazyOrder)
    _o[0](o, symbol)
    _o[1](o, side)
    _set_build(o, (build, *args))
    return o


def lazy_order_parts() -> tuple[Callable[[], LazyOrder], Any, Any, Any]:
    """What ``lazy_order`` does, as (new, set symbol, set side, set builder tuple), for a
    loop that makes a thousand (a call less per order)."""
    return partial(_new, LazyOrder), _o[0], _o[1], _set_build


class LazyWeights(Mapping[str, WeightRow]):
    """``Plan.weights``: symbol → ``WeightRow``, the rows built on first read. A plan of
    1,000 assets holds 1,001 rows and the planner reads none of them (the journal, the
    ``plan`` command and tests do, later): ``build(*args)`` makes the plain dict the
    planner used to return, once, on the first read of anything; from then on this is that
    dict's read-only view (equal to it and to any mapping of the same items, printed and
    iterated as it). ``build`` is pure, so two threads reading a fresh one at once build
    equal dicts (either is kept)."""

    __slots__ = ("_args", "_rows")

    def __init__(self, build: Callable[..., dict[str, WeightRow]], *args: Any) -> None:
        self._args: tuple[Any, ...] = (build, *args)
        self._rows: dict[str, WeightRow] | None = None

    def rows(self) -> dict[str, WeightRow]:
        """The dict itself (built now if not yet)."""
        rows = self._rows
        if rows is None:
            build = self._args
            rows = self._rows = build[0](*build[1:])
        return rows

    def __getitem__(self, symbol: str) -> WeightRow:
        return self.rows()[symbol]

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows())

    def __len__(self) -> int:
        return len(self.rows())

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.rows()

    # the dict's own views (quicker than Mapping's, which look every key up again)
    def keys(self) -> KeysView[str]:
        return self.rows().keys()

    def items(self) -> ItemsView[str, WeightRow]:
        return self.rows().items()

    def values(self) -> ValuesView[WeightRow]:
        return self.rows().values()

    def get(self, symbol: str, default: Any = None) -> Any:
        return self.rows().get(symbol, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyWeights):
            return self.rows() == other.rows()
        if isinstance(other, dict):
            return self.rows() == other
        if isinstance(other, Mapping):
            return self.rows() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a mapping, like dict

    def __repr__(self) -> str:
        return repr(self.rows())
