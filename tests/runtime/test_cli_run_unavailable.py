"""``rebalanced run`` with the broker unreachable at start-up: one line naming what could
not be reached, no traceback, and exit 69 (EX_UNAVAILABLE), which systemd restarts."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.runtime.test_cli_run_refusals import _config, _run


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens


def test_unreachable_broker_at_start_up_exits_69_with_one_line(tmp_path: Path) -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}"
    broker = (f'kind = "sim"\nrest_url = "{url}"\ndata_url = "{url}"\n'
              f'stream_url = "ws://127.0.0.1:{port}/s"\ntrade_stream_url = "ws://127.0.0.1:{port}/t"')
    out = _run(_config(tmp_path, broker), {})
    assert out.returncode == 69, out.stderr[-3000:]
    assert "Traceback" not in out.stderr + out.stdout
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and f"cannot reach {url}" in lines[0], lines
    assert "systemd restarts it" in lines[0]
