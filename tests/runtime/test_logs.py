import io
import json

import structlog

from daemon.runtime.logs import SCRUBBER, configure_logging


def test_json_logs_scrub_secret_keys_and_registered_values() -> None:
    out = io.StringIO()
    configure_logging("json", "info", stream=out)
    SCRUBBER.register(["PKTESTKEY123456", "sEcReTvAlUe987654"])
    log = structlog.get_logger("t")
    log.info("connecting", api_key="PKTESTKEY123456", url="http://x", note="auth with sEcReTvAlUe987654 failed")
    log.info("error", error=ValueError("bad secret sEcReTvAlUe987654"))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    text = out.getvalue()
    assert "PKTESTKEY123456" not in text and "sEcReTvAlUe987654" not in text
    assert lines[0]["api_key"] == "***"
    assert lines[0]["note"] == "auth with *** failed"
    assert lines[0]["url"] == "http://x"
    assert lines[1]["error"] == "bad secret ***"


def test_level_filtering() -> None:
    out = io.StringIO()
    configure_logging("json", "warning", stream=out)
    log = structlog.get_logger("t")
    log.info("quiet")
    log.warning("loud")
    assert [json.loads(x)["event"] for x in out.getvalue().splitlines()] == ["loud"]
