import socket
from pathlib import Path

from daemon.runtime.sd_notify import Notifier


def _listener(tmp_path: Path) -> tuple[socket.socket, str]:
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(2)
    return s, path


def test_notifier_sends_each_message_as_one_datagram(tmp_path: Path) -> None:
    sock, path = _listener(tmp_path)
    n = Notifier(address=path, watchdog_usec="4000000")
    assert n.enabled and n.watchdog_interval == 2.0
    assert n.ready("reconciled")
    assert sock.recv(4096) == b"READY=1\nSTATUS=reconciled"
    assert n.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert n.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    n.close()
    sock.close()


def test_notifier_is_a_no_op_outside_systemd() -> None:
    n = Notifier(address="", watchdog_usec="")
    assert not n.enabled
    assert n.watchdog_interval is None
    assert n.ready() is False


def test_notifier_survives_a_vanished_socket(tmp_path: Path) -> None:
    sock, path = _listener(tmp_path)
    n = Notifier(address=path)
    sock.close()
    Path(path).unlink()
    assert n.watchdog() is False  # no exception: systemd going away must not kill us
