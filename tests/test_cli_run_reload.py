"""What a SIGHUP reload accepts, and what needs a restart."""

from dataclasses import replace

from daemon.cli_run import reload_problems
from daemon.core.config.reader import parse_config_text

BASE = """
[portfolio]
cash_target = 2
excluded = ["TSLA"]
[portfolio.targets]
VTI = 60
BND = 38
"""


def test_new_weights_and_bands_reload() -> None:
    old = parse_config_text(BASE)
    new = parse_config_text(BASE.replace("VTI = 60", "VTI = 58").replace("BND = 38", "BND = 40")
                            + "[bands]\nabsolute = 3\n")
    assert reload_problems(old, new) == []


def test_a_changed_set_of_symbols_needs_a_restart() -> None:
    old = parse_config_text(BASE)
    new = parse_config_text(BASE.replace("BND = 38", "BND = 30\nVXUS = 8"))
    [problem] = reload_problems(old, new)
    assert problem.path == "portfolio.targets" and "added VXUS" in problem.message
    assert "restart" in problem.message
    dropped = parse_config_text(BASE.replace('excluded = ["TSLA"]\n', ""))
    [problem] = reload_problems(old, dropped)
    assert "removed TSLA" in problem.message


def test_daemon_or_broker_changes_need_a_restart() -> None:
    old = parse_config_text(BASE)
    new = replace(old, daemon=replace(old.daemon, http_port=9999))
    [problem] = reload_problems(old, new)
    assert problem.path == "daemon/broker"
