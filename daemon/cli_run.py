"""``rebalanced run``: the daemon against the configured broker (Alpaca paper/live, or the
paper exchange at the URLs in the config).

Exit codes are stable per failure class, so systemd can tell "fix me" from "retry me":
0 clean stop, 1 drain deadline passed, 2 crash, 64 usage, 69 the broker unavailable (a
restart may help), 73 another daemon holds the state directory, 74 the journal is damaged or
missing (recover it: ``rebalanced journal``), 78 bad config or missing keys, 130 forced by a
second signal. systemd does not restart on 73, 74 and 78 (``RestartPreventExitStatus``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from daemon.core.config.reader import ConfigProblem
    from daemon.core.config.values import Config

EX_CONFIG = 78
EX_CRASH = 2
EX_UNAVAILABLE = 69  # the broker unreachable or refusing for now: systemd restarts
EX_LOCKED = 73  # another daemon holds the state directory: systemd does not restart
EX_JOURNAL = 74  # the journal is damaged or missing: recover it first (no restart)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rebalanced run", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="the TOML parameter file")
    p.add_argument("--state-dir", help="journal and state directory (overrides daemon.state_dir)")
    p.add_argument("--http-port", type=int, help="metrics/health port (overrides daemon.http_port)")
    p.add_argument("--dry-run", action="store_true",
                   help="decide and journal, send no order")
    p.add_argument("--log-format", choices=("json", "console", "auto"),
                   help="overrides daemon.log_format")
    p.add_argument("--new-journal", action="store_true",
                   help="start a new journal although the marker says one existed here and "
                        "it is missing or empty (the kill-switch state is kept)")
    return p


def load(path: str, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from daemon.config_file import load_config

    config = load_config(path)
    daemon = config.daemon
    if args.state_dir:
        daemon = replace(daemon, state_dir=args.state_dir)
    if args.http_port is not None:
        daemon = replace(daemon, http_port=args.http_port)
    if args.log_format:
        daemon = replace(daemon, log_format=args.log_format)
    return replace(config, daemon=daemon)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from daemon.core.config.reader import ConfigError

    try:
        config = load(args.config, args)
    except ConfigError as exc:
        print(f"rebalanced run: {args.config}: configuration rejected:\n{exc}", file=sys.stderr)
        return EX_CONFIG
    import aiohttp

    from adapters.alpaca.credentials import Credentials, CredentialsError, Secret, load_credentials
    from adapters.alpaca.errors import AlpacaHTTPError, AlpacaTransportError
    from adapters.alpaca.reconnect import StreamRejected, StreamUnavailable
    from adapters.store.journal import JournalError
    from adapters.store.schema import SchemaError
    from daemon.runtime.assemble import run_daemon
    from daemon.runtime.assets import UnknownSymbolsError
    from daemon.runtime.logs import configure_logging
    from daemon.runtime.startup_lots import LinkedBuysError
    from daemon.runtime.state_lock import StateDirError, StateDirLocked

    configure_logging(config.daemon.log_format, config.daemon.log_level)
    try:
        credentials = load_credentials()
    except CredentialsError as exc:
        if config.broker.kind != "sim":
            print(f"rebalanced run: {exc}", file=sys.stderr)
            return EX_CONFIG
        credentials = Credentials(Secret("sim-key"), Secret("sim-secret"))  # the sim takes any pair

    def reload_config():  # type: ignore[no-untyped-def]
        new = load(args.config, args)
        problems = reload_problems(config, new)
        if problems:
            raise ConfigError(problems)
        return new

    text = Path(args.config).read_text(encoding="utf-8")
    try:
        return asyncio.run(run_daemon(config, credentials, config_text=text,
                                      reload_config=reload_config, dry_run=args.dry_run,
                                      new_journal=args.new_journal))
    except KeyboardInterrupt:
        return 130
    except BaseExceptionGroup as group:  # a task of the service failed
        unavailable = group.subgroup(StreamUnavailable)
        if unavailable is not None:  # refused past the retry budget: try again later
            print(f"rebalanced run: {unavailable.exceptions[0]}; exiting {EX_UNAVAILABLE} "
                  "(systemd restarts it)", file=sys.stderr)
            return EX_UNAVAILABLE
        rejected = group.subgroup(StreamRejected)
        if rejected is not None:  # the broker refused the stream for good: a config problem
            first = rejected.exceptions[0]
            print(f"rebalanced run: the broker refused a stream permanently: {first}; fix the "
                  "keys, the feed (broker.feed) or the symbol count and start again",
                  file=sys.stderr)
            return EX_CONFIG
        structlog_crash(group)
        return EX_CRASH
    except JournalError as exc:  # damaged, missing where one existed, unusable schema
        print(f"rebalanced run: {exc}", file=sys.stderr)
        return EX_JOURNAL
    except SchemaError as exc:
        print(f"rebalanced run: {exc}", file=sys.stderr)
        return EX_JOURNAL
    except StateDirLocked as exc:
        print(f"rebalanced run: {exc}", file=sys.stderr)
        return EX_LOCKED
    except StateDirError as exc:
        print(f"rebalanced run: {exc}", file=sys.stderr)
        return EX_CONFIG
    except UnknownSymbolsError as exc:
        print(f"rebalanced run: {args.config}: {exc}", file=sys.stderr)
        return EX_CONFIG
    except LinkedBuysError as exc:
        print(f"rebalanced run: {args.config}: {exc}", file=sys.stderr)
        return EX_CONFIG
    except AlpacaHTTPError as exc:
        if exc.status in (401, 403):
            print(f"rebalanced run: the broker refused the API keys (HTTP {exc.status}): check "
                  "APCA_API_KEY_ID / APCA_API_SECRET_KEY (paper and live keys differ) and "
                  "broker.paper in the config", file=sys.stderr)
            return EX_CONFIG
        if exc.status == 429 or exc.status >= 500:
            print(f"rebalanced run: the broker is unavailable at start-up ({exc}); exiting "
                  f"{EX_UNAVAILABLE} (systemd restarts it)", file=sys.stderr)
            return EX_UNAVAILABLE
        structlog_crash(exc)
        return EX_CRASH
    except (AlpacaTransportError, aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
        where = config.broker.rest_url or "the broker"
        print(f"rebalanced run: cannot reach {where} at start-up "
              f"({type(exc).__name__}: {str(exc)[:200] or 'no answer'}); check the network "
              f"and broker.rest_url; exiting {EX_UNAVAILABLE} (systemd restarts it)",
              file=sys.stderr)
        return EX_UNAVAILABLE
    except Exception as exc:  # a crash: log it (the scrubber removes key values)
        structlog_crash(exc)
        return EX_CRASH


def reload_problems(old: Config, new: Config) -> list[ConfigProblem]:
    """What a SIGHUP reload cannot take without a restart: [daemon] and [broker] settings,
    and the set of symbols (quotes are subscribed and the broker's asset facts read at
    start-up). Weights, bands, triggers, costs, planner and execution settings reload."""
    from daemon.core.config.reader import ConfigProblem

    problems = []
    if new.daemon != old.daemon or new.broker != old.broker:
        problems.append(ConfigProblem(
            "daemon/broker", "changes to [daemon] or [broker] need a restart; reload accepts "
            "portfolio weights, bands, trigger, cost, planner and execution changes"))
    symbols = set(old.symbols) | old.portfolio.excluded
    new_symbols = set(new.symbols) | new.portfolio.excluded
    if new_symbols != symbols:
        added, removed = sorted(new_symbols - symbols), sorted(symbols - new_symbols)
        what = "; ".join(p for p in (f"added {', '.join(added)}" if added else "",
                                     f"removed {', '.join(removed)}" if removed else "") if p)
        problems.append(ConfigProblem(
            "portfolio.targets", f"the set of symbols changed ({what}): quotes are subscribed "
            "and the broker's asset facts read at start-up, so restart the daemon for this"))
    return problems


def structlog_crash(exc: BaseException) -> None:
    import structlog

    structlog.get_logger("rebalanced").error("daemon crashed", error=type(exc).__name__,
                                             exc_info=exc)
