"""Typed, problem-collecting readers for one TOML table at a time.

``config_parse`` builds a ``Config`` section by section with a ``Reader``: every reader
method returns a usable value (the default when the input is bad) and records a
``ConfigProblem`` instead of raising, so the user sees ALL problems of a file at once.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any, TypeVar

from daemon.core.config.ranges import LARGEST, magnitude_problem, range_problem

E = TypeVar("E", bound=enum.Enum)

# Key names that look like credentials: never accepted in the file, never echoed back.
_SECRET_HINTS = ("secret", "api_key", "apikey", "key_id", "password", "token", "apca_")


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    path: str  # dotted path of the offending key, e.g. "portfolio.targets.VTI"
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(ValueError):
    """A configuration that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def looks_secret(key: str) -> bool:
    k = key.lower()
    return any(h in k for h in _SECRET_HINTS)


def secret_message() -> str:
    return (
        "credentials do not belong in the configuration file (the value is not shown): "
        "remove this key and pass them in the environment (APCA_API_KEY_ID / "
        "APCA_API_SECRET_KEY) or as systemd credentials (LoadCredential=)"
    )


def type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def fmt_num(x: float) -> str:
    """5.0 → '5', 0.25 → '0.25', 98.50000000001 → '98.5'."""
    return f"{x:.10g}"


_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


class Reader:
    """Collects problems; every read returns a value the builder can go on with."""

    def __init__(self) -> None:
        self.problems: list[ConfigProblem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(ConfigProblem(path, message))

    # --- tables -----------------------------------------------------------------------

    def table(
        self, parent: Mapping[str, Any], key: str, path: str, allowed: Collection[str]
    ) -> Mapping[str, Any]:
        """``parent[key]`` as a table checked against ``allowed`` keys; {} when absent."""
        if key not in parent:
            return {}
        return self.check_table(parent[key], path, allowed)

    def check_table(self, value: object, path: str, allowed: Collection[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.problem(path, f"expected a table [{path}], got {type_name(value)}")
            return {}
        for k in value:
            if k not in allowed:
                self.unknown_key(f"{path}.{k}" if path else k, k, allowed)
        return value

    def unknown_key(self, path: str, key: str, allowed: Collection[str]) -> None:
        if looks_secret(key):
            self.problem(path, secret_message())
            return
        close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "remove it"
        valid = ", ".join(sorted(allowed)) or "(none)"
        self.problem(path, f"unknown key {key!r}: {hint} (valid keys here: {valid})")

    # --- scalars ----------------------------------------------------------------------

    def number(
        self,
        tbl: Mapping[str, Any],
        key: str,
        path: str,
        default: float,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_min: bool = False,
        unit: str = "",
    ) -> float:
        if key not in tbl:
            return default
        value = self.raw_number(tbl[key], f"{path}.{key}")
        if value is None:
            return default
        if not self.in_range(value, f"{path}.{key}", minimum, maximum, exclusive_min, unit):
            return default
        return value

    def optional_number(
        self,
        tbl: Mapping[str, Any],
        key: str,
        path: str,
        default: float | None,
        *,
        minimum: float | None = None,
        exclusive_min: bool = False,
        unit: str = "",
    ) -> float | None:
        """A number, or ``false`` for "none" (TOML has no null); absent → ``default``."""
        if key not in tbl:
            return default
        if tbl[key] is False:
            return None
        value = self.raw_number(tbl[key], f"{path}.{key}", allow_false=True)
        if value is None:
            return default
        if not self.in_range(value, f"{path}.{key}", minimum, None, exclusive_min, unit):
            return default
        return value

    def raw_number(self, value: object, path: str, *, allow_false: bool = False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            alt = " (or false to disable)" if allow_false else ""
            fix = ""
            if isinstance(value, str):
                fix = ": write the number without quotes"
            self.problem(path, f"expected a number{alt}, got {type_name(value)}{fix}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(path, f"expected a finite number, got {value}: use an ordinary number")
            return None
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            self.problem(path, f"is {str(value)[:20]}…, far too large: fix the typo")
            return None
        problem = magnitude_problem(number)
        if problem is not None:
            self.problem(path, problem)
            return None
        return number

    def in_range(
        self,
        value: float,
        path: str,
        minimum: float | None,
        maximum: float | None,
        exclusive_min: bool,
        unit: str,
    ) -> bool:
        u = f" {unit}" if unit else ""
        if minimum is not None and (value <= minimum if exclusive_min else value < minimum):
            op = ">" if exclusive_min else "≥"
            self.problem(
                path,
                f"is {fmt_num(value)}{u}; it must be {op} {fmt_num(minimum)}{u}: raise it",
            )
            return False
        if maximum is not None and value > maximum:
            self.problem(
                path, f"is {fmt_num(value)}{u}; it must be ≤ {fmt_num(maximum)}{u}: lower it"
            )
            return False
        problem = range_problem(path, value, unit)
        if problem is not None:
            self.problem(path, problem)
            return False
        return True

    def integer(
        self,
        tbl: Mapping[str, Any],
        key: str,
        path: str,
        default: int,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        if key not in tbl:
            return default
        value = self.raw_integer(tbl[key], f"{path}.{key}")
        if value is None:
            return default
        if not self.in_range(value, f"{path}.{key}", minimum, maximum, False, ""):
            return default
        return value

    def raw_integer(self, value: object, path: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            fix = ": write the number without quotes" if isinstance(value, str) else ""
            self.problem(path, f"expected a whole number, got {type_name(value)}{fix}")
            return None
        if isinstance(value, float):
            if not math.isfinite(value):
                self.problem(path, f"expected a whole number, got {value}")
                return None
            if not value.is_integer():
                self.problem(
                    path, f"expected a whole number, got {fmt_num(value)}: drop the fraction"
                )
                return None
        if abs(value) > LARGEST:
            self.problem(path, f"is {value:.6g}, larger than any sane setting ({LARGEST:g} at "
                         "most): fix the typo")
            return None
        return int(value)

    def decimal(
        self, tbl: Mapping[str, Any], key: str, path: str, default: Decimal, *, unit: str = ""
    ) -> Decimal:
        """A non-negative amount of money, parsed from ``str(number)`` so 0.1 stays 0.1."""
        if key not in tbl:
            return default
        value = self.raw_number(tbl[key], f"{path}.{key}")
        if value is None:
            return default
        if not self.in_range(value, f"{path}.{key}", 0.0, None, False, unit):
            return default
        return Decimal(str(tbl[key]))

    def boolean(self, tbl: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        if key not in tbl:
            return default
        value = tbl[key]
        if not isinstance(value, bool):
            fix = " (without quotes)" if isinstance(value, str) else ""
            self.problem(f"{path}.{key}", f"expected true or false{fix}, got {type_name(value)}")
            return default
        return value

    def string(self, tbl: Mapping[str, Any], key: str, path: str, default: str) -> str:
        if key not in tbl:
            return default
        value = tbl[key]
        if not isinstance(value, str):
            self.problem(f"{path}.{key}", f"expected a string in quotes, got {type_name(value)}")
            return default
        if not value.strip():
            self.problem(f"{path}.{key}", "is empty: give a value or remove the key")
            return default
        return value

    def optional_string(
        self, tbl: Mapping[str, Any], key: str, path: str, default: str | None
    ) -> str | None:
        if key not in tbl:
            return default
        if tbl[key] is False:
            return None
        return self.string(tbl, key, path, default or "") or default

    def choice(
        self, tbl: Mapping[str, Any], key: str, path: str, default: str, choices: Collection[str]
    ) -> str:
        if key not in tbl:
            return default
        value = tbl[key]
        options = " | ".join(choices)
        if not isinstance(value, str):
            self.problem(f"{path}.{key}", f"expected one of {options}, got {type_name(value)}")
            return default
        if value not in choices:
            close = difflib.get_close_matches(value.lower(), list(choices), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            self.problem(
                f"{path}.{key}", f"{_short(value)} is not valid: {hint}use one of {options}"
            )
            return default
        return value

    def member(self, tbl: Mapping[str, Any], key: str, path: str, default: E) -> E:
        cls = type(default)
        raw = self.choice(tbl, key, path, str(default.value), [str(m.value) for m in cls])
        return cls(raw)

    def clock(self, tbl: Mapping[str, Any], key: str, path: str, default: time) -> time:
        """ "HH:MM" (24-hour) or a TOML local time such as 09:35:00."""
        if key not in tbl:
            return default
        value = tbl[key]
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            m = _HHMM.match(value.strip())
            if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
                return time(int(m.group(1)), int(m.group(2)))
        self.problem(
            f"{path}.{key}",
            f'expected a 24-hour time "HH:MM" such as "09:35", got {type_name(value)}',
        )
        return default
