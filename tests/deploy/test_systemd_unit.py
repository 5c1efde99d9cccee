"""The systemd unit: systemd's own verifier and security analyser accept it, its settings
agree with the daemon (exit codes, drain deadline, credential names, state directory), and
the install helper stages it."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import pytest

from adapters.alpaca.credentials import CRED_KEY_ID, CRED_SECRET_KEY
from daemon.config_file import load_config
from daemon.core.config.values import DaemonConfig
from tests.deploy.conftest import DEPLOY, OPERATIONS_MD, PROM_DIR, REPO, UNIT

EX_CONFIG = 78
EX_LOCKED, EX_JOURNAL, EX_UNAVAILABLE = 73, 74, 69  # daemon/cli_run.py
EXPOSURE_LIMIT = 2.0


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections → key → every value (systemd allows repeated keys), comments dropped."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None, f"setting outside a section: {line!r}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def seconds(value: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|min|ms)?", value)
    assert m, f"unsupported time span {value!r}"
    n = float(m.group(1))
    return {"s": n, None: n, "min": n * 60, "ms": n / 1000}[m.group(2)]


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text())


def _verify(systemd_analyze: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_systemd_analyze_verify_accepts_the_unit(systemd_analyze: str, testable_unit: Path) -> None:
    res = _verify(systemd_analyze, testable_unit)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    # verify reports unknown keys, bad values and missing binaries as lines naming the file,
    # sometimes with exit status 0: any mention of our unit is a finding.
    assert "rebalanced.service" not in out, out


def test_verify_catches_a_broken_copy(systemd_analyze: str, testable_unit: Path) -> None:
    """The check above is not vacuous: a typo and a missing binary are reported."""
    text = testable_unit.read_text().replace("WatchdogSec=", "WatchdogSecs=")
    testable_unit.write_text(text)
    out = _verify(systemd_analyze, testable_unit)
    assert "WatchdogSecs" in out.stdout + out.stderr
    shipped = _verify(systemd_analyze, UNIT)  # ExecStart=/opt/... does not exist here
    assert "/opt/rebalanced/venv/bin/rebalanced" in shipped.stdout + shipped.stderr


def measured_exposure(systemd_analyze: str, unit_path: Path) -> tuple[float, str]:
    res = subprocess.run(
        [systemd_analyze, "security", "--offline=true", "--no-pager", str(unit_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(
        r"Overall exposure level for rebalanced\.service: (\d+\.\d+) (\w+)", res.stdout + res.stderr
    )
    assert m, f"no exposure line in:\n{res.stdout}\n{res.stderr}"
    return float(m.group(1)), m.group(2)


def test_security_exposure_is_low_and_documented(systemd_analyze: str, testable_unit: Path) -> None:
    score, verdict = measured_exposure(systemd_analyze, testable_unit)
    assert score <= EXPOSURE_LIMIT, f"exposure {score} {verdict} is above {EXPOSURE_LIMIT}"
    assert verdict == "OK"
    documented = re.search(r"exposure level[^\n]*?: (\d+\.\d+) OK", OPERATIONS_MD.read_text())
    assert documented, "docs/operations.md must record the measured exposure score"
    assert float(documented.group(1)) == score, (
        f"docs/operations.md records {documented.group(1)}, systemd-analyze measures {score}: "
        "update the docs"
    )


def test_service_lifecycle_settings(unit: dict[str, dict[str, list[str]]]) -> None:
    svc, head = unit["Service"], unit["Unit"]
    assert svc["Type"] == ["notify"]
    assert svc["NotifyAccess"] == ["main"]
    assert seconds(svc["WatchdogSec"][0]) >= 10
    assert svc["Restart"] == ["on-failure"]
    prevent = svc["RestartPreventExitStatus"][0].split()
    assert str(EX_CONFIG) in prevent
    assert str(EX_LOCKED) in prevent and str(EX_JOURNAL) in prevent
    assert str(EX_UNAVAILABLE) not in prevent  # the broker may come back: restart
    assert int(head["StartLimitBurst"][0]) >= 1 and seconds(head["StartLimitIntervalSec"][0]) > 0
    # the stop timeout must outlast the daemon's drain deadline (plus flushing the journal)
    assert seconds(svc["TimeoutStopSec"][0]) > DaemonConfig().drain_deadline_seconds + 5
    assert svc["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


def test_identity_state_and_credentials(unit: dict[str, dict[str, list[str]]]) -> None:
    svc = unit["Service"]
    assert svc["User"] not in (["root"], ["0"]) and svc["User"]
    assert svc["StateDirectory"] == ["rebalanced"]
    exec_start = svc["ExecStart"][0].split()
    assert exec_start[:2] == ["/opt/rebalanced/venv/bin/rebalanced", "run"]
    assert exec_start[exec_start.index("--state-dir") + 1] == "%S/rebalanced"
    assert exec_start[exec_start.index("--config") + 1] == "/etc/rebalanced/rebalanced.toml"
    creds = {v.split(":", 1)[0] for v in svc["LoadCredential"]}
    assert creds == {CRED_KEY_ID, CRED_SECRET_KEY}  # the names the daemon reads
    assert "APCA" not in "".join(svc.get("Environment", []))  # keys never inline


def test_hardening_directives(unit: dict[str, dict[str, list[str]]]) -> None:
    svc = unit["Service"]
    for key in (
        "NoNewPrivileges",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectControlGroups",
        "RestrictSUIDSGID",
        "LockPersonality",
        "MemoryDenyWriteExecute",
    ):
        assert svc.get(key) == ["yes"], key
    assert svc["ProtectSystem"] == ["strict"]
    assert set(svc["RestrictAddressFamilies"][0].split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert "@system-service" in svc["SystemCallFilter"]
    assert svc["CapabilityBoundingSet"] == [""]
    assert svc["MemoryMax"]


def test_example_config_matches_the_unit_and_the_scrape_target() -> None:
    """The shipped example is what install.sh puts at /etc/rebalanced/rebalanced.toml: its
    state dir is the unit's StateDirectory and its port is the example scrape target."""
    config = load_config(str(DEPLOY / "rebalanced.example.toml"))
    assert config.daemon.state_dir == "/var/lib/rebalanced"
    target = f"{config.daemon.http_host}:{config.daemon.http_port}"
    assert f'"{target}"' in (PROM_DIR / "prometheus.yml").read_text()


def _run_install(destdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEPLOY / "install.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DESTDIR": str(destdir), "INSTALL_CODE": "0"},
    )


def test_install_helper_stages_unit_config_and_credentials_dir(tmp_path: Path) -> None:
    res = _run_install(tmp_path)
    assert res.returncode == 0, res.stderr
    etc = tmp_path / "etc/rebalanced"
    unit = tmp_path / "etc/systemd/system/rebalanced.service"
    assert unit.read_text() == UNIT.read_text()
    config = etc / "rebalanced.toml"
    assert config.read_text() == (DEPLOY / "rebalanced.example.toml").read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert stat.S_IMODE((etc / "credentials").stat().st_mode) == 0o700
    assert (
        tmp_path / "opt/rebalanced/share/operations.md"
    ).read_text() == OPERATIONS_MD.read_text()
    assert "apca_key_id" in res.stdout and "systemctl enable --now rebalanced" in res.stdout

    # Running it again (an upgrade) keeps the operator's config and keys.
    config.write_text("# edited by the operator\n")
    (etc / "credentials/apca_key_id").write_text("PKTEST")
    (etc / "credentials/apca_secret_key").write_text("secret")
    again = _run_install(tmp_path)
    assert again.returncode == 0, again.stderr
    assert config.read_text() == "# edited by the operator\n"
    assert "kept existing" in again.stdout
    assert "apca_key_id" not in again.stdout  # nothing left to do about keys
    assert "PKTEST" not in again.stdout + again.stderr


def test_install_helper_refuses_a_non_checkout(tmp_path: Path) -> None:
    script = tmp_path / "deploy/install.sh"
    script.parent.mkdir()
    script.write_text((DEPLOY / "install.sh").read_text())
    res = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "DESTDIR": str(tmp_path / "root")},
    )
    assert res.returncode == 1
    assert "rebalanced checkout" in res.stderr


def test_install_helper_is_valid_bash() -> None:
    res = subprocess.run(
        ["bash", "-n", str(REPO / "deploy/install.sh")], capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stderr
