"""The daemon speaks systemd's notify protocol the way the unit expects (Type=notify,
WatchdogSec=, RestartPreventExitStatus=78): READY=1 only after reconciliation with the
broker, WATCHDOG=1 pings while it runs, STOPPING=1 and exit 0 on SIGTERM, and exit 78 with
nothing started on a bad configuration. The real ``rebalanced run`` under a simulated
``$NOTIFY_SOCKET``, trading on the paper exchange."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.deploy.daemon_proc import (
    BAD_DAEMON_TOML,
    daemon_env,
    http_get,
    notify_socket,
    sim_and_daemon,
    venv_rebalanced,
)

EX_CONFIG = 78


def test_ready_after_reconciliation_watchdog_pings_and_clean_stop(tmp_path: Path) -> None:
    with (
        notify_socket() as ns,
        sim_and_daemon(tmp_path, NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="1000000") as (_sim, daemon),
    ):
        ready_at = ns.wait_for("READY=1", timeout=40)
        assert ready_at is not None, f"no READY=1; got {ns.lines()}\n{daemon.log()}"
        # READY=1 means reconciled and ready: the HTTP view agrees, and the start-up
        # reconciliation has been counted.
        status, body = http_get(daemon.url + "/readyz")
        assert status == 200, body
        startup = daemon.sample('rebalanced_reconciliations_total{result="startup"}')
        assert startup is not None and startup >= 1
        lines = [x for _, x in ns.lines()]
        assert lines.index("READY=1") > 0, "something (STATUS=recovering…) precedes READY=1"
        assert lines.count("READY=1") == 1

        # WATCHDOG_USEC=1 s: pings at least every half interval while it runs.
        time.sleep(2.5)
        pings = [t for t, x in ns.lines() if x == "WATCHDOG=1" and t > ready_at]
        assert len(pings) >= 3, f"{len(pings)} watchdog pings in 2.5 s after READY"
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        assert max(gaps) < 1.0, f"a watchdog gap of {max(gaps):.2f} s exceeds WatchdogSec"
        exported = daemon.sample("rebalanced_watchdog_pings_total")
        assert exported is not None and exported >= len(pings) - 1

        code = daemon.terminate(timeout=30)
        assert code == 0, f"exit {code} on SIGTERM\n{daemon.log()}"
        stopping_at = ns.first("STOPPING=1")
        assert stopping_at is not None and stopping_at > ready_at


def test_bad_config_exits_78_before_starting_anything(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    config = tmp_path / "bad.toml"
    config.write_text(BAD_DAEMON_TOML.format(state_dir=state_dir))
    with notify_socket() as ns:
        res = subprocess.run(
            [str(venv_rebalanced()), "run", "--config", str(config)],
            env=daemon_env(NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="1000000"),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        time.sleep(0.2)  # let any datagram in flight arrive
        assert res.returncode == EX_CONFIG, res.stdout + res.stderr
        assert "100" in res.stderr, (
            f"the error should say the targets must sum to 100: {res.stderr}"
        )
        # Nothing that would make a restart worthwhile: no READY, no watchdog, no state.
        lines = [x for _, x in ns.lines()]
        assert "READY=1" not in lines and "WATCHDOG=1" not in lines, lines
        assert not state_dir.exists(), "a rejected config must not create the state directory"


def test_missing_keys_exit_78_and_name_the_fix(tmp_path: Path) -> None:
    """broker.kind = "alpaca" without credentials: 78 (systemd won't loop), no secret shown."""
    config = tmp_path / "alpaca.toml"
    config.write_text(
        '[portfolio.targets]\nVTI = 100\n[broker]\nkind = "alpaca"\n'
        f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n'
    )
    env = daemon_env()
    for key in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"):
        env.pop(key)
    env["CREDENTIALS_DIRECTORY"] = str(tmp_path / "no-such-credentials")
    res = subprocess.run(
        [str(venv_rebalanced()), "run", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == EX_CONFIG, res.stdout + res.stderr
    assert "APCA_API_KEY_ID" in res.stderr and "LoadCredential" in res.stderr, res.stderr


def test_sighup_reload_keeps_running(tmp_path: Path) -> None:
    """ExecReload sends SIGHUP: the daemon reloads (RELOADING=1 then READY=1) and lives on."""
    with notify_socket() as ns, sim_and_daemon(tmp_path, NOTIFY_SOCKET=ns.path) as (_, daemon):
        assert ns.wait_for("READY=1", timeout=40) is not None, daemon.log()
        os.kill(daemon.proc.pid, signal.SIGHUP)
        assert ns.wait_for("RELOADING=1", timeout=10) is not None, ns.lines()
        deadline = time.monotonic() + 10
        while [x for _, x in ns.lines()].count("READY=1") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [x for _, x in ns.lines()].count("READY=1") == 2, ns.lines()
        assert daemon.proc.poll() is None
        assert http_get(daemon.url + "/readyz")[0] == 200
        assert daemon.terminate() == 0
