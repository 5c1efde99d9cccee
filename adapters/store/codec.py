"""Events, commands and their nested values ↔ JSON, exactly.

The journal stores each event or command as ``(kind, body)``: ``kind`` is the class name
(``"OrderFilled"``) and ``body`` a JSON object of its fields. The mapping is driven by the
dataclasses' own type hints, compiled once per type into small encoder/decoder closures:

=====================  ==========================================================
Python value           JSON
=====================  ==========================================================
``Decimal``            string, ``str(d)`` (exact: ``"1.50"`` stays ``"1.50"``)
``float``              number (``repr`` round-trips); NaN/±inf as ``"NaN"``/…
``datetime``           ISO 8601 string with its UTC offset
``date`` / ``time``    ISO 8601 string
enum                   its value
dataclass              object of its fields (nested: ``Plan``, ``WeightRow``, …)
``tuple`` / list       array
``frozenset``          array, sorted by the encoded values (deterministic bytes)
``Mapping[str, V]``    object
``Mapping[K, V]``      array of ``[key, value]`` pairs (e.g. tuple keys)
``X | None``           ``null`` or the encoding of ``X``
=====================  ==========================================================

``decode(kind, encode(x)) == x`` for every registered type. A ``float`` where a
``Decimal`` is declared is refused (it would not round-trip and is a bug upstream).
Decoding tolerates unknown keys and fills missing keys that have defaults, so journals
written before a field was added still replay.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import types
import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import msgspec

from daemon.core import commands as _commands
from daemon.core import events as _events
from daemon.core import model as _model
from daemon.core.config import values as _config
from daemon.core.planning import plan as _plan

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


class CodecError(ValueError):
    """A value could not be encoded or a stored body could not be decoded."""


# ---------------------------------------------------------------------------------------
# the type registry


def _union_members(union: Any) -> tuple[type, ...]:
    return tuple(typing.get_args(union))


EVENT_TYPES: tuple[type, ...] = _union_members(_events.Event)
COMMAND_TYPES: tuple[type, ...] = _union_members(_commands.Command)


def _registry() -> dict[str, type]:
    reg: dict[str, type] = {}
    for cls in (*EVENT_TYPES, *COMMAND_TYPES, _plan.Plan):
        name = cls.__name__
        if name in reg and reg[name] is not cls:
            raise CodecError(f"two journaled types are both named {name!r}; rename one")
        reg[name] = cls
    return reg


REGISTRY: Mapping[str, type] = types.MappingProxyType(_registry())
"""Kind name → class, for every event and command (and ``Plan``)."""

# Names the core's annotations may mention (``from __future__ import annotations`` turns
# them into strings, and events.py imports ``Config`` only for type checking).
_NAMESPACE: dict[str, Any] = {}
for _mod in (_model, _config, _plan, _events, _commands):
    _NAMESPACE.update(vars(_mod))


def kind_of(obj: object) -> str:
    """The journal kind of an event or command (its class name), checked against the registry."""
    name = type(obj).__name__
    if REGISTRY.get(name) is not type(obj):
        raise CodecError(
            f"{name} is not a registered event or command type; add it to the Event or "
            "Command union in daemon/core"
        )
    return name


# ---------------------------------------------------------------------------------------
# encoders

_ENCODERS: dict[Any, Encoder] = {}
_DECODERS: dict[Any, Decoder] = {}


def _identity(v: Any) -> Any:
    return v


def _enc_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)  # "nan", "inf", "-inf": float() reads them back
    return v


def _dec_float(v: Any) -> float:
    if isinstance(v, str):
        return float(v)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise CodecError(f"expected a number, got {v!r}")
    return float(v)


def _enc_decimal(v: Any) -> str:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise CodecError(
        f"{type(v).__name__} {v!r} where a Decimal is required "
        "(floats are inexact: build it with Decimal(str(x)))"
    )


def _dec_decimal(v: Any) -> Decimal:
    if not isinstance(v, str):
        raise CodecError(f"expected a decimal string, got {v!r}")
    try:
        return Decimal(v)
    except ArithmeticError as e:
        raise CodecError(f"not a decimal: {v!r}") from e


def _enc_iso(v: Any) -> str:
    return str(v.isoformat())


def _dec_iso(cls: type) -> Decoder:
    parse = cls.fromisoformat  # type: ignore[attr-defined]

    def dec(v: Any) -> Any:
        if not isinstance(v, str):
            raise CodecError(f"expected an ISO 8601 {cls.__name__} string, got {v!r}")
        try:
            return parse(v)
        except ValueError as e:
            raise CodecError(f"not an ISO 8601 {cls.__name__}: {v!r}") from e

    return dec


def _dec_scalar(cls: type) -> Decoder:
    def dec(v: Any) -> Any:
        if type(v) is not cls:
            if cls is int and isinstance(v, int) and not isinstance(v, bool):
                return v
            raise CodecError(f"expected {cls.__name__}, got {v!r}")
        return v

    return dec


def encoder_for(tp: Any) -> Encoder:
    """The (cached) function turning a value of type ``tp`` into JSON-ready data."""
    try:
        return _ENCODERS[tp]
    except KeyError:
        pass
    enc = _build_encoder(tp)
    _ENCODERS[tp] = enc
    return enc


def decoder_for(tp: Any) -> Decoder:
    """The (cached) function turning JSON-ready data back into a value of type ``tp``."""
    try:
        return _DECODERS[tp]
    except KeyError:
        pass
    dec = _build_decoder(tp)
    _DECODERS[tp] = dec
    return dec


def _optional_inner(tp: Any) -> Any | None:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0]
        raise CodecError(f"unsupported union {tp!r}: only 'X | None' is journaled")
    return None


def _build_encoder(tp: Any) -> Encoder:
    inner = _optional_inner(tp)
    if inner is not None:
        enc_inner = encoder_for(inner)
        return lambda v: None if v is None else enc_inner(v)
    if tp is Decimal:
        return _enc_decimal
    if tp is float:
        return _enc_float
    if tp in (str, int, bool):
        return _identity
    if tp in (datetime, date, time):
        return _enc_iso
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return lambda v: v.value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_encoder(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = encoder_for(args[0])
            return lambda v: [item(x) for x in v]
        encs = [encoder_for(a) for a in args]
        return lambda v: [e(x) for e, x in zip(encs, v, strict=True)]
    if origin is list:
        item = encoder_for(args[0])
        return lambda v: [item(x) for x in v]
    if origin is frozenset:
        item = encoder_for(args[0])
        return lambda v: sorted((item(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    if origin in (Mapping, dict, typing.Mapping):
        key_t, val_t = args
        enc_k, enc_v = encoder_for(key_t), encoder_for(val_t)
        if key_t is str or (isinstance(key_t, type) and issubclass(key_t, str)):
            return lambda v: {enc_k(k): enc_v(x) for k, x in v.items()}
        return lambda v: [[enc_k(k), enc_v(x)] for k, x in v.items()]
    raise CodecError(f"no JSON encoding for type {tp!r}")


def _build_decoder(tp: Any) -> Decoder:
    inner = _optional_inner(tp)
    if inner is not None:
        dec_inner = decoder_for(inner)
        return lambda v: None if v is None else dec_inner(v)
    if tp is Decimal:
        return _dec_decimal
    if tp is float:
        return _dec_float
    if tp in (str, int, bool):
        return _dec_scalar(tp)
    if tp in (datetime, date, time):
        return _dec_iso(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        enum_t = tp

        def dec_enum(v: Any) -> Any:
            try:
                return enum_t(v)
            except ValueError as e:
                raise CodecError(f"{v!r} is not a {enum_t.__name__}") from e

        return dec_enum
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = decoder_for(args[0])
            return lambda v: tuple(item(x) for x in _array(v))
        decs = [decoder_for(a) for a in args]

        def dec_fixed(v: Any) -> tuple[Any, ...]:
            arr = _array(v)
            if len(arr) != len(decs):
                raise CodecError(f"expected {len(decs)} items, got {len(arr)}")
            return tuple(d(x) for d, x in zip(decs, arr, strict=True))

        return dec_fixed
    if origin is list:
        item = decoder_for(args[0])
        return lambda v: [item(x) for x in _array(v)]
    if origin is frozenset:
        item = decoder_for(args[0])
        return lambda v: frozenset(item(x) for x in _array(v))
    if origin in (Mapping, dict, typing.Mapping):
        key_t, val_t = args
        dec_k, dec_v = decoder_for(key_t), decoder_for(val_t)
        if key_t is str or (isinstance(key_t, type) and issubclass(key_t, str)):

            def dec_obj(v: Any) -> dict[Any, Any]:
                if not isinstance(v, dict):
                    raise CodecError(f"expected an object, got {v!r}")
                return {dec_k(k): dec_v(x) for k, x in v.items()}

            return dec_obj
        return lambda v: {dec_k(k): dec_v(x) for k, x in _array(v)}
    raise CodecError(f"no JSON decoding for type {tp!r}")


def _array(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise CodecError(f"expected an array, got {v!r}")
    return v


def _field_types(cls: type) -> list[tuple[str, Any, bool]]:
    """(name, resolved type, has a default) for each init field of a dataclass."""
    try:
        hints = typing.get_type_hints(cls, globalns=_NAMESPACE)
    except NameError as e:
        raise CodecError(f"cannot resolve the annotations of {cls.__name__}: {e}") from e
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        has_default = (
            f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        )
        out.append((f.name, hints[f.name], has_default))
    return out


def _dataclass_encoder(cls: type) -> Encoder:
    fields: list[tuple[str, Encoder]] | None = None

    def enc(v: Any) -> dict[str, Any]:
        nonlocal fields
        if fields is None:  # built lazily, so nested and recursive types resolve
            fields = [(name, encoder_for(tp)) for name, tp, _ in _field_types(cls)]
        out: dict[str, Any] = {}
        for name, e in fields:
            try:
                out[name] = e(getattr(v, name))
            except CodecError as err:
                raise CodecError(f"{cls.__name__}.{name}: {err}") from None
        return out

    return enc


def _dataclass_decoder(cls: type) -> Decoder:
    fields: list[tuple[str, Decoder, bool]] | None = None

    def dec(v: Any) -> Any:
        nonlocal fields
        if fields is None:
            fields = [(name, decoder_for(tp), dflt) for name, tp, dflt in _field_types(cls)]
        if not isinstance(v, dict):
            raise CodecError(f"{cls.__name__}: expected an object, got {v!r}")
        kwargs: dict[str, Any] = {}
        for name, d, has_default in fields:
            if name not in v:
                if has_default:
                    continue
                raise CodecError(f"{cls.__name__}: missing field {name!r}")
            try:
                kwargs[name] = d(v[name])
            except CodecError as err:
                raise CodecError(f"{cls.__name__}.{name}: {err}") from None
        return cls(**kwargs)

    return dec


# ---------------------------------------------------------------------------------------
# the public surface


def to_data(obj: object) -> dict[str, Any]:
    """A registered event/command (or any core dataclass) as a JSON-ready dict of fields."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise CodecError(f"expected a dataclass instance, got {type(obj).__name__}")
    data: dict[str, Any] = encoder_for(type(obj))(obj)
    return data


def from_data(kind: str, data: Mapping[str, Any]) -> Any:
    """Rebuild the registered type named ``kind`` from its field dict."""
    try:
        cls = REGISTRY[kind]
    except KeyError:
        raise CodecError(
            f"unknown journal kind {kind!r}: this rebalanced knows {sorted(REGISTRY)}"
        ) from None
    return decoder_for(cls)(dict(data))


# msgspec writes and parses the plain JSON trees ~7x faster than the json module; floats
# come out shortest-round-trip and big ints stay exact. Non-finite floats never reach it.
_JSON_ENCODER = msgspec.json.Encoder()
_JSON_DECODER = msgspec.json.Decoder()


def _text(data: Any) -> str:
    try:
        return _JSON_ENCODER.encode(data).decode()
    except (TypeError, msgspec.EncodeError) as e:
        raise CodecError(f"cannot write JSON: {e}") from e


def _tree(kind: str, text: str | bytes) -> Any:
    try:
        return _JSON_DECODER.decode(text)
    except msgspec.DecodeError as e:
        raise CodecError(f"{kind}: stored body is not valid JSON: {e}") from e


def dumps(obj: object) -> str:
    """Compact JSON text of ``obj``'s fields (the journal's ``body`` column)."""
    return _text(to_data(obj))


def loads(kind: str, text: str | bytes) -> Any:
    """Inverse of :func:`dumps`: ``loads(kind_of(x), dumps(x)) == x``."""
    return from_data(kind, _tree(kind, text))


def dumps_value(tp: Any, value: Any) -> str:
    """JSON text for any value of a supported type (``tp`` as a type hint)."""
    return _text(encoder_for(tp)(value))


def loads_value(tp: Any, text: str | bytes) -> Any:
    return decoder_for(tp)(_tree(str(tp), text))


__all__ = [
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "REGISTRY",
    "CodecError",
    "decoder_for",
    "dumps",
    "dumps_value",
    "encoder_for",
    "from_data",
    "kind_of",
    "loads",
    "loads_value",
    "to_data",
]
