"""Reading the configuration file (the I/O side of ``daemon.core.config.reader``).

``load_config(path)`` reads and validates one TOML file. Every failure is a ``ConfigError``:
a missing or unreadable file, a file that is not UTF-8, a TOML syntax error (with its line)
and every validation problem. A bad config exits the daemon with ``EX_CONFIG`` (78,
sysexits.h), which the systemd unit treats as "do not restart".
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from daemon.core.config.reader import ConfigError, ConfigProblem, parse_config
from daemon.core.config.values import Config

__all__ = ["EX_CONFIG", "ConfigError", "ConfigProblem", "load_config"]

EX_CONFIG = 78

TOO_DEEP = (
    "arrays or tables are nested far too deeply to be a configuration: the file is damaged "
    "or not a rebalanced config (see deploy/rebalanced.example.toml)"
)

_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_config(path: str | Path) -> Config:
    """Read, parse and validate the file at ``path``; raise ``ConfigError`` on any problem."""
    p = Path(path)
    name = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(
            name,
            "file not found: check the path (see deploy/rebalanced.example.toml "
            "for a starting point)",
        ) from None
    except IsADirectoryError:
        raise _error(name, "is a directory, not a file: give the path of the .toml file") from None
    except PermissionError:
        raise _error(
            name,
            "permission denied: make the file readable by the daemon's user "
            "(e.g. chmod 640 and group rebalanced)",
        ) from None
    except UnicodeDecodeError as exc:
        raise _error(
            name, f"is not UTF-8 text (bad byte at offset {exc.start}): save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise _error(
            name, f"cannot be read ({exc.strerror}): check the path and its permissions"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(name, exc) from None
    except RecursionError:
        raise _error(name, TOO_DEEP) from None
    try:
        return parse_config(data)
    except RecursionError:
        raise _error(name, TOO_DEEP) from None


def _syntax_error(name: str, exc: tomllib.TOMLDecodeError) -> ConfigError:
    detail = str(exc)
    m = _AT_LINE.search(detail)
    where = f"{name}:{m.group(1)}" if m else name
    reason = _AT_LINE.sub("", detail).strip()
    col = f", column {m.group(2)}" if m else ""
    return _error(where, f"TOML syntax error{col}: {reason}: fix the file at this line")


def _error(path: str, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(path, message)])
