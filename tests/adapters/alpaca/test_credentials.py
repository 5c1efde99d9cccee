from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from adapters.alpaca.credentials import CredentialsError, Secret, load_credentials


def test_keys_from_environment() -> None:
    creds = load_credentials({"APCA_API_KEY_ID": "PKID", "APCA_API_SECRET_KEY": "s3cr3t"})
    assert creds.key_id.reveal() == "PKID"
    assert creds.headers() == {"APCA-API-KEY-ID": "PKID", "APCA-API-SECRET-KEY": "s3cr3t"}


def test_keys_from_systemd_credentials(tmp_path: Path) -> None:
    (tmp_path / "apca_key_id").write_text("PKFILE\n")
    (tmp_path / "apca_secret_key").write_text("filesecret\n")
    creds = load_credentials({"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert (creds.key_id.reveal(), creds.secret_key.reveal()) == ("PKFILE", "filesecret")


def test_environment_wins_over_systemd(tmp_path: Path) -> None:
    (tmp_path / "apca_key_id").write_text("PKFILE")
    (tmp_path / "apca_secret_key").write_text("filesecret")
    creds = load_credentials(
        {
            "APCA_API_KEY_ID": "PKENV",
            "APCA_API_SECRET_KEY": "envsecret",
            "CREDENTIALS_DIRECTORY": str(tmp_path),
        }
    )
    assert creds.key_id.reveal() == "PKENV"


def test_missing_keys_error_names_both_ways() -> None:
    with pytest.raises(CredentialsError) as err:
        load_credentials({})
    text = str(err.value)
    for needle in (
        "APCA_API_KEY_ID",
        "APCA_API_SECRET_KEY",
        "apca_key_id",
        "apca_secret_key",
        "CREDENTIALS_DIRECTORY",
    ):
        assert needle in text


def test_half_a_pair_says_which_half_without_echoing_the_other() -> None:
    with pytest.raises(CredentialsError, match="APCA_API_SECRET_KEY is not set") as err:
        load_credentials({"APCA_API_KEY_ID": "PKVISIBLE"})
    assert "PKVISIBLE" not in str(err.value)


def test_empty_systemd_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "apca_key_id").write_text("PKFILE")
    (tmp_path / "apca_secret_key").write_text("  \n")
    with pytest.raises(CredentialsError, match="apca_secret_key") as err:
        load_credentials({"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert "PKFILE" not in str(err.value)


def test_secret_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    s = Secret("hunter2")
    creds = load_credentials({"APCA_API_KEY_ID": "PKID", "APCA_API_SECRET_KEY": "hunter2"})
    shown = [repr(s), str(s), f"{s}", f"{s!r}", repr(creds), str(creds), f"{s:>10}"]
    with caplog.at_level(logging.INFO):
        logging.getLogger("t").info("creds %s %r", creds, s)
    shown.append(caplog.text)
    assert all("hunter2" not in text for text in shown)
    assert all("PKID" not in text for text in shown)
    with pytest.raises(TypeError):
        pickle.dumps(s)
    assert s == Secret("hunter2") and s != Secret("other")
