"""``rebalanced journal check|recover|new --state-dir D``: look after a damaged journal.

- ``check``: ``PRAGMA integrity_check`` on the journal, read-only; exit 0 when sound, 74
  when damaged (it works while the daemon runs).
- ``recover``: with the daemon stopped, move the journal aside
  (``journal.damaged-<UTC>.sqlite3``) and copy every row that can still be read into a new
  journal, then bring its schema up to date. The kill-switch state is kept.
- ``new``: with the daemon stopped, move the journal aside and start an empty one (the
  kill-switch state is kept). ``rebalanced run --new-journal`` allows the same at start-up
  when the journal is missing or empty.

Both ``recover`` and ``new`` take the state directory's lock, so they refuse while a daemon
runs on it (exit 73). Nothing is ever deleted: the damaged file stays beside the new one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

EX_OK = 0
EX_USAGE = 64
EX_LOCKED = 73
EX_IOERR = 74
ENV_STATE_DIR = "REBALANCED_STATE_DIR"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rebalanced journal",
                                description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("action", choices=("check", "recover", "new"))
    p.add_argument("--state-dir", default=os.environ.get(ENV_STATE_DIR),
                   help="the daemon's state directory (default $REBALANCED_STATE_DIR)")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:
        return EX_OK if e.code in (0, None) else EX_USAGE
    if not args.state_dir:
        print("rebalanced journal: --state-dir is required (or set $REBALANCED_STATE_DIR)",
              file=sys.stderr)
        return EX_USAGE
    from adapters.store import integrity
    from adapters.store.journal import JournalError, SqliteJournal, resolve_path
    from daemon.runtime.state_lock import StateDirError, StateDirLock, StateDirLocked

    path = resolve_path(Path(args.state_dir))
    if args.action == "check":
        problems = integrity.check_file(path)
        if problems:
            print(f"rebalanced journal: {path} is damaged:", file=sys.stderr)
            for p in problems[:20]:
                print(f"  {p}", file=sys.stderr)
            print(f"to recover: {integrity.recovery_hint(path)}", file=sys.stderr)
            return EX_IOERR
        print(f"{path}: ok")
        return EX_OK
    try:
        lock = StateDirLock(path.parent).acquire()
    except (StateDirLocked, StateDirError) as exc:
        print(f"rebalanced journal {args.action}: {exc}", file=sys.stderr)
        return EX_LOCKED
    try:
        saved = integrity.load_trading_state(path)
        aside = integrity.move_aside(path)
        report = None
        if args.action == "recover" and aside is not None:
            report = integrity.salvage(aside, path)
        try:
            asyncio.run(_finish(SqliteJournal, path, saved))
        except JournalError as exc:
            print(f"rebalanced journal {args.action}: {exc}", file=sys.stderr)
            return EX_IOERR
    finally:
        lock.release()
    if aside is not None:
        print(f"moved the old journal to {aside}")
    if report is not None:
        copied = ", ".join(f"{t} {n}" for t, n in report["tables"].items()) or "nothing"
        print(f"recovered into {path}: {copied}")
        for table, error in report["errors"].items():
            print(f"  could not read all of {table}: {error}")
    else:
        print(f"started a new journal at {path}")
    if saved is not None:
        print(f"trading state kept: {saved[0]} ({saved[1] or 'no reason given'})")
    return EX_OK


async def _finish(journal_cls, path: Path, saved: tuple[str, str] | None) -> None:  # type: ignore[no-untyped-def]
    """Open the new journal (migrating a salvaged one) and carry the kill switch over."""
    from daemon.host_clock import utc_now

    journal = await journal_cls.open(path, new_journal=True, clock=utc_now)
    try:
        if saved is not None and journal.trading_state() != saved:
            await journal.set_trading_state(saved[0], saved[1])
    finally:
        await journal.close()
