"""One daemon per state directory: an exclusive ``flock`` held for the process's life.

Two daemons on one state directory would both read the journal and both trade on it. The
lock file ``rebalanced.lock`` holds the owner's pid (for the message the second one prints).
The kernel drops the lock when the process exits, however it exits (kill -9 included), so a
stale lock file never blocks a restart. Read-only commands (``history``, ``journal check``)
do not take it.

The state directory is created (and tightened) to mode 0700: it holds the journal, the
control token and the lock, none of them for other users.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILENAME = "rebalanced.lock"
DIR_MODE = 0o700
FILE_MODE = 0o600


class StateDirLocked(RuntimeError):
    """Another process holds the state directory."""


class StateDirError(RuntimeError):
    """The state directory cannot be created or locked (permissions, read-only)."""


def prepare_state_dir(state_dir: str | Path) -> Path:
    """Create the state directory (0700) or tighten an existing one we own to 0700."""
    path = Path(state_dir)
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(DIR_MODE)
    except OSError as exc:
        raise StateDirError(
            f"cannot create the state directory {path}: {exc.strerror}; create it (owned by "
            "the daemon's user) or point daemon.state_dir / --state-dir elsewhere"
        ) from exc
    return path


class StateDirLock:
    """``with StateDirLock(dir):`` or ``acquire()``/``release()``."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOCK_FILENAME
        self._fd: int | None = None

    def acquire(self) -> StateDirLock:
        prepare_state_dir(self.state_dir)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except OSError as exc:
            raise StateDirError(
                f"cannot open the lock file {self.path}: {exc.strerror}; the state directory "
                "must be writable by the daemon's user"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f" (pid {holder})" if holder else ""
            raise StateDirLocked(
                f"another rebalanced daemon{who} is running on the state directory "
                f"{self.state_dir}: only one daemon may use a journal; stop it first, or give "
                "this one its own --state-dir"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StateDirError(f"cannot lock {self.path}: {exc.strerror}") from exc
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> StateDirLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "LOCK_FILENAME",
    "StateDirError",
    "StateDirLock",
    "StateDirLocked",
    "prepare_state_dir",
]
