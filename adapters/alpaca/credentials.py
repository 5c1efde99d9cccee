"""API keys from the environment or systemd credentials, held in a ``Secret`` that never
prints itself.

Two ways, tried in this order:

1. ``APCA_API_KEY_ID`` and ``APCA_API_SECRET_KEY`` in the environment;
2. systemd credentials (``LoadCredential=``): ``$CREDENTIALS_DIRECTORY/apca_key_id`` and
   ``$CREDENTIALS_DIRECTORY/apca_secret_key``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_KEY_ID = "APCA_API_KEY_ID"
ENV_SECRET_KEY = "APCA_API_SECRET_KEY"
CRED_KEY_ID = "apca_key_id"
CRED_SECRET_KEY = "apca_secret_key"


class Secret:
    """A string that shows as ``***`` in repr, str, f-strings and tracebacks.
    Call ``reveal()`` only where the value goes onto the wire."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> str | tuple[object, ...]:  # never pickle a key
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True, slots=True)
class Credentials:
    key_id: Secret
    secret_key: Secret

    def headers(self) -> dict[str, str]:
        """The REST and websocket-upgrade auth headers."""
        return {
            "APCA-API-KEY-ID": self.key_id.reveal(),
            "APCA-API-SECRET-KEY": self.secret_key.reveal(),
        }


class CredentialsError(RuntimeError):
    """No usable API keys. The message names both ways to provide them (never a value)."""


_HOW = (
    f"set {ENV_KEY_ID} and {ENV_SECRET_KEY} in the environment, or give systemd credentials "
    f"{CRED_KEY_ID} and {CRED_SECRET_KEY} (LoadCredential=, read from $CREDENTIALS_DIRECTORY)"
)


def load_credentials(env: Mapping[str, str] | None = None) -> Credentials:
    """Read the key pair; raise ``CredentialsError`` naming what is missing and the fix."""
    env = os.environ if env is None else env
    key_id = env.get(ENV_KEY_ID, "").strip()
    secret = env.get(ENV_SECRET_KEY, "").strip()
    if key_id and secret:
        return Credentials(Secret(key_id), Secret(secret))
    if key_id or secret:
        missing = ENV_SECRET_KEY if key_id else ENV_KEY_ID
        raise CredentialsError(f"{missing} is not set (only one of the pair is); {_HOW}")
    cred_dir = env.get("CREDENTIALS_DIRECTORY", "").strip()
    if cred_dir:
        base = Path(cred_dir)
        found: dict[str, str] = {}
        for name in (CRED_KEY_ID, CRED_SECRET_KEY):
            path = base / name
            try:
                found[name] = path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                found[name] = ""
            except OSError as exc:
                raise CredentialsError(
                    f"cannot read systemd credential {name} in $CREDENTIALS_DIRECTORY "
                    f"({exc.__class__.__name__}); {_HOW}"
                ) from None
        empty = [name for name, value in found.items() if not value]
        if not empty:
            return Credentials(Secret(found[CRED_KEY_ID]), Secret(found[CRED_SECRET_KEY]))
        raise CredentialsError(
            f"systemd credential(s) {', '.join(empty)} missing or empty in "
            f"$CREDENTIALS_DIRECTORY; {_HOW}"
        )
    raise CredentialsError(f"no Alpaca API keys found: {_HOW}")
