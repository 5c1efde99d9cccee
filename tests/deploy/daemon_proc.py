"""The real daemon in a child process (``rebalanced run``, the console script systemd runs)
against the paper exchange in another (``rebalanced sim``), plus a stand-in for systemd's
notify socket. Shared by test_sd_notify.py and test_prometheus_e2e.py."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from adapters.sim.testing import DEFAULT_KEY_ID, DEFAULT_SECRET, SimProcess, free_port
from tests.deploy.conftest import REPO, venv_rebalanced

# A Monday, 09:40 New York: the market is open; the clock runs at real speed from there.
SIM_TOML = """\
seed = 7
starting_cash = "100000"
partial_fill_probability = 0.0
[clock]
mode = "accelerated"
start = 2026-11-23T14:40:00Z
speed = 1
[symbols.VTI]
price = 300.0
volatility = 0.16
spread_bps = 1.5
quote_rate = 5.0
[symbols.BND]
price = 72.0
volatility = 0.05
spread_bps = 2.0
quote_rate = 5.0
"""


def daemon_toml(
    sim_port: int, http_port: int, state_dir: Path, *, reconcile_seconds: float = 2.0
) -> str:
    """Starts all cash, so the first decision buys both assets straight away."""
    base = f"127.0.0.1:{sim_port}"
    return f"""\
[portfolio]
cash_target = 2
[portfolio.targets]
VTI = 60
BND = 38
[trigger]
mode = "threshold"
cooldown_seconds = 5
max_runs_per_day = 1000
window_start = "09:30"
window_end = "16:00"
check_interval_seconds = 1
[cost]
gate = false
[execution]
lookup_delay_seconds = 1
[broker]
kind = "sim"
rest_url = "http://{base}"
data_url = "http://{base}"
stream_url = "ws://{base}/v2/iex"
trade_stream_url = "ws://{base}/stream"
[daemon]
state_dir = "{state_dir}"
http_host = "127.0.0.1"
http_port = {http_port}
log_format = "json"
reconcile_interval_seconds = {reconcile_seconds}
drain_deadline_seconds = 5
"""


BAD_DAEMON_TOML = """\
[portfolio]
cash_target = 2
[portfolio.targets]
VTI = 60
BND = 30
[daemon]
state_dir = "{state_dir}"
"""


def daemon_env(**extra: str) -> dict[str, str]:
    """The child's environment: no inherited systemd or Alpaca variables, the repository
    importable, the sim's key pair."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "NOTIFY_SOCKET",
            "WATCHDOG_USEC",
            "WATCHDOG_PID",
            "CREDENTIALS_DIRECTORY",
            "APCA_API_KEY_ID",
            "APCA_API_SECRET_KEY",
        )
    }
    env["PYTHONPATH"] = str(REPO)
    env["APCA_API_KEY_ID"] = DEFAULT_KEY_ID
    env["APCA_API_SECRET_KEY"] = DEFAULT_SECRET
    env.update(extra)
    return env


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


@dataclass
class NotifySocket:
    """What systemd does with $NOTIFY_SOCKET: receive datagrams, here recorded with the
    time they arrived."""

    path: str
    messages: list[tuple[float, str]] = field(default_factory=list)
    _sock: socket.socket | None = None
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> NotifySocket:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def lines(self) -> list[tuple[float, str]]:
        """Every KEY=value line received, with its arrival time."""
        return [(t, line) for t, msg in list(self.messages) for line in msg.split("\n")]

    def first(self, line: str) -> float | None:
        return next((t for t, x in self.lines() if x == line), None)

    def wait_for(self, line: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = self.first(line)
            if t is not None:
                return t
            time.sleep(0.02)
        return None

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()


@contextlib.contextmanager
def notify_socket() -> Iterator[NotifySocket]:
    # AF_UNIX paths are limited to 107 bytes: pytest's tmp_path can be longer.
    directory = tempfile.mkdtemp(prefix="rbn-")
    ns = NotifySocket(os.path.join(directory, "notify.sock")).start()
    try:
        yield ns
    finally:
        ns.close()
        with contextlib.suppress(OSError):
            os.unlink(ns.path)
            os.rmdir(directory)


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    http_port: int
    log_path: Path
    state_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def metrics(self) -> str:
        status, body = http_get(self.url + "/metrics")
        assert status == 200, f"/metrics answered {status}\n{self.log()}"
        return body

    def sample(self, line_prefix: str) -> float | None:
        """The value of the first exposition line starting with ``line_prefix``."""
        for line in self.metrics().splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}\n{self.log()}")
            if http_get(self.url + "/readyz")[0] == 200:
                return
            time.sleep(0.1)
        raise AssertionError(
            f"daemon not ready in {timeout} s: {http_get(self.url + '/readyz')[1]}\n{self.log()}"
        )

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired as exc:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(
                    f"daemon ignored SIGTERM for {timeout} s\n{self.log()}"
                ) from exc
        return self.proc.returncode


def start_daemon(
    config: Path, state_dir: Path, http_port: int, log_path: Path, **env: str
) -> Daemon:
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv_rebalanced()), "run", "--config", str(config)],
            cwd=config.parent,
            env=daemon_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Daemon(proc, http_port, log_path, state_dir)


@contextlib.contextmanager
def sim_and_daemon(
    tmp_path: Path, *, faults_toml: str = "", reconcile_seconds: float = 2.0, **env: str
) -> Iterator[tuple[SimProcess, Daemon]]:
    """The paper exchange and the daemon trading on it; both stopped on exit."""
    sim_config = tmp_path / "sim.toml"
    sim_config.write_text(SIM_TOML)
    extra: tuple[str, ...] = ("--tick", "0.02")
    if faults_toml:
        (tmp_path / "faults.toml").write_text(faults_toml)
        extra += ("--faults", str(tmp_path / "faults.toml"))
    http_port = free_port()
    state_dir = tmp_path / "state"
    config = tmp_path / "rebalanced.toml"
    with SimProcess(sim_config, extra_args=extra) as sim:
        config.write_text(
            daemon_toml(sim.port, http_port, state_dir, reconcile_seconds=reconcile_seconds)
        )
        daemon = start_daemon(config, state_dir, http_port, tmp_path / "daemon.log", **env)
        try:
            yield sim, daemon
        finally:
            if daemon.proc.poll() is None:
                daemon.proc.kill()
                daemon.proc.wait(10)
