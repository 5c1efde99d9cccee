"""The daemon as systemd runs it: ``rebalanced run --config FILE`` in a child process, against
the paper exchange in another (``SimProcess``), for kill -9, restart and signal tests.

Everything is synchronous (subprocesses, urllib on 127.0.0.1): these tests need no loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.sim.testing import SimProcess, free_port
from adapters.store.journal import SqliteJournal, journal_path
from tests.clocks import StepClock
from tests.deploy.daemon_proc import daemon_env, http_get
from tests.runtime.e2e_support import (
    BALANCED,
    DRIFTED,
    IN_SESSION,
    SYMBOLS,
    daemon_toml,
    post_counts,
)


def sim_toml(*, positions: Mapping[str, Mapping[str, str]] = DRIFTED, cash: str = "2000") -> str:
    lines = [
        "seed = 7",
        f'starting_cash = "{cash}"',
        "partial_fill_probability = 0.0",
        "[clock]",
        'mode = "accelerated"',
        f"start = {IN_SESSION}",
        "speed = 1",
    ]
    for sym, cfg in SYMBOLS.items():
        lines.append(f"[symbols.{sym}]")
        lines += [f"{k} = {v}" for k, v in cfg.items()]
    for sym, pos in positions.items():
        lines.append(f"[positions.{sym}]")
        lines += [f'{k} = "{v}"' for k, v in pos.items()]
    return "\n".join(lines) + "\n"


def wait_for(predicate: Callable[[], Any], within: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Sim:
    proc: SimProcess

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.proc.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def account(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("GET", "/_sim/account")
        return result

    def orders(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.account()["orders"]
        return result

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.call(
            "GET", f"/_sim/requests?orders_only=1&since={since}"
        )["requests"]
        return result

    def posts(self, since: int = 0) -> Counter[str]:
        return post_counts(self.requests(since))

    def holdings(self) -> tuple[Decimal, dict[str, Decimal]]:
        acct = self.account()
        positions = {p["symbol"]: Decimal(p["qty"]) for p in acct["positions"]}
        return Decimal(acct["account"]["cash"]), {k: v for k, v in positions.items() if v}

    def weights(self) -> dict[str, float]:
        acct = self.account()
        values = {p["symbol"]: float(p["market_value"]) for p in acct["positions"]}
        total = float(acct["account"]["cash"]) + sum(values.values())
        return {k: v / total for k, v in values.items()}


@dataclass
class DaemonProcess:
    config: Path
    http_port: int
    log_path: Path
    state_dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> DaemonProcess:
        script = Path(sys.executable).parent / "rebalanced"
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(script), "run", "--config", str(self.config)],
                cwd=self.config.parent,
                env=daemon_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, within: float = 20.0) -> None:
        def ready() -> bool:
            if not self.alive():
                raise AssertionError(
                    f"daemon exited {self.proc and self.proc.returncode}\n{self.log()[-3000:]}"
                )
            return http_get(self.url + "/readyz")[0] == 200

        wait_for(ready, within, "the daemon to be ready")

    def status(self) -> dict[str, Any]:
        code, body = http_get(self.url + "/status")
        assert code == 200, body
        result: dict[str, Any] = json.loads(body)
        return result

    def engine(self) -> dict[str, Any]:
        result: dict[str, Any] = self.status()["engine"]
        return result

    def holdings(self) -> tuple[Decimal, dict[str, Decimal]]:
        h = self.engine()["holdings"]
        positions = {k: Decimal(v) for k, v in h["positions"].items()}
        return Decimal(h["cash"]), {k: v for k, v in positions.items() if v}

    def settled(self) -> bool:
        e = self.engine()
        return (
            e["decisions"] > 0
            and e["open_order_count"] == 0
            and e["queued"] == 0
            and not e["run_active"]
            and not e["out_of_band"]
        )

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill9(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(10)

    def terminate(self, within: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(within)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"daemon ignored SIGTERM\n{self.log()[-3000:]}") from None
        return self.proc.returncode


def read_journal(state_dir: Path, fn: Callable[[SqliteJournal], Any]) -> Any:
    """Open the journal the (stopped) daemon left behind and apply ``fn`` to it."""

    async def run() -> Any:
        journal = await SqliteJournal.open(journal_path(state_dir), clock=StepClock())
        try:
            return fn(journal)
        finally:
            await journal.close()

    return asyncio.run(run())


def assert_books_agree(sim: Sim, daemon: DaemonProcess) -> None:
    cash, positions = sim.holdings()
    my_cash, mine = daemon.holdings()
    assert mine == positions, f"daemon {mine} != exchange {positions}"
    assert abs(my_cash - cash) < Decimal("0.01"), (my_cash, cash)


@contextlib.contextmanager
def sim_and_daemon_processes(
    tmp_path: Path,
    *,
    positions: Mapping[str, Mapping[str, str]] = DRIFTED,
    faults: Mapping[str, Any] | None = None,
    start: bool = True,
    **toml: Any,
) -> Iterator[tuple[Sim, DaemonProcess]]:
    """``rebalanced sim`` and ``rebalanced run`` as child processes; ``faults`` go in
    before the daemon starts. Both are stopped on exit (the daemon killed if still up)."""
    sim_path = tmp_path / "sim.toml"
    sim_path.write_text(sim_toml(positions=positions))
    with SimProcess(sim_path, extra_args=("--tick", "0.02")) as sp:
        sim = Sim(sp)
        if faults:
            sim.call("POST", "/_sim/faults", dict(faults))
        state_dir = tmp_path / "state"
        http_port = free_port()
        config = tmp_path / "rebalanced.toml"
        config.write_text(
            daemon_toml(
                sp.base_url,
                sp.data_ws_url,
                sp.trade_ws_url,
                state_dir,
                http_port=http_port,
                log_format="json",
                **toml,
            )
        )
        daemon = DaemonProcess(config, http_port, tmp_path / "daemon.log", state_dir)
        if start:
            daemon.start()
        try:
            yield sim, daemon
        finally:
            if daemon.alive():
                assert daemon.proc is not None
                daemon.proc.kill()
                daemon.proc.wait(10)


__all__ = [
    "BALANCED",
    "DRIFTED",
    "DaemonProcess",
    "Sim",
    "assert_books_agree",
    "read_journal",
    "sim_and_daemon_processes",
    "sim_toml",
    "wait_for",
]
