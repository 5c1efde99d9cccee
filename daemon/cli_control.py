"""``rebalanced halt`` / ``reduce`` / ``resume``: the kill switch.

With the daemon running, it calls the local control API (bearer token from the state
directory): ``halt`` cancels open orders and stops all trading, ``reduce`` allows only sells
and cancels, ``resume`` returns to normal. With the daemon stopped, it writes the state into
the journal so the next start honours it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from daemon.core.model import TradingState
from daemon.runtime.control_token import read_token

EX_OK, EX_USAGE, EX_UNAVAILABLE, EX_NOPERM, EX_CONFIG = 0, 64, 69, 77, 78
STATES = {"halt": TradingState.HALTED, "reduce": TradingState.REDUCING,
          "resume": TradingState.ACTIVE}


def _parser(action: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"rebalanced {action}",
                                description=f"{action} trading (the kill switch)")
    p.add_argument("--config", help="config file (for the state dir and HTTP port)")
    p.add_argument("--state-dir", help="state directory (overrides the config)")
    p.add_argument("--url", help="daemon control URL (default from config: http://127.0.0.1:9108)")
    p.add_argument("--reason", default="operator", help="why (journaled)")
    return p


def main(argv: list[str]) -> int:
    action, rest = argv[0], argv[1:]
    args = _parser(action).parse_args(rest)
    state = STATES[action]
    state_dir = Path(args.state_dir) if args.state_dir else None
    url = args.url
    if args.config:
        from daemon.config_file import load_config
        from daemon.core.config.reader import ConfigError

        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"rebalanced {action}: bad config:\n{exc}", file=sys.stderr)
            return EX_CONFIG
        state_dir = state_dir or Path(config.daemon.state_dir)
        url = url or f"http://{config.daemon.http_host}:{config.daemon.http_port}"
    state_dir = state_dir or Path("./state")
    url = url or "http://127.0.0.1:9108"
    token = read_token(state_dir)
    if token is not None:
        req = urllib.request.Request(
            f"{url}/control/{action}",
            data=json.dumps({"reason": args.reason}).encode(), method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                print(f"{state.value}: requested from the running daemon ({resp.status})")
                return EX_OK
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                print(f"rebalanced {action}: the daemon refused the token in "
                      f"{state_dir}/control.token (is this the daemon's state directory?)",
                      file=sys.stderr)
                return EX_NOPERM
            print(f"rebalanced {action}: daemon answered HTTP {exc.code}", file=sys.stderr)
            return EX_UNAVAILABLE
        except (urllib.error.URLError, OSError):
            pass  # not running: fall through to the journal
    if not state_dir.is_dir():
        print(f"rebalanced {action}: no daemon answered and there is no state directory "
              f"{state_dir}; pass --state-dir or --config", file=sys.stderr)
        return EX_UNAVAILABLE
    return asyncio.run(_write_state(state_dir, state, args.reason))


async def _write_state(state_dir: Path, state: TradingState, reason: str) -> int:
    from adapters.store.journal import SqliteJournal
    from daemon.host_clock import utc_now

    path = state_dir / "journal.sqlite3"
    journal = await SqliteJournal.open(path, clock=utc_now)
    try:
        await journal.set_trading_state(state, reason)
    finally:
        await journal.close()
    print(f"{state.value}: daemon not running; written to {path}; the next start honours it")
    return EX_OK
