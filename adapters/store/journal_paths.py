"""Where the journal file lives and how it is made: the path of a state directory's journal,
the directory and the owner-only (0600) file created before SQLite opens it, and the
redaction of secret-looking config lines before config text is stored."""

from __future__ import annotations

import os
import re
from pathlib import Path

from adapters.store import integrity, schema
from adapters.store.ops import JournalError

_SECRET_LINE = re.compile(
    r"(?im)^(\s*[\w.\-\"']*(?:secret|password|passwd|token|api_key|key_id|apikey)"
    r"[\w.\-\"']*\s*=\s*).*$"
)


DB_SUFFIXES = (".sqlite3", ".sqlite", ".db")


def journal_path(state_dir: str | Path) -> Path:
    """Where the journal lives inside a state directory."""
    return Path(state_dir) / schema.JOURNAL_FILENAME


def redact_config(text: str) -> str:
    """Config text with the values of secret-looking keys replaced (before it is stored)."""
    return _SECRET_LINE.sub(r'\1"<redacted>"', text)


def resolve_path(path: str | Path) -> Path:
    """The journal file for ``path``: a state directory (the journal is ``journal.sqlite3``
    inside it) unless it is an existing file or ends in ``.sqlite3``, ``.sqlite`` or ``.db``."""
    p = Path(path)
    if p.is_dir() or (not p.exists() and p.suffix not in DB_SUFFIXES):
        p = journal_path(p)
    return p


def prepare_path(path: str | Path, *, new_journal: bool = False) -> Path:
    """The journal file for ``path``, its directory made; refused when a journal that
    existed here is missing or empty (unless ``new_journal``)."""
    p = resolve_path(path)
    integrity.guard_missing(p, allow_new=new_journal)
    if new_journal and p.exists() and p.stat().st_size == 0:
        p.unlink()  # an empty file is no journal; SQLite will make a fresh one
    try:
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_file(p)
    except OSError as e:
        raise JournalError(
            f"cannot create the state directory {p.parent}: {e.strerror}; create it "
            "or point state_dir at a writable directory"
        ) from e
    return p


def private_file(p: Path) -> None:
    """The journal (and so its -wal and -shm files, which SQLite creates with the database's
    mode) is readable by its owner only: 0600."""
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_uid == os.getuid():
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        side = p.with_name(p.name + suffix)
        if side.exists() and side.stat().st_uid == os.getuid():
            side.chmod(0o600)
