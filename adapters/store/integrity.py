"""Journal integrity: damage found at start-up, a journal that vanished, the kill switch's
survival copy, and the recovery commands' file work (``rebalanced journal``).

- ``PRAGMA quick_check`` runs every time the writer opens the journal; a damaged file (or
  one that is not SQLite at all) raises ``JournalDamaged`` naming the recovery commands,
  never a traceback.
- ``journal.marker`` beside the journal says one was created here. A journal missing or
  empty (zero bytes) where the marker says one existed is refused (``JournalMissing``)
  unless the caller allows a new one (``--new-journal``): SQLite would silently start an
  empty journal, and a recorded halt would be lost.
- ``journal.sqlite3.trading-state.json`` beside it holds the last trading state (the kill switch), written
  after every change; a journal that is new, recovered or replaced takes it from there.
- ``move_aside`` and ``salvage`` serve ``rebalanced journal recover|new``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from adapters.store.ops import JournalError

MARKER_SUFFIX = ".marker"
TRADING_STATE_SUFFIX = ".trading-state.json"
SIDE_SUFFIXES = ("-wal", "-shm")


class JournalDamaged(JournalError):
    """The journal file is damaged or not a journal: recover it before trading on it."""


class JournalMissing(JournalError):
    """A journal existed here (the marker says so) but the file is gone or empty."""


def recovery_hint(path: Path) -> str:
    d = path.parent
    return (
        f"check it with 'rebalanced journal check --state-dir {d}'; "
        f"'rebalanced journal recover --state-dir {d}' moves it aside and copies what can "
        f"still be read into a new journal; 'rebalanced journal new --state-dir {d}' moves it "
        "aside and starts an empty one (the kill-switch state is kept either way)"
    )


def damaged(path: Path, problem: str) -> JournalDamaged:
    return JournalDamaged(f"the journal {path} is damaged ({problem}): {recovery_hint(path)}")


def is_damage(exc: sqlite3.Error) -> bool:
    """True for SQLite errors that mean a damaged file (not a lock, permission or a full
    disk, which are OperationalErrors with their own messages)."""
    text = str(exc).lower()
    return (
        "malformed" in text
        or "not a database" in text
        or "quick_check" in text
        or "corrupt" in text
        or type(exc) is sqlite3.DatabaseError
    )


def quick_check(conn: sqlite3.Connection, *, full: bool = False) -> list[str]:
    """Problems ``PRAGMA quick_check`` (or ``integrity_check``) reports; [] when ok."""
    pragma = "integrity_check" if full else "quick_check"
    rows = [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}").fetchall()]
    return [] if rows == ["ok"] else rows


def check_file(path: Path, *, full: bool = True) -> list[str]:
    """Open ``path`` read-only and check it; the problems, or [] when it is sound."""
    if not path.exists():
        return [f"{path} does not exist"]
    if path.stat().st_size == 0:
        return [f"{path} is empty (0 bytes)"]
    try:
        conn = sqlite3.connect("file:" + quote(str(path.resolve())) + "?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [str(exc)]
    try:
        problems = quick_check(conn, full=full)
        if not problems:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                problems = ["not a rebalanced journal (no schema version)"]
        return problems
    except sqlite3.Error as exc:
        return [str(exc)]
    finally:
        conn.close()


# -- the marker ---------------------------------------------------------------------------


def marker_path(journal: Path) -> Path:
    return journal.with_name(journal.name + MARKER_SUFFIX)


def guard_missing(journal: Path, *, allow_new: bool) -> None:
    """Refuse a missing or empty journal where the marker says one existed."""
    if allow_new or not marker_path(journal).exists():
        return
    if journal.exists() and journal.stat().st_size > 0:
        return
    what = "is empty (0 bytes)" if journal.exists() else "is missing"
    raise JournalMissing(
        f"the journal {journal} {what}, but {marker_path(journal).name} says one was kept "
        "here: restore it from a backup, or start a new one with "
        f"'rebalanced journal new --state-dir {journal.parent}' (or 'rebalanced run "
        "--new-journal'); the kill-switch state is kept"
    )


def write_marker(journal: Path) -> None:
    marker = marker_path(journal)
    if marker.exists():
        return
    with contextlib.suppress(OSError):
        _atomic_write(marker, json.dumps({"journal": journal.name,
                                          "created": _stamp()}) + "\n")


# -- the kill switch's survival copy -----------------------------------------------------


def trading_state_path(journal: Path) -> Path:
    """Beside the journal, named after it (two journals in one directory never share it)."""
    return journal.with_name(journal.name + TRADING_STATE_SUFFIX)


def save_trading_state(journal: Path, state: str, reason: str) -> None:
    _atomic_write(trading_state_path(journal),
                  json.dumps({"state": state, "reason": reason, "at": _stamp()}) + "\n")


def load_trading_state(journal: Path) -> tuple[str, str] | None:
    try:
        raw = json.loads(trading_state_path(journal).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("state") not in ("active", "reducing", "halted"):
        return None
    return str(raw["state"]), str(raw.get("reason", ""))


# -- recovery -----------------------------------------------------------------------------


def move_aside(journal: Path) -> Path | None:
    """Rename the journal and its -wal/-shm files to ``journal.damaged-<UTC>.sqlite3*``;
    returns the new name (None when there was nothing to move)."""
    if not journal.exists():
        for suffix in SIDE_SUFFIXES:
            with contextlib.suppress(FileNotFoundError):
                journal.with_name(journal.name + suffix).unlink()
        return None
    stem = journal.name.removesuffix(".sqlite3")
    aside = journal.with_name(f"{stem}.damaged-{_stamp(compact=True)}.sqlite3")
    journal.rename(aside)
    for suffix in SIDE_SUFFIXES:
        side = journal.with_name(journal.name + suffix)
        if side.exists():
            side.rename(aside.with_name(aside.name + suffix))
    return aside


def salvage(source: Path, target: Path) -> dict[str, Any]:
    """Copy what can still be read from ``source`` into a new database at ``target``: each
    table's schema, then its rows in order (a table that fails midway keeps the rows read
    before the damage). Returns ``{"tables": {name: rows}, "errors": {name: message},
    "version": n}``."""
    report: dict[str, Any] = {"tables": {}, "errors": {}, "version": 0}
    src = sqlite3.connect("file:" + quote(str(source.resolve())) + "?mode=ro", uri=True)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        try:
            report["version"] = int(src.execute("PRAGMA user_version").fetchone()[0])
            objects = src.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', rowid"
            ).fetchall()
        except sqlite3.Error as exc:
            report["errors"]["sqlite_master"] = str(exc)
            return report
        dst.execute("BEGIN")
        for kind, name, sql in objects:
            try:
                dst.execute(sql)
            except sqlite3.Error as exc:
                report["errors"][name] = f"schema: {exc}"
                continue
            if kind != "table":
                continue
            copied = 0
            try:
                cols = len(src.execute(f'SELECT * FROM "{name}" LIMIT 0').description or ())
                marks = ", ".join("?" * cols)
                for row in src.execute(f'SELECT * FROM "{name}"'):
                    try:
                        dst.execute(f'INSERT INTO "{name}" VALUES ({marks})', row)
                        copied += 1
                    except sqlite3.IntegrityError:
                        continue  # a duplicate the damage produced: the first copy stays
            except sqlite3.Error as exc:
                report["errors"][name] = str(exc)
            report["tables"][name] = copied
        dst.execute(f"PRAGMA user_version = {int(report['version'])}")
        dst.execute("COMMIT")
    finally:
        src.close()
        dst.close()
    return report


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _stamp(*, compact: bool = False) -> str:
    # file-system bookkeeping only (a name, a note in a marker), never a trading time
    now = datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") if compact else now.isoformat()


__all__ = [
    "JournalDamaged",
    "JournalMissing",
    "check_file",
    "damaged",
    "guard_missing",
    "is_damage",
    "load_trading_state",
    "marker_path",
    "move_aside",
    "quick_check",
    "recovery_hint",
    "salvage",
    "save_trading_state",
    "trading_state_path",
    "write_marker",
]
