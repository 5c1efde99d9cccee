#!/usr/bin/env bash
# Install or upgrade rebalanced as a systemd service on Debian/Ubuntu, from a checkout.
#
#   sudo deploy/install.sh          # install, or upgrade in place (config and keys are kept)
#
# What it does (each step is skipped when already done, so running it again upgrades):
#   1. a system user and group "rebalanced" (no login shell, no home of its own);
#   2. a virtual environment at /opt/rebalanced/venv with this checkout installed in it;
#   3. /etc/rebalanced/rebalanced.toml from deploy/rebalanced.example.toml, only if missing
#      (root:rebalanced 0640), and /etc/rebalanced/credentials/ (root 0700) for the API keys;
#   4. the unit at /etc/systemd/system/rebalanced.service, then `systemctl daemon-reload`.
# It never starts, enables or restarts the service: the last lines say what to run.
#
# Environment (for packaging and the test suite):
#   PYTHON     interpreter for the venv (default python3; must be 3.11 or newer)
#   DESTDIR    stage everything under this directory instead of /: no user is created, no
#              ownership is changed and systemctl is not called
#   PACKAGE    what to pip install (default: this checkout; a wheel file for offline hosts)
#   PIP_ARGS   extra arguments for `pip install` (e.g. --no-index --find-links DIR offline)
#   INSTALL_CODE=0  skip step 2 (the code comes some other way, e.g. a distribution package);
#              the unit, config and directories are still installed
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
ROOT=${DESTDIR:-}
PREFIX=/opt/rebalanced
ETC=/etc/rebalanced
UNIT=/etc/systemd/system/rebalanced.service
SERVICE_USER=rebalanced
PACKAGE=${PACKAGE:-$SRC}
INSTALL_CODE=${INSTALL_CODE:-1}
read -r -a PIP_EXTRA <<< "${PIP_ARGS:-}"

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

[[ -f "$SRC/pyproject.toml" && -f "$SRC/deploy/rebalanced.service" ]] \
    || die "run me from a rebalanced checkout (deploy/install.sh); $SRC has no pyproject.toml"
if [[ -z "$ROOT" && $EUID -ne 0 ]]; then
    die "run as root (sudo $0), or set DESTDIR=/some/dir to stage the files without root"
fi
if [[ "$INSTALL_CODE" != 0 ]]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
        || die "$PYTHON is missing or older than 3.11: apt-get install python3 python3-venv, or set PYTHON="
fi

# 1. the service user ---------------------------------------------------------------------
if [[ -z "$ROOT" ]]; then
    if id -u "$SERVICE_USER" >/dev/null 2>&1; then
        say "user $SERVICE_USER exists"
    else
        useradd --system --user-group --no-create-home --home-dir /var/lib/rebalanced \
            --shell /usr/sbin/nologin --comment "rebalanced daemon" "$SERVICE_USER"
        say "created system user $SERVICE_USER"
    fi
fi

# 2. the virtual environment --------------------------------------------------------------
VENV="$ROOT$PREFIX/venv"
if [[ "$INSTALL_CODE" != 0 ]]; then
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV" || die "could not create $VENV (Debian/Ubuntu: apt-get install python3-venv)"
        say "created $VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade \
        "${PIP_EXTRA[@]}" "$PACKAGE" || die "pip install of $PACKAGE into $VENV failed (see above)"
    say "installed $("$VENV/bin/rebalanced" --version) into $VENV"
else
    say "INSTALL_CODE=0: not touching $VENV"
fi
install -D -m 0644 "$SRC/docs/operations.md" "$ROOT$PREFIX/share/operations.md"

# 3. configuration and the credentials directory ------------------------------------------
install -d -m 0755 "$ROOT$ETC"
install -d -m 0700 "$ROOT$ETC/credentials"
if [[ -e "$ROOT$ETC/rebalanced.toml" ]]; then
    say "kept existing $ETC/rebalanced.toml"
else
    install -m 0640 "$SRC/deploy/rebalanced.example.toml" "$ROOT$ETC/rebalanced.toml"
    if [[ -z "$ROOT" ]]; then chown "root:$SERVICE_USER" "$ETC/rebalanced.toml"; fi
    say "wrote $ETC/rebalanced.toml from the example: edit it before starting"
fi
missing=()
for key in apca_key_id apca_secret_key; do
    [[ -s "$ROOT$ETC/credentials/$key" ]] || missing+=("$key")
done

# 4. the unit -----------------------------------------------------------------------------
install -D -m 0644 "$SRC/deploy/rebalanced.service" "$ROOT$UNIT"
if [[ -z "$ROOT" ]]; then
    systemctl daemon-reload
fi
say "installed $UNIT"

echo
say "next steps:"
if ((${#missing[@]})); then
    for key in "${missing[@]}"; do
        echo "  sudo systemd-ask-password -n 'Alpaca $key:' | sudo tee $ETC/credentials/$key >/dev/null"
        echo "  sudo chmod 0600 $ETC/credentials/$key"
    done
fi
echo "  sudo $PREFIX/venv/bin/rebalanced check-config $ETC/rebalanced.toml"
echo "  sudo systemctl enable --now rebalanced      # first install"
echo "  sudo systemctl restart rebalanced           # upgrade of a running service"
echo "  journalctl -u rebalanced -o cat -f"
