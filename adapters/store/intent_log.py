"""The intent log: a group of order intents made durable on the caller's thread with one
``write`` and one ``fdatasync``, before any of its POSTs, without a round trip through the
journal's writer thread.

Why a file beside the journal: the writer thread's fsync'd SQLite commit costs little on
disk (an ``fdatasync`` is ~0.1–0.2 ms here) but a lot in handoffs: the thread needs the GIL
back after every SQLite call of the transaction, and while the event loop is busy with
quotes each re-acquisition waits up to the interpreter's switch interval (5 ms). So the
breaching quote's orders waited 2–12 ms for their intents. Here the loop writes the records
itself (~0.2 ms); the same intents still go to SQLite (its ``intents`` table stays the one
source of recovery), committed by the writer in the background, and once a durable commit
holds them the log starts again at its beginning (``reset``).

The file is preallocated (zeros written once, so an append's ``fdatasync`` writes data,
not the file's size) and holds records back to back from offset 0::

    length (u32 LE) | crc32 of the payload (u32 LE) | payload: recorded_at '\\n' codec JSON

A read stops at the first record whose length is 0 or too long, or whose crc does not match
(the torn tail of a write that never finished: its order was never sent). Records left
behind a reset are intents SQLite already holds; re-recording one is a no-op.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.store import codec
from daemon.core.commands import PlaceOrder

SUFFIX = "-intents"
PREALLOCATED = 1 << 20
"""Bytes of zeros written when the log is made: appends within them sync data only."""
MAX_RECORD = 1 << 20
_HEADER = struct.Struct("<II")

Sync = Callable[[int], None]


def log_path(journal: Path) -> Path:
    return journal.with_name(journal.name + SUFFIX)


def encode(order: PlaceOrder, recorded_at: str, body: str | None = None) -> bytes:
    payload = (recorded_at + "\n" + (body if body is not None else codec.dumps(order))).encode()
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def decode_all(data: bytes) -> list[tuple[PlaceOrder, str]]:
    """The records from the start of ``data`` up to the first that is absent or torn."""
    out: list[tuple[PlaceOrder, str]] = []
    at = 0
    while at + _HEADER.size <= len(data):
        length, crc = _HEADER.unpack_from(data, at)
        start, end = at + _HEADER.size, at + _HEADER.size + length
        if length == 0 or length > MAX_RECORD or end > len(data):
            break
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            break
        recorded_at, _, body = payload.decode().partition("\n")
        out.append((codec.loads("PlaceOrder", body), recorded_at))
        at = end
    return out


class IntentLog:
    """Open with ``IntentLog.open(journal_path)``; see the module docstring."""

    def __init__(self, path: Path, fd: int, sync: Sync) -> None:
        self.path = path
        self._fd = fd
        self._sync = sync
        self._offset = 0
        self.appends = 0  # groups written (a reset is safe only if none came since)

    @classmethod
    def open(cls, journal: Path, *, sync: Sync = os.fdatasync) -> tuple[IntentLog, list[
            tuple[PlaceOrder, str]]]:
        """The log beside ``journal`` (made and preallocated if absent, owner-only) and the
        intents it holds from before (recovery records them in SQLite, then ``reset``)."""
        path = log_path(journal)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0) if size else b""
            if size < PREALLOCATED:
                os.pwrite(fd, bytes(PREALLOCATED - size), size)
                os.fsync(fd)  # the size, once: later appends sync data only
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, sync), decode_all(data)

    def append(self, records: Sequence[bytes]) -> None:
        """Write the records (``encode``) and sync them: one write, one ``fdatasync``.
        Returns once they are durable; raises ``OSError`` if they may not be."""
        data = b"".join(records)
        written = os.pwrite(self._fd, data, self._offset)
        if written != len(data):
            raise OSError(f"intent log {self.path}: short write ({written} of {len(data)} bytes)")
        self._sync(self._fd)
        self._offset += len(data)
        self.appends += 1

    def reset(self) -> None:
        """Every record so far is durable elsewhere: the next append starts at offset 0
        (its first record's length zeroed now, so a clean log reads empty)."""
        os.pwrite(self._fd, bytes(_HEADER.size), 0)
        self._offset = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


__all__ = ["IntentLog", "decode_all", "encode", "log_path"]
